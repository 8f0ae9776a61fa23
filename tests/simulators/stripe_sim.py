"""A local Stripe API for payouts, speaking Stripe's wire protocol over loopback.

``localstripe`` has neither automatic payouts nor ``balance_transactions?payout=``,
which is exactly what payout reconciliation reads, hence this simulator. It
answers what stripe-python sends (form-encoded query strings with bracketed
keys such as ``created[gte]`` and ``expand[0]``, ``Authorization: Bearer sk_...``)
with Stripe's JSON shapes: list objects (``object``, ``data``, ``has_more``,
``url``) with cursor pagination, expandable ``source``, Stripe's error bodies
(401 ``invalid_request_error``, 404 ``resource_missing``, 429 ``rate_limit``,
500 ``api_error``), ``Request-Id`` and ``Stripe-Version`` headers.

Routes: ``GET /v1/payouts`` (``created``/``arrival_date`` ranges, ``status``,
``limit``, ``starting_after``, ``ending_before``), ``GET /v1/payouts/<id>``,
``GET /v1/balance_transactions`` (``payout``, ``type``, ``source``,
``currency``, ``created``; ``expand[]=data.source``), ``GET
/v1/balance_transactions/<id>`` and ``GET /v1/{charges,refunds,disputes}/<id>``.

Faults: ``inject_fault(429, count=2)`` makes the next two requests fail. A 429
carries ``Stripe-Should-Retry: true`` by default, as Stripe sends on retryable
rate limits, because stripe-python only retries a 429 when told so.

Usage::

    sim = StripeSimulator().start()
    sim.load_fixture(FIXTURES / "stripe/payout.json", FIXTURES / "stripe/payout_balance_transactions.json")
    client = stripe.StripeClient(sim.api_key, base_addresses={"api": sim.base_url})
    ...
    sim.stop()
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_API_KEY = "sk_test_simulator"
DEFAULT_API_VERSION = "2026-10-28.endive"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10

_BRACKETS = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
_RANGE_OPS = ("gt", "gte", "lt", "lte")
_SOURCE_OBJECTS = {
    "ch_": "charge",
    "py_": "charge",
    "re_": "refund",
    "pyr_": "refund",
    "dp_": "dispute",
    "du_": "dispute",
}
_RETRIEVE_ROUTES = {
    "payouts": "payout",
    "balance_transactions": "balance_transaction",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
}


class StripeApiError(Exception):
    """An error answered in Stripe's ``{"error": {...}}`` shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "type": type_}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.headers = dict(headers or {})


@dataclass
class RecordedRequest:
    """One request as the simulator saw it (for call counting and assertions)."""

    method: str
    path: str
    query: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _Fault:
    status: int | None
    remaining: int
    path_prefix: str | None
    retry_after: int | None
    should_retry: bool | None
    delay: float = 0.0
    hits: list[str] = field(default_factory=list)


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs with Stripe's bracket syntax → nested params.

    ``expand[]=a&expand[1]=b`` → ``{'expand': ['a', 'b']}``,
    ``created[gte]=1`` → ``{'created': {'gte': '1'}}``, ``metadata[a][b]=1`` nests.
    """
    params: dict[str, Any] = {}
    for key, value in pairs:
        match = _BRACKETS.match(key)
        if not match:
            params[key] = value
            continue
        keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        parent: dict[str, Any] = params
        for position in range(len(keys) - 1):
            part, child = keys[position], keys[position + 1]
            if position == len(keys) - 2 and (child == "" or child.isdigit()):
                existing = parent.get(part)
                if not isinstance(existing, list):
                    existing = parent[part] = []
                existing.append(value)
                break
            nested = parent.get(part)
            if not isinstance(nested, dict):
                nested = parent[part] = {}
            parent = nested
        else:
            parent[keys[-1]] = value
    return params


def _load_json(value: Any) -> Any:
    """A path, a JSON string or already-parsed data."""
    if isinstance(value, Path):
        return json.loads(value.read_text(encoding="utf-8"))
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            return json.loads(text)
        return json.loads(Path(value).read_text(encoding="utf-8"))
    return copy.deepcopy(value)


def make_balance_transaction(
    txn_id: str,
    amount: int,
    *,
    fee: int = 0,
    currency: str = "usd",
    type_: str = "charge",
    source: str | None = None,
    created: int | None = None,
    reporting_category: str | None = None,
    description: str | None = None,
    fee_type: str = "stripe_fee",
    exchange_rate: float | None = None,
) -> dict[str, Any]:
    """A balance transaction in Stripe's shape (amounts in minor units)."""
    created = created if created is not None else int(time.time())
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": fee_type,
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": reporting_category or type_,
        "source": source,
        "status": "available",
        "type": type_,
    }


class StripeSimulator:
    """Threaded loopback Stripe API holding payouts, balance transactions and their sources."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_version: str = DEFAULT_API_VERSION,
    ):
        self.api_key = api_key
        self.api_version = api_version
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._order: dict[str, int] = {}
        self._payouts: dict[str, dict[str, Any]] = {}
        self._payout_txns: dict[str, list[str]] = {}
        self._txns: dict[str, dict[str, Any]] = {}
        self._objects: dict[str, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self.requests: list[RecordedRequest] = []

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> StripeSimulator:
        handler = type("_BoundHandler", (_Handler,), {"simulator": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StripeSimulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- data -------------------------------------------------------------------------

    def _next_seq(self, object_id: str) -> None:
        self._seq += 1
        self._order.setdefault(object_id, self._seq)

    def add_object(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Register a charge/refund/dispute (anything with an id) for retrieval and expansion."""
        stored = copy.deepcopy(dict(obj))
        with self._lock:
            self._objects[stored["id"]] = stored
            self._next_seq(stored["id"])
        return stored

    def add_payout(
        self,
        payout: Mapping[str, Any],
        balance_transactions: Iterable[Mapping[str, Any]] = (),
        sources: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Store a payout with its balance transactions; missing Stripe fields get defaults.

        ``amount`` defaults to the nets' sum, a ``payout`` balance transaction is
        added when absent, and sources not given are synthesized from their
        transaction (a charge for ``ch_``, a refund for ``re_``, a dispute for ``dp_``).
        """
        txns = [copy.deepcopy(dict(txn)) for txn in balance_transactions]
        with self._lock:
            for obj in sources:
                self.add_object(obj)
            payout = copy.deepcopy(dict(payout))
            payout_id = payout.setdefault("id", f"po_sim{secrets.token_hex(8)}")
            now = int(time.time())
            currency = payout.setdefault("currency", txns[0]["currency"] if txns else "usd")
            own = next((t for t in txns if t.get("type") == "payout"), None)
            if "amount" not in payout:
                payout["amount"] = -own["amount"] if own else sum(t["net"] for t in txns)
            created = payout.setdefault("created", max((t.get("created", now) for t in txns), default=now))
            defaults = {
                "object": "payout",
                "arrival_date": created + 86400,
                "automatic": True,
                "balance_transaction": own["id"] if own else f"txn_{payout_id}",
                "description": "STRIPE PAYOUT",
                "destination": "ba_sim",
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "livemode": False,
                "metadata": {},
                "method": "standard",
                "reconciliation_status": "completed",
                "source_type": "card",
                "statement_descriptor": None,
                "status": "paid",
                "type": "bank_account",
            }
            for key, value in defaults.items():
                payout.setdefault(key, value)
            if own is None:
                txns.append(
                    make_balance_transaction(
                        payout["balance_transaction"],
                        -payout["amount"],
                        currency=currency,
                        type_="payout",
                        source=payout_id,
                        created=created,
                        description="STRIPE PAYOUT",
                    )
                )
            self._payouts[payout_id] = payout
            self._objects[payout_id] = payout
            self._next_seq(payout_id)
            ids = self._payout_txns.setdefault(payout_id, [])
            for txn in txns:
                self._txns[txn["id"]] = txn
                self._objects[txn["id"]] = txn
                self._next_seq(txn["id"])
                ids.append(txn["id"])
                self._synthesize_source(txn)
        return copy.deepcopy(payout)

    def load_fixture(
        self, payout_json: Any, balance_transactions_json: Any, sources: Iterable[Mapping[str, Any]] = ()
    ) -> dict[str, Any]:
        """Load ``payout.json`` + ``payout_balance_transactions.json`` (paths, JSON text or dicts)."""
        payout = _load_json(payout_json)
        txns = _load_json(balance_transactions_json)
        if isinstance(txns, Mapping):
            txns = txns.get("data", [])
        return self.add_payout(payout, txns, sources)

    def _synthesize_source(self, txn: Mapping[str, Any]) -> None:
        source = txn.get("source")
        if not isinstance(source, str) or source in self._objects:
            return
        kind = next((obj for prefix, obj in _SOURCE_OBJECTS.items() if source.startswith(prefix)), None)
        if kind is None:
            return
        base = {
            "id": source,
            "object": kind,
            "created": txn.get("created"),
            "currency": txn["currency"],
            "livemode": False,
            "metadata": {},
            "payment_intent": None,
        }
        if kind == "charge":
            base |= {
                "amount": txn["amount"],
                "amount_captured": txn["amount"],
                "amount_refunded": 0,
                "balance_transaction": txn["id"],
                "captured": True,
                "paid": True,
                "status": "succeeded",
                "description": txn.get("description"),
            }
        elif kind == "refund":
            base |= {
                "amount": -txn["amount"],
                "balance_transaction": txn["id"],
                "charge": None,
                "reason": None,
                "status": "succeeded",
            }
        else:
            base |= {
                "amount": abs(txn["amount"]),
                "balance_transactions": [txn["id"]],
                "charge": None,
                "reason": "general",
                "status": "lost",
            }
        self._objects[source] = base
        self._next_seq(source)

    # -- faults and log -------------------------------------------------------------------

    def inject_fault(
        self,
        status: int | None = 429,
        count: int = 1,
        *,
        path_prefix: str | None = None,
        retry_after: int | None = None,
        should_retry: bool | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``status`` (or just wait ``delay``).

        ``should_retry`` sets ``Stripe-Should-Retry``; by default ``true`` on 429
        and absent on 5xx (stripe-python retries 5xx anyway).
        """
        if should_retry is None and status == 429:
            should_retry = True
        with self._lock:
            self._faults.append(_Fault(status, count, path_prefix, retry_after, should_retry, delay))

    def count(self, path_prefix: str | None = None, method: str | None = "GET") -> int:
        """Requests seen (optionally only those whose path starts with ``path_prefix``)."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (path_prefix is None or r.path.startswith(path_prefix))
                and (method is None or r.method == method)
            )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def reset(self) -> None:
        """Forget every payout, transaction, object, fault and request (a clean account).

        Lets a long-lived simulator (one per test class) give each test its own data.
        """
        with self._lock:
            self._seq = 0
            self._order.clear()
            self._payouts.clear()
            self._payout_txns.clear()
            self._txns.clear()
            self._objects.clear()
            self._faults.clear()
            self.requests.clear()

    def clear_faults(self) -> None:
        """Drop the faults not triggered yet."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and (fault.path_prefix is None or path.startswith(fault.path_prefix)):
                    fault.remaining -= 1
                    fault.hits.append(path)
                    return fault
        return None

    # -- request handling ------------------------------------------------------------

    def _authenticate(self, header: str | None) -> None:
        if not header:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
                "https://stripe.com/docs/api#authentication for details, or we can help at "
                "https://support.stripe.com/.",
            )
        scheme, _, credential = header.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = credential.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(credential.strip()).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if key != self.api_key:
            shown = f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if len(key) > 12 else key
            raise StripeApiError(401, f"Invalid API Key provided: {shown}")

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """Route one authenticated request; raise ``StripeApiError`` for Stripe errors."""
        parts = [part for part in path.split("/") if part]
        if method != "GET" or len(parts) < 2 or parts[0] != "v1":
            raise self._unrecognized(method, path)
        resource = parts[1]
        with self._lock:
            if len(parts) == 2 and resource == "payouts":
                return self._list_payouts(params)
            if len(parts) == 2 and resource == "balance_transactions":
                return self._list_balance_transactions(params)
            if len(parts) == 3 and resource in _RETRIEVE_ROUTES:
                obj = self._objects.get(parts[2])
                if obj is None or obj.get("object") != _RETRIEVE_ROUTES[resource]:
                    raise StripeApiError(
                        404,
                        f"No such {_RETRIEVE_ROUTES[resource]}: '{parts[2]}'",
                        code="resource_missing",
                        param="id",
                    )
                return self._expand(copy.deepcopy(obj), params.get("expand") or [])
        raise self._unrecognized(method, path)

    @staticmethod
    def _unrecognized(method: str, path: str) -> StripeApiError:
        return StripeApiError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
        )

    def _list_payouts(self, params: dict[str, Any]) -> dict[str, Any]:
        items = list(self._payouts.values())
        if params.get("status"):
            items = [p for p in items if p.get("status") == params["status"]]
        items = self._range_filter(items, params, "created")
        items = self._range_filter(items, params, "arrival_date")
        return self._page(items, params, "/v1/payouts", "payout")

    def _list_balance_transactions(self, params: dict[str, Any]) -> dict[str, Any]:
        payout_id = params.get("payout")
        if payout_id:
            if payout_id not in self._payouts:
                raise StripeApiError(
                    404, f"No such payout: '{payout_id}'", code="resource_missing", param="payout"
                )
            items = [self._txns[txn_id] for txn_id in self._payout_txns.get(payout_id, [])]
        else:
            items = list(self._txns.values())
        for key in ("type", "currency"):
            if params.get(key):
                items = [t for t in items if t.get(key) == params[key]]
        if params.get("source"):
            items = [t for t in items if t.get("source") == params["source"]]
        items = self._range_filter(items, params, "created")
        return self._page(items, params, "/v1/balance_transactions", "balance_transaction")

    @staticmethod
    def _range_filter(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> list[dict[str, Any]]:
        spec = params.get(key)
        if spec is None:
            return items
        if not isinstance(spec, dict):
            spec = {"eq": spec}
        checks = []
        for op, raw in spec.items():
            if op not in (*_RANGE_OPS, "eq"):
                raise StripeApiError(400, f"Received unknown parameter: {key}[{op}]", param=f"{key}[{op}]")
            try:
                checks.append((op, int(raw)))
            except ValueError:
                raise StripeApiError(400, f"Invalid integer: {raw}", param=f"{key}[{op}]") from None
        compare = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
            "eq": lambda a, b: a == b,
        }
        return [item for item in items if all(compare[op](item.get(key) or 0, bound) for op, bound in checks)]

    def _page(
        self, items: list[dict[str, Any]], params: dict[str, Any], url: str, noun: str
    ) -> dict[str, Any]:
        """Stripe cursor pagination: newest first, ``starting_after``/``ending_before`` by id."""
        raw_limit = params.get("limit", DEFAULT_LIMIT)
        try:
            limit = int(raw_limit)
        except (TypeError, ValueError):
            raise StripeApiError(400, f"Invalid integer: {raw_limit}", param="limit") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise StripeApiError(400, f"This value must be between 1 and {MAX_LIMIT}.", param="limit")
        items = sorted(
            items, key=lambda o: (o.get("created") or 0, self._order.get(o["id"], 0)), reverse=True
        )
        ids = [item["id"] for item in items]
        after, before = params.get("starting_after"), params.get("ending_before")
        if after:
            if after not in ids:
                raise StripeApiError(
                    400, f"No such {noun}: '{after}'", code="resource_missing", param="starting_after"
                )
            window = items[ids.index(after) + 1 :]
            page, has_more = window[:limit], len(window) > limit
        elif before:
            if before not in ids:
                raise StripeApiError(
                    400, f"No such {noun}: '{before}'", code="resource_missing", param="ending_before"
                )
            window = items[: ids.index(before)]
            page, has_more = window[-limit:], len(window) > limit
        else:
            page, has_more = items[:limit], len(items) > limit
        body = {"object": "list", "data": copy.deepcopy(page), "has_more": has_more, "url": url}
        return self._expand(body, params.get("expand") or [])

    def _expand(self, obj: dict[str, Any], expand: Any) -> dict[str, Any]:
        paths = expand if isinstance(expand, list) else [expand]
        for path in paths:
            self._expand_path(obj, str(path).split("."), str(path))
        return obj

    def _expand_path(self, obj: dict[str, Any], parts: list[str], full: str) -> None:
        head, rest = parts[0], parts[1:]
        if head == "data" and obj.get("object") == "list":
            for item in obj["data"]:
                if rest:
                    self._expand_path(item, rest, full)
            return
        if head not in obj:
            raise StripeApiError(400, f"This property cannot be expanded ({head}).", param="expand")
        value = obj[head]
        if isinstance(value, str) and value in self._objects:
            value = copy.deepcopy(self._objects[value])
            obj[head] = value
        if rest and isinstance(value, dict):
            self._expand_path(value, rest, full)


class _Handler(BaseHTTPRequestHandler):
    """HTTP glue: parse, authenticate, inject faults, route, log."""

    simulator: StripeSimulator
    protocol_version = "HTTP/1.1"
    server_version = "stripe-sim"
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``simulator.requests`` instead of stderr."""

    def _dispatch(self) -> None:
        sim = self.simulator
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if body and self.command == "POST":
            pairs += parse_qsl(body, keep_blank_values=True)
        params = decode_params(pairs)
        record = RecordedRequest(
            self.command, split.path, split.query, params, {k.lower(): v for k, v in self.headers.items()}
        )
        with sim._lock:
            sim.requests.append(record)
        headers: dict[str, str] = {}
        try:
            sim._authenticate(self.headers.get("Authorization"))
            fault = sim._take_fault(split.path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status is not None:
                    raise self._fault_error(fault)
            status, payload = 200, sim.handle(self.command, split.path, params)
        except StripeApiError as exc:
            status, payload = exc.status, {"error": exc.body}
            headers.update(exc.headers)
        except Exception as exc:  # a simulator bug must still look like Stripe's 500
            status, payload = 500, {"error": {"message": f"simulator error: {exc}", "type": "api_error"}}
        record.status = status
        self._send(status, payload, headers)

    @staticmethod
    def _fault_error(fault: _Fault) -> StripeApiError:
        headers: dict[str, str] = {}
        if fault.should_retry is not None:
            headers["Stripe-Should-Retry"] = "true" if fault.should_retry else "false"
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.status == 429:
            return StripeApiError(
                429,
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                code="rate_limit",
                headers=headers,
            )
        return StripeApiError(
            fault.status or 500, "An unknown error occurred", type_="api_error", headers=headers
        )

    def _send(self, status: int, payload: dict[str, Any], headers: Mapping[str, str]) -> None:
        data = json.dumps(payload, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or self.simulator.api_version)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _dispatch
    do_POST = _dispatch
    do_DELETE = _dispatch
