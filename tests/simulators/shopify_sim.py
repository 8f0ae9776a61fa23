"""A local Shopify Admin API simulator and a webhook sender, for tests and benchmarks.

``ShopifySimulator`` is a threaded ``http.server`` on 127.0.0.1 (ephemeral port) that
speaks the parts of the GraphQL Admin API the connector uses, with Shopify's real
response shapes:

* ``POST /admin/api/{version}/graphql.json`` -- ``X-Shopify-Access-Token`` auth (401
  otherwise), ``X-Shopify-API-Version`` response header (an unsupported version is
  answered with the simulator's own version, as Shopify "falls forward"),
  ``data``/``errors``/``extensions.cost`` with ``requestedQueryCost``,
  ``actualQueryCost`` and ``throttleStatus`` (leaky bucket: 2000 points, 100
  points/s restore -- Shopify's Standard plan), ``THROTTLED`` errors when the bucket
  cannot pay a query, ``MAX_COST_EXCEEDED`` above 1000 points, cursor pagination
  (``pageInfo { hasNextPage endCursor }``) and ``userErrors``;
* ``POST /admin/oauth/access_token`` -- the client-credentials grant.

Shopify Payments: ``shopifyPaymentsAccount { payouts(first:, after:, query:, sortKey:) }``
(search terms ``issued_at:>=|>|<=|<|:DATE``, ``status:``, ``id:``) and
``shopifyPaymentsAccount { balanceTransactions(first:, after:, query:, hideTransfers:) }``
(``payments_transfer_id:ID``, ``payout_status:``). As on Shopify, a search term the
simulator does not know is ignored (the whole list comes back), so a client sending a
wrong filter sees foreign rows instead of an error. Seed payouts with :meth:`add_payout`,
:meth:`add_payout_from_rest` or :meth:`load_payout_fixture` (the REST-shaped fixture
files); ``payments_account_active = False`` answers ``shopifyPaymentsAccount: null``
(Shopify Payments not set up).

Query parsing is pragmatic: the root field (and a few sub-field names) of the
document select the handler; the GraphQL selection is not pruned, so responses may
hold more fields than asked. Costs follow a simple per-operation model (see
``_requested_cost``) -- close to Shopify's orders of magnitude, not exact.

Time is injectable (``clock=``): pair it with :class:`FakeClock` and give the client
``sleep=clock.sleep, clock=clock`` so throttling tests run instantly while the bucket
still refills "in time". ``throttled_requests`` counts requests that arrived when the
bucket could not pay for them -- a client that respects the cost budget keeps it at 0.

Faults for the next N requests: ``inject_fault('429', retry_after=2)``, ``'500'``,
``'502'``, ``'503'``, ``'delay'`` (sleeps ``delay`` real seconds before answering:
longer than the client timeout gives a timeout), ``'malformed'`` (a truncated JSON
body with status 200), ``'reset'`` (closes the connection without an answer).

``WebhookSender`` posts webhook bodies signed exactly like Shopify (base64
HMAC-SHA256 of the raw body with the app secret, ``X-Shopify-*`` headers) and can
duplicate, delay, reorder and concurrently deliver them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import requests

DEFAULT_API_VERSION = "2026-10"
SUPPORTED_VERSIONS = ("2025-10", "2026-01", "2026-04", "2026-07", "2026-10")
THROTTLED_DOC = "https://shopify.dev/api/usage/limits#rate-limits"
ORDER_BASE_COST = 40  # an order node with its scalar fields, money bags, addresses...
LINE_ITEM_COST = 8  # one line item with variant, product, money bags, taxes, allocations
MUTATION_COST = 10  # Shopify charges 10 points for a mutation
TRANSACTION_COST = 1  # one order transaction with its money bag
PAYOUT_COST = 13  # a payout with its net and the ten MoneyV2 of its summary
BALANCE_TRANSACTION_COST = 6  # amount, fee, net, associated order and payout
PAYOUT_SUMMARY_FIELDS = (
    ("chargesGross", "charges_gross_amount"),
    ("chargesFee", "charges_fee_amount"),
    ("refundsFeeGross", "refunds_gross_amount"),
    ("refundsFee", "refunds_fee_amount"),
    ("adjustmentsGross", "adjustments_gross_amount"),
    ("adjustmentsFee", "adjustments_fee_amount"),
    ("reservedFundsGross", "reserved_funds_gross_amount"),
    ("reservedFundsFee", "reserved_funds_fee_amount"),
    ("retriedPayoutsGross", "retried_payouts_gross_amount"),
    ("retriedPayoutsFee", "retried_payouts_fee_amount"),
)
# REST balance transaction types whose GraphQL enum value is not the upper-cased name
REST_TO_GRAPHQL_BALANCE_TYPES = {
    "payout": "TRANSFER",
    "payout_failure": "TRANSFER_FAILURE",
    "payout_cancellation": "TRANSFER_CANCEL",
}


class FakeClock:
    """A manual clock shared by a simulator and a client (``sleep`` advances it)."""

    def __init__(self, start=1000.0):
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps = []

    def __call__(self):
        return self.now()

    def now(self):
        with self._lock:
            return self._now

    def advance(self, seconds):
        with self._lock:
            self._now += max(float(seconds), 0.0)

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.advance(seconds)


class _GraphQLError(Exception):
    def __init__(self, message, code, **extra):
        super().__init__(message)
        self.payload = {"message": message, "extensions": {"code": code, **extra}}


def _json_default(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _cursor(kind, index):
    return base64.b64encode(f"{kind}:{index}".encode()).decode()


def _uncursor(cursor):
    if not cursor:
        return -1
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise _GraphQLError("Invalid cursor", "BAD_REQUEST") from None


def _page(items, first, after, kind, query_text):
    start = _uncursor(after) + 1
    first = max(int(first or 0), 0)
    chunk = items[start : start + first]
    end = start + len(chunk) - 1
    connection = {
        "pageInfo": {
            "hasNextPage": start + len(chunk) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(kind, start) if chunk else None,
            "endCursor": _cursor(kind, end) if chunk else None,
        },
        "nodes": chunk,
    }
    if "edges" in query_text:
        connection["edges"] = [{"cursor": _cursor(kind, start + i), "node": n} for i, n in enumerate(chunk)]
    return connection


def _parse_dt(value):
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _gid(kind, value):
    value = str(value)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def _transactions_only(query):
    """An ``order(id:)`` query that selects the transactions and no order detail."""
    return "transactions" in query and "currencyCode" not in query and "lineItems" not in query


def _request_search(raw):
    """The ``query`` variable (search string) of a GraphQL request body, or None."""
    try:
        variables = json.loads(raw or b"{}").get("variables") or {}
    except (ValueError, AttributeError):
        return None
    search = variables.get("query") if isinstance(variables, dict) else None
    return search if isinstance(search, str) else None


def _root_field(query):
    body = query.split("{", 1)[1] if "{" in query else ""
    match = re.match(r"\s*(\w+)", body)
    return match.group(1) if match else None


def _idempotency_key(query, variables):
    match = re.search(r'@idempotent\(\s*key:\s*("(?:[^"\\]|\\.)*"|\$\w+)\s*\)', query)
    if not match:
        return None
    raw = match.group(1)
    if raw.startswith("$"):
        return (variables or {}).get(raw[1:])
    return json.loads(raw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ShopifySimulator/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format, *args):
        return

    def do_POST(self):
        self.server.sim._dispatch(self)

    def do_GET(self):
        self.server.sim._dispatch(self)


class ShopifySimulator:
    """In-memory shop behind a local HTTP server (see the module docstring)."""

    def __init__(
        self,
        access_token="shpat_simulated_token",  # noqa: S107 - a test double
        api_secret="simulated-app-secret",  # noqa: S107 - a test double
        *,
        client_id="simulated-client-id",
        shop_domain="acme-retail.myshopify.com",
        api_version=DEFAULT_API_VERSION,
        supported_versions=SUPPORTED_VERSIONS,
        bucket_size=2000.0,
        restore_rate=100.0,
        max_query_cost=1000,
        clock=None,
        shop_currency="EUR",
    ):
        self.access_tokens = {access_token} if access_token else set()
        self.api_secret = api_secret
        self.client_id = client_id
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.supported_versions = tuple(supported_versions)
        self.bucket_size = float(bucket_size)
        self.restore_rate = float(restore_rate)
        self.max_query_cost = max_query_cost
        self.shop_currency = shop_currency
        self.clock = clock or time.monotonic
        self.mutation_costs = {}  # root field -> requested/actual cost override
        self.charge_requested_cost = False  # True: no query gets its unused points back (expensive shops)
        self._lock = threading.RLock()
        self._available = self.bucket_size
        self._bucket_at = self.clock()
        self._faults = deque()
        self._server = None
        self._thread = None
        self._ids = iter(range(900_000_001, 10**12))
        # observable state
        self.requests = []
        self.throttled_requests = 0
        self.faults_served = 0
        self.idempotent_replays = 0
        self.tokens_issued = 0
        # shop state
        self.locations = {}
        self.variants = []
        self.inventory = {}
        self.orders = {}
        self.fulfillment_orders = {}
        self.fulfillments = []
        self.refunds = []
        self.webhook_subscriptions = {}
        self.payouts = {}  # payout gid -> ShopifyPaymentsPayout node
        self.balance_transactions = []  # ShopifyPaymentsBalanceTransaction nodes (+ "_payout": gid)
        self.cancellations = []  # orderCancel calls (order gid, reason, refund, restock, staffNote)
        self.returns = {}  # Return gid -> Return node (returnLineItems, exchangeLineItems, order)
        self.payments_account_active = True
        self.known_shops = None  # a set of shop domains: the Host of a request must be one (else 404)
        self.denied_fields = set()  # GraphQL root fields the token lacks the scope for (ACCESS_DENIED)
        self._idempotency = {}
        self.default_location = self.add_location("Main warehouse", location_id=65544149001)

    # ------------------------------------------------------------- lifecycle
    def start(self, host="127.0.0.1", port=0):
        """Serve on ``host:port`` (default: loopback, an ephemeral port)."""
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sim = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="shopify-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def graphql_url(self, version=None):
        return f"{self.base_url}/admin/api/{version or self.api_version}/graphql.json"

    # ----------------------------------------------------------------- bucket
    def _refill(self):
        now = self.clock()
        self._available = min(
            self.bucket_size, self._available + max(0.0, now - self._bucket_at) * self.restore_rate
        )
        self._bucket_at = now

    @property
    def available(self):
        with self._lock:
            self._refill()
            return self._available

    def drain_bucket(self, to=0.0):
        """Empty the bucket (e.g. another app instance used it) without telling the client."""
        with self._lock:
            self._refill()
            self._available = float(to)

    def _throttle_status(self):
        return {
            "maximumAvailable": self.bucket_size,
            "currentlyAvailable": int(self._available),
            "restoreRate": self.restore_rate,
        }

    # ----------------------------------------------------------------- faults
    def inject_fault(self, kind, count=1, *, retry_after=None, delay=None, endpoint="graphql", search=None):
        """Make the next ``count`` requests to ``endpoint`` ('graphql', 'token', 'any') fail;
        with ``search``, only GraphQL requests whose ``query`` variable starts with it (e.g.
        ``'payments_transfer_id:'``: the balance transactions of a payout, not the payout list)."""
        kind = str(kind)
        if kind not in {"429", "500", "502", "503", "delay", "malformed", "reset"}:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            for _ in range(count):
                self._faults.append(
                    {"kind": kind, "retry_after": retry_after, "delay": delay, "endpoint": endpoint, "search": search}
                )

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def _take_fault(self, endpoint, search=None):
        with self._lock:
            for fault in list(self._faults):
                if fault["endpoint"] in (endpoint, "any") and (
                    fault.get("search") is None or (search or "").startswith(fault["search"])
                ):
                    self._faults.remove(fault)
                    self.faults_served += 1
                    return fault
        return None

    # ---------------------------------------------------------------- seeding
    def _next_id(self):
        return next(self._ids)

    def add_location(self, name, *, location_id=None):
        location_gid = _gid("Location", location_id or self._next_id())
        with self._lock:
            self.locations[location_gid] = {"id": location_gid, "name": name}
        return location_gid

    def add_variant(
        self,
        sku,
        *,
        barcode=None,
        quantity=0,
        location=None,
        title=None,
        variant_id=None,
        inventory_item_id=None,
        product_id=None,
    ):
        """Add a product variant with its inventory item and stock at ``location``."""
        variant = {
            "id": _gid("ProductVariant", variant_id or self._next_id()),
            "sku": sku,
            "barcode": barcode,
            "title": title or sku,
            "product": {"id": _gid("Product", product_id or self._next_id()), "title": title or sku},
            "inventoryItem": {
                "id": _gid("InventoryItem", inventory_item_id or self._next_id()),
                "tracked": True,
            },
        }
        variant["legacyResourceId"] = variant["id"].rsplit("/", 1)[1]
        with self._lock:
            self.variants.append(variant)
            loc = location or self.default_location
            self.inventory[(variant["inventoryItem"]["id"], loc)] = {
                "available": quantity,
                "on_hand": quantity,
            }
        return variant

    def quantity(self, inventory_item, location=None, name="available"):
        with self._lock:
            entry = self.inventory.get(
                (_gid("InventoryItem", inventory_item), location or self.default_location)
            )
            return None if entry is None else entry[name]

    def add_order(self, node, *, fulfillment_order=True):
        """Add an order in the GraphQL shape (see :func:`graphql_order_from_rest`)."""
        node = copy.deepcopy(node)
        with self._lock:
            self.orders[node["id"]] = node
            if fulfillment_order and node["id"] not in self.fulfillment_orders:
                lines = [(line["id"], line["quantity"]) for line in node["lineItems"]["nodes"]]
                self.add_fulfillment_order(node["id"], lines)
        return node

    def set_order_risk(self, order_gid, level, recommendation=None):
        """Shopify's risk assessment of an order: ``level`` HIGH, MEDIUM, LOW, NONE or PENDING."""
        with self._lock:
            self.orders[_gid("Order", order_gid)]["risk"] = {
                "recommendation": recommendation or {"HIGH": "CANCEL", "MEDIUM": "INVESTIGATE"}.get(level, "ACCEPT"),
                "assessments": [{"riskLevel": level}],
            }

    def add_order_from_rest(self, rest, **kwargs):
        return self.add_order(graphql_order_from_rest(rest, self.shop_currency), **kwargs)

    def add_refund(self, order_gid, node):
        """Put a ``Refund`` node (see :func:`graphql_refund_from_rest`) on an order; the order's
        ``updatedAt`` moves to the refund's time, as on Shopify (the poll finds the order)."""
        return self._add_to_order(order_gid, "_refunds", node, node.get("createdAt"))

    def add_fulfillment(self, order_gid, node):
        """Put (or replace, by id) a ``Fulfillment`` node (see :func:`graphql_fulfillment_from_rest`)
        on an order; the order's ``updatedAt`` moves to the fulfillment's ``updatedAt``."""
        return self._add_to_order(order_gid, "_fulfillments", node, node.get("updatedAt") or node.get("createdAt"))

    def _add_to_order(self, order_gid, key, node, stamp):
        node = copy.deepcopy(node)
        with self._lock:
            order = self.orders[_gid("Order", order_gid)]
            kept = [n for n in order.get(key) or [] if n["id"] != node["id"]]
            order[key] = [*kept, node]
            if stamp and _parse_dt(stamp) > _parse_dt(order["updatedAt"]):
                order["updatedAt"] = stamp
        return node

    def add_return(self, node):
        """Put a ``Return`` node (``returnLineItems``, ``exchangeLineItems``, ``order {id}``) in the shop;
        its order gets the currency and tax mode it was sold in. Returns the node."""
        node = copy.deepcopy(node)
        with self._lock:
            order = self.orders.get((node.get("order") or {}).get("id")) or {}
            node.setdefault("order", {}).update(
                {k: v for k, v in (("currencyCode", order.get("currencyCode")),
                                   ("taxesIncluded", order.get("taxesIncluded"))) if v is not None})
            self.returns[node["id"]] = node
        return node

    def add_order_transaction(self, order_gid, node):
        """Add an ``OrderTransaction`` node to an order (an exchange's top-up or refund)."""
        with self._lock:
            self.orders[_gid("Order", order_gid)].setdefault("transactions", []).append(copy.deepcopy(node))

    def _q_return(self, query, variables):
        node = self.returns.get(variables.get("id"))
        return {"return": copy.deepcopy(node) if node else None}, 2 + 3 * len(
            ((node or {}).get("returnLineItems") or {}).get("nodes") or [])

    def add_fulfillment_order(self, order_gid, lines, *, location=None, status="OPEN"):
        """``lines``: ``[(line_item_gid, quantity), ...]``; returns the fulfillment order."""
        order = self.orders.get(order_gid) or {}
        skus = {line["id"]: line.get("sku") for line in (order.get("lineItems") or {}).get("nodes", [])}
        loc = location or self.default_location
        fo = {
            "id": _gid("FulfillmentOrder", self._next_id()),
            "status": status,
            "requestStatus": "UNSUBMITTED",
            "assignedLocation": {"name": self.locations[loc]["name"], "location": {"id": loc}},
            "lineItems": {
                "nodes": [
                    {
                        "id": _gid("FulfillmentOrderLineItem", self._next_id()),
                        "totalQuantity": qty,
                        "remainingQuantity": qty,
                        "lineItem": {"id": line_gid, "sku": skus.get(line_gid)},
                    }
                    for line_gid, qty in lines
                ]
            },
        }
        with self._lock:
            self.fulfillment_orders.setdefault(order_gid, []).append(fo)
        return fo

    # ------------------------------------------------------- Shopify Payments
    def add_payout(self, node, transactions=()):
        """Add a payout (GraphQL ``ShopifyPaymentsPayout`` node) and its balance transactions
        (GraphQL nodes; their ``associatedPayout`` is filled in when the payout is queried)."""
        node = copy.deepcopy(node)
        node.setdefault("legacyResourceId", node["id"].rsplit("/", 1)[1])
        with self._lock:
            self.payouts[node["id"]] = node
            for given in transactions:
                txn = copy.deepcopy(given)
                txn.pop("associatedPayout", None)
                txn["_payout"] = node["id"]
                self.balance_transactions.append(txn)
        return node

    def add_payout_from_rest(self, payout, transactions=(), *, payout_id=None, status=None, date=None):
        """Add a payout given in the REST shape (``payout.json`` and
        ``payout_balance_transactions.json``; wrapped bodies are accepted).

        ``payout_id`` re-numbers a copy (the payout, its own transfer and, to keep them
        unique, its transactions); ``status`` (``'paid'``, ``'scheduled'``...) and ``date``
        (``'YYYY-MM-DD'``) override the fixture's.
        """
        payout = copy.deepcopy(payout.get("payout") if isinstance(payout.get("payout"), dict) else payout)
        if isinstance(transactions, dict):
            transactions = transactions.get("transactions") or []
        transactions = copy.deepcopy(list(transactions))
        old_id = str(payout["id"])
        if payout_id is not None and str(payout_id) != old_id:
            payout["id"] = int(payout_id)
            for index, txn in enumerate(transactions, start=1):
                txn["id"] = int(f"{payout_id}{index:03d}")
                if str(txn.get("source_id")) == old_id:
                    txn["source_id"] = int(payout_id)
                txn["payout_id"] = int(payout_id)
        if status:
            payout["status"] = status
        if date:
            payout["date"] = date
        node = graphql_payout_from_rest(payout, self.shop_currency)
        currency = node["net"]["currencyCode"]
        return self.add_payout(node, [graphql_balance_transaction_from_rest(t, currency) for t in transactions])

    def load_payout_fixture(self, payout_path, transactions_path, **kwargs):
        """Read the two REST fixture files (money stays exact) and add the payout."""
        with open(payout_path, encoding="utf-8") as handle:
            payout = json.load(handle, parse_float=Decimal)
        with open(transactions_path, encoding="utf-8") as handle:
            transactions = json.load(handle, parse_float=Decimal)
        return self.add_payout_from_rest(payout, transactions, **kwargs)

    def set_payout_status(self, payout_id, status):
        """E.g. a scheduled payout reaching the bank: ``set_payout_status(id, 'paid')``."""
        with self._lock:
            self.payouts[_gid("ShopifyPaymentsPayout", payout_id)]["status"] = str(status).upper()

    # ------------------------------------------------------------------- HTTP
    def _dispatch(self, handler):
        started = self.clock()
        path = urlparse(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        match = re.fullmatch(r"/admin/api/([\w-]+)/graphql\.json", path)
        endpoint = "graphql" if match else "token" if path == "/admin/oauth/access_token" else None
        entry = {"path": path, "method": handler.command, "at": started, "endpoint": endpoint}
        fault = self._take_fault(endpoint, _request_search(raw)) if endpoint else None
        if fault:
            entry["fault"] = fault["kind"]
            self._log(entry)
            self._serve_fault(handler, fault)
            return
        if handler.command != "POST" or endpoint is None:
            self._log({**entry, "status": 404})
            self._send(handler, 404, {"errors": "Not Found"})
            return
        if endpoint == "token":
            status, body = self._token(handler, raw)
            self._log({**entry, "status": status})
            self._send(handler, status, body)
            return
        host = (handler.headers.get("Host") or "").split(":")[0]
        if self.known_shops is not None and host not in self.known_shops:
            # Shopify answers a shop domain it does not have with a bare 404
            self._log({**entry, "status": 404})
            self._send(handler, 404, {"errors": "Not Found"})
            return
        requested_version = match.group(1)
        answered = requested_version if requested_version in self.supported_versions else self.api_version
        headers = {"X-Shopify-API-Version": answered}
        token = handler.headers.get("X-Shopify-Access-Token")
        if token not in self.access_tokens:
            self._log({**entry, "status": 401})
            self._send(
                handler,
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                headers,
            )
            return
        try:
            request = json.loads(raw or b"{}")
            query = request["query"]
            variables = request.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._log({**entry, "status": 400})
            self._send(handler, 400, {"errors": {"query": "Required parameter missing or invalid"}}, headers)
            return
        denied = _root_field(query) if self.denied_fields else None
        if denied in self.denied_fields:
            # a token without the scope: HTTP 200 with an ACCESS_DENIED error, as Shopify answers
            self._log({**entry, "status": 200, "denied": denied})
            self._send(handler, 200, {"errors": [{
                "message": f"Access denied for {denied} field. Required access: `read_{denied}` access scope.",
                "extensions": {"code": "ACCESS_DENIED",
                               "documentation": "https://shopify.dev/api/usage/access-scopes"},
            }]}, headers)
            return
        status, body, info = self._graphql(query, variables)
        self._log({**entry, **info, "status": status})
        self._send(handler, status, body, headers)

    def _log(self, entry):
        with self._lock:
            self.requests.append(entry)

    def _send(self, handler, status, body, headers=None):
        data = json.dumps(body, default=_json_default).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _serve_fault(self, handler, fault):
        kind = fault["kind"]
        headers = {"X-Shopify-API-Version": self.api_version}
        if kind == "429":
            if fault["retry_after"] is not None:
                headers["Retry-After"] = str(fault["retry_after"])
            self._send(
                handler,
                429,
                {"errors": "Exceeded 2 calls per second for api client. Reduce request rates."},
                headers,
            )
        elif kind in ("500", "502", "503"):
            self._send(handler, int(kind), {"errors": "Internal Server Error"}, headers)
        elif kind == "delay":
            time.sleep(fault["delay"] or 1.0)
            self._send(handler, 200, {"data": None}, headers)
        elif kind == "malformed":
            data = b'{"data": {"orders": {"nodes": [{"id": "gid://shopify/Or'
            try:
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif kind == "reset":
            handler.close_connection = True
            try:
                handler.connection.shutdown(2)
            except OSError:
                pass

    # ------------------------------------------------------------------ token
    def _token(self, handler, raw):
        content_type = handler.headers.get("Content-Type") or ""
        try:
            if "json" in content_type:
                params = json.loads(raw or b"{}")
            else:
                params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        except ValueError:
            return 400, {"error": "invalid_request", "error_description": "Malformed body"}
        if params.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
        ok = params.get("client_id") == self.client_id and hmac.compare_digest(
            str(params.get("client_secret") or ""), str(self.api_secret)
        )
        if not ok:
            return 400, {"error": "invalid_client", "error_description": "Client authentication failed"}
        token = "shpat_" + secrets.token_hex(16)
        with self._lock:
            self.access_tokens.add(token)
            self.tokens_issued += 1
        return 200, {
            "access_token": token,
            "scope": "read_orders,write_orders,write_inventory,write_fulfillments",
            "expires_in": 86399,
        }

    # ---------------------------------------------------------------- GraphQL
    def _requested_cost(self, root, query, variables):
        if root in self.mutation_costs:
            return self.mutation_costs[root]
        if query.lstrip().startswith("mutation"):
            return MUTATION_COST
        first = int(variables.get("first") or 0)
        if root == "orders":
            detail = ORDER_BASE_COST + LINE_ITEM_COST * 50 if "lineItems" in query else 1
            return 2 + first * detail
        if root == "order":
            if "refunds(" in query:
                return 2 + 10 * 30 + 10 * 14  # refunds and fulfillments, as many as asked
            if _transactions_only(query):
                return 2 + TRANSACTION_COST * 10
            if "fulfillmentOrders" in query:
                fos = int((re.search(r"fulfillmentOrders\(first:\s*(\d+)", query) or [0, 5])[1])
                lines = int((re.search(r"lineItems\(first:\s*(\d+)", query) or [0, 50])[1])
                return 2 + fos * (3 + 2 * lines)
            lines = int(variables.get("lineItemsFirst") or 0)
            return (ORDER_BASE_COST if "currencyCode" in query else 2) + LINE_ITEM_COST * lines
        if root == "productVariants":
            return 2 + 3 * first
        if root == "webhookSubscriptions":
            return 2 + first
        if root == "shopifyPaymentsAccount":
            if "payouts(" in query:
                return 2 + first * PAYOUT_COST
            if "balanceTransactions(" in query:
                return 2 + first * BALANCE_TRANSACTION_COST
        return 1

    def _graphql(self, query, variables):
        root = _root_field(query)
        handler = getattr(self, f"_q_{root}", None) if root else None
        info = {"operation": root, "idempotency_key": _idempotency_key(query, variables)}
        if isinstance(variables.get("query"), str):
            info["search"] = variables["query"]  # e.g. tells a payouts page from a balance transactions page
        if root == "order" and "fulfillmentOrders" in query:
            info["reads"] = "fulfillmentOrders"  # tells the fulfillment orders' read from the order's others
        if handler is None:
            error = {
                "message": f"Field '{root}' doesn't exist on type 'QueryRoot'",
                "extensions": {"code": "undefinedField", "typeName": "QueryRoot", "fieldName": root},
            }
            return 200, {"errors": [error]}, info
        requested = self._requested_cost(root, query, variables)
        info["requested_cost"] = requested
        if requested > self.max_query_cost:
            error = {
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({self.max_query_cost}).",
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": self.max_query_cost,
                },
            }
            return 200, {"errors": [error]}, info
        with self._lock:
            self._refill()
            info["available_before"] = self._available
            if self._available < requested:
                self.throttled_requests += 1
                info["throttled"] = True
                cost = {
                    "requestedQueryCost": requested,
                    "actualQueryCost": None,
                    "throttleStatus": self._throttle_status(),
                }
                error = {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOC},
                }
                return 200, {"errors": [error], "extensions": {"cost": cost}}, info
            self._available -= requested
            try:
                data, actual = handler(query, variables)
            except _GraphQLError as exc:
                self._available += requested
                cost = {
                    "requestedQueryCost": requested,
                    "actualQueryCost": 0,
                    "throttleStatus": self._throttle_status(),
                }
                return 200, {"errors": [exc.payload], "data": None, "extensions": {"cost": cost}}, info
            actual = requested if self.charge_requested_cost else min(actual, requested)
            self._available = min(self.bucket_size, self._available + (requested - actual))
            info["actual_cost"] = actual
            info["available_after"] = self._available
            cost = {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self._throttle_status(),
            }
            return 200, {"data": data, "extensions": {"cost": cost}}, info

    # -- queries
    def _q_shop(self, query, variables):
        shop = {
            "id": "gid://shopify/Shop/48000001",
            "name": "Acme Retail",
            "myshopifyDomain": self.shop_domain,
            "currencyCode": self.shop_currency,
            "ianaTimezone": "Europe/Berlin",
        }
        return {"shop": shop}, 1

    def _q_orders(self, query, variables):
        search = variables.get("query") or ""
        match = re.search(r"updated_at:>=\s*'?([^'\s]+)'?", search)
        since = _parse_dt(match.group(1)) if match else None
        orders = sorted(self.orders.values(), key=lambda o: (_parse_dt(o["updatedAt"]), o["id"]))
        if since is not None:
            orders = [o for o in orders if _parse_dt(o["updatedAt"]) >= since]
        if "lineItems" not in query:
            orders = [{"id": o["id"], "updatedAt": o["updatedAt"]} for o in orders]
        connection = _page(orders, variables.get("first"), variables.get("after"), "order", query)
        return {"orders": connection}, 2 + len(connection["nodes"])

    def _q_order(self, query, variables):
        order = self.orders.get(variables.get("id"))
        if order is None:
            return {"order": None}, 1
        if "fulfillmentOrders" in query:
            fos = copy.deepcopy(self.fulfillment_orders.get(order["id"], []))
            lines = sum(len(fo["lineItems"]["nodes"]) for fo in fos)
            return {"order": {"id": order["id"], "fulfillmentOrders": {"nodes": fos}}}, 2 + 3 * len(
                fos
            ) + 2 * lines
        if "refunds(" in query:  # an order's refunds and fulfillments (the polling backstop)
            refunds = copy.deepcopy(order.get("_refunds") or [])
            fulfillments = copy.deepcopy(order.get("_fulfillments") or [])
            node = {"id": order["id"], "updatedAt": order["updatedAt"], "refunds": refunds,
                    "fulfillments": fulfillments}
            return {"order": node}, 2 + 12 * len(refunds) + 6 * len(fulfillments)
        if _transactions_only(query):
            transactions = copy.deepcopy(order.get("transactions") or [])
            return {"order": {"id": order["id"], "transactions": transactions}}, 2 + TRANSACTION_COST * len(
                transactions
            )
        node = {k: v for k, v in copy.deepcopy(order).items() if not k.startswith("_")}  # not the seeded extras
        if "risk {" in query:  # Order.risk: an OrderRiskSummary (nothing assessed unless set_order_risk)
            node.setdefault("risk", {"recommendation": "NONE", "assessments": []})
        all_lines = node["lineItems"]["nodes"]
        page = _page(
            all_lines, variables.get("lineItemsFirst"), variables.get("lineItemsAfter"), "line", query
        )
        node["lineItems"] = page
        if "currencyCode" not in query:  # the line-items-only query
            node = {"id": node["id"], "lineItems": page}
            return {"order": node}, 2 + LINE_ITEM_COST * len(page["nodes"])
        return {"order": node}, ORDER_BASE_COST + LINE_ITEM_COST * len(page["nodes"])

    def _q_productVariants(self, query, variables):
        connection = _page(
            list(self.variants), variables.get("first"), variables.get("after"), "variant", query
        )
        return {"productVariants": copy.deepcopy(connection)}, 2 + 3 * len(connection["nodes"])

    def _q_webhookSubscriptions(self, query, variables):
        subs = sorted(self.webhook_subscriptions.values(), key=lambda s: s["id"])
        connection = _page(subs, variables.get("first"), variables.get("after"), "webhook", query)
        return {"webhookSubscriptions": copy.deepcopy(connection)}, 2 + len(connection["nodes"])

    def _q_shopifyPaymentsAccount(self, query, variables):
        if not self.payments_account_active:
            return {"shopifyPaymentsAccount": None}, 1
        account = {"id": "gid://shopify/ShopifyPaymentsAccount/48000001"}
        search = _search_terms(variables.get("query"))
        if "payouts(" in query:
            payouts = [p for p in self.payouts.values() if _payout_matches(p, search)]
            sort_key = (re.search(r"payouts\([^)]*sortKey:\s*(\w+)", query) or [None, "ID"])[1]
            if sort_key == "ISSUED_AT":
                payouts.sort(key=lambda p: (_parse_dt(p["issuedAt"]), int(p["legacyResourceId"])))
            else:
                payouts.sort(key=lambda p: int(p["legacyResourceId"]))
            if re.search(r"payouts\([^)]*reverse:\s*true", query):
                payouts.reverse()
            connection = _page(copy.deepcopy(payouts), variables.get("first"), variables.get("after"), "payout", query)
            account["payouts"] = connection
            return {"shopifyPaymentsAccount": account}, 2 + PAYOUT_COST * len(connection["nodes"])
        if "balanceTransactions(" in query:
            hide_transfers = bool(re.search(r"balanceTransactions\([^)]*hideTransfers:\s*true", query))
            if variables.get("hideTransfers") is True:
                hide_transfers = True
            rows = []
            for txn in self.balance_transactions:
                payout = self.payouts.get(txn["_payout"]) or {}
                if hide_transfers and txn.get("type") == "TRANSFER":
                    continue
                if not _balance_transaction_matches(payout, search):
                    continue
                node = {k: copy.deepcopy(v) for k, v in txn.items() if not k.startswith("_")}
                node["associatedPayout"] = {"id": payout.get("id"), "status": payout.get("status")}
                rows.append(node)
            connection = _page(rows, variables.get("first"), variables.get("after"), "balance", query)
            account["balanceTransactions"] = connection
            return {"shopifyPaymentsAccount": account}, 2 + BALANCE_TRANSACTION_COST * len(connection["nodes"])
        return {"shopifyPaymentsAccount": account}, 1

    # -- mutations
    def _idempotent(self, root, query, variables, apply):
        key = _idempotency_key(query, variables)
        if key is None:
            raise _GraphQLError(
                f"The @idempotent directive is required for {root} in API versions 2026-04 and later.",
                "BAD_REQUEST",
            )
        fingerprint = hashlib.sha256(json.dumps(variables, sort_keys=True, default=str).encode()).hexdigest()
        previous = self._idempotency.get(key)
        if previous is not None:
            if previous[0] != fingerprint:
                error = {
                    "field": None,
                    "message": "The same idempotency key cannot be used with different operation parameters.",
                    "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                }
                return {root: {"userErrors": [error]}}
            self.idempotent_replays += 1
            return copy.deepcopy(previous[1])
        data = apply()
        if not (data.get(root) or {}).get("userErrors"):
            self._idempotency[key] = (fingerprint, copy.deepcopy(data))
        return data

    def _q_inventorySetQuantities(self, query, variables):
        root = "inventorySetQuantities"
        payload = variables.get("input") or {}
        quantities = payload.get("quantities") or []
        if len(quantities) > 250:
            raise _GraphQLError(
                f"The input array size of {len(quantities)} is greater than the maximum allowed of 250.",
                "MAX_INPUT_SIZE_EXCEEDED",
            )

        def apply():
            name = payload.get("name")
            errors = []
            if name not in ("available", "on_hand"):
                errors.append(
                    {
                        "field": ["input", "name"],
                        "message": "The quantity name must be either 'available' or 'on_hand'.",
                        "code": "INVALID_NAME",
                    }
                )
            for index, item in enumerate(quantities):
                path = ["input", "quantities", str(index)]
                key = (item.get("inventoryItemId"), item.get("locationId"))
                if "changeFromQuantity" not in item:
                    errors.append(
                        {
                            "field": [*path, "changeFromQuantity"],
                            "message": "changeFromQuantity must be provided (null opts out).",
                            "code": None,
                        }
                    )
                elif not any(v["inventoryItem"]["id"] == key[0] for v in self.variants):
                    errors.append(
                        {
                            "field": [*path, "inventoryItemId"],
                            "message": "The specified inventory item could not be found.",
                            "code": "INVALID_INVENTORY_ITEM",
                        }
                    )
                elif key[1] not in self.locations:
                    errors.append(
                        {
                            "field": [*path, "locationId"],
                            "message": "The specified location could not be found.",
                            "code": "INVALID_LOCATION",
                        }
                    )
                elif item.get("changeFromQuantity") is not None and name in ("available", "on_hand"):
                    current = self.inventory.get(key, {}).get(name, 0)
                    if current != item["changeFromQuantity"]:
                        errors.append(
                            {
                                "field": [*path, "changeFromQuantity"],
                                "message": "The changeFromQuantity value does not match persisted value.",
                                "code": "CHANGE_FROM_QUANTITY_STALE",
                            }
                        )
            if errors:
                return {root: {"inventoryAdjustmentGroup": None, "userErrors": errors}}
            changes = []
            for item in quantities:
                key = (item["inventoryItemId"], item["locationId"])
                entry = self.inventory.setdefault(key, {"available": 0, "on_hand": 0})
                delta = int(item["quantity"]) - entry[name]
                entry[name] = int(item["quantity"])
                if name == "available":
                    entry["on_hand"] += delta
                if delta:
                    changes.append(
                        {
                            "name": name,
                            "delta": delta,
                            "quantityAfterChange": entry[name],
                            "item": {"id": key[0]},
                            "location": {"id": key[1]},
                        }
                    )
            group = {
                "id": _gid("InventoryAdjustmentGroup", self._next_id()),
                "reason": payload.get("reason"),
                "referenceDocumentUri": payload.get("referenceDocumentUri"),
                "changes": changes,
            }
            return {root: {"inventoryAdjustmentGroup": group, "userErrors": []}}

        data = self._idempotent(root, query, variables, apply)
        return data, self.mutation_costs.get(root, MUTATION_COST)

    def _q_fulfillmentCreate(self, query, variables):
        root = "fulfillmentCreate"
        fulfillment = variables.get("fulfillment") or {}
        errors, plan = [], []
        for index, group in enumerate(fulfillment.get("lineItemsByFulfillmentOrder") or []):
            fo = next(
                (
                    f
                    for fos in self.fulfillment_orders.values()
                    for f in fos
                    if f["id"] == group.get("fulfillmentOrderId")
                ),
                None,
            )
            if fo is None:
                errors.append(
                    {
                        "field": ["fulfillment", "lineItemsByFulfillmentOrder", str(index)],
                        "message": "Fulfillment order does not exist.",
                    }
                )
                continue
            by_id = {line["id"]: line for line in fo["lineItems"]["nodes"]}
            wanted = group.get("fulfillmentOrderLineItems")
            if not wanted:
                wanted = [
                    {"id": lid, "quantity": line["remainingQuantity"]}
                    for lid, line in by_id.items()
                    if line["remainingQuantity"]
                ]
            for item in wanted:
                line = by_id.get(item.get("id"))
                if line is None or int(item.get("quantity") or 0) > line["remainingQuantity"]:
                    errors.append(
                        {
                            "field": ["fulfillment"],
                            "message": "Invalid fulfillment order line item quantity requested.",
                        }
                    )
                else:
                    plan.append((fo, line, int(item["quantity"])))
        if not plan and not errors:
            errors.append(
                {"field": ["fulfillment"], "message": "Fulfillment order has no remaining quantity."}
            )
        if errors:
            return {root: {"fulfillment": None, "userErrors": errors}}, MUTATION_COST
        for fo, line, qty in plan:
            line["remainingQuantity"] -= qty
            if all(li["remainingQuantity"] == 0 for li in fo["lineItems"]["nodes"]):
                fo["status"] = "CLOSED"
        tracking = fulfillment.get("trackingInfo") or {}
        result = {
            "id": _gid("Fulfillment", self._next_id()),
            "status": "SUCCESS",
            "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "trackingInfo": [
                {
                    "company": tracking.get("company"),
                    "number": tracking.get("number"),
                    "url": tracking.get("url"),
                }
            ]
            if tracking
            else [],
            "notifyCustomer": bool(fulfillment.get("notifyCustomer")),
            "lines": [(line["lineItem"]["id"], qty) for _, line, qty in plan],
        }
        self.fulfillments.append(result)
        public = {k: v for k, v in result.items() if k not in ("lines", "notifyCustomer")}
        return {root: {"fulfillment": public, "userErrors": []}}, MUTATION_COST

    def _q_orderCancel(self, query, variables):
        """``orderCancel`` (idempotent by key): the order gets ``cancelledAt``/``cancelReason``;
        Shopify answers with a job."""
        root = "orderCancel"

        def apply():
            order = self.orders.get(variables.get("orderId"))
            if order is None:
                errors = [{"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"}]
                return {root: {"job": None, "userErrors": errors}}
            if order.get("cancelledAt"):
                errors = [{"field": ["orderId"], "message": "Order has already been cancelled", "code": "INVALID"}]
                return {root: {"job": None, "userErrors": errors}}
            now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
            order.update(cancelledAt=now, updatedAt=now, cancelReason=variables.get("reason"))
            self.cancellations.append({"order": order["id"], **{k: v for k, v in variables.items() if k != "orderId"}})
            return {root: {"job": {"id": _gid("Job", self._next_id()), "done": False}, "userErrors": []}}

        return self._idempotent(root, query, variables, apply), MUTATION_COST

    def _q_refundCreate(self, query, variables):
        root = "refundCreate"
        refund_input = variables.get("input") or {}

        def apply():
            order = self.orders.get(refund_input.get("orderId"))
            if order is None:
                return {
                    root: {
                        "refund": None,
                        "userErrors": [{"field": ["input", "orderId"], "message": "Order does not exist"}],
                    }
                }
            lines = {line["id"]: line for line in order["lineItems"]["nodes"]}
            errors = []
            for index, item in enumerate(refund_input.get("refundLineItems") or []):
                line = lines.get(item.get("lineItemId"))
                refunded = (line or {}).get("_refunded", 0)
                if line is None or int(item.get("quantity") or 0) > line["quantity"] - refunded:
                    errors.append(
                        {
                            "field": ["input", "refundLineItems", str(index), "quantity"],
                            "message": "Quantity cannot refund more items than were purchased",
                        }
                    )
            if errors:
                return {root: {"refund": None, "userErrors": errors}}
            for item in refund_input.get("refundLineItems") or []:
                line = lines[item["lineItemId"]]
                line["_refunded"] = line.get("_refunded", 0) + int(item["quantity"])
                if item.get("restockType") in ("RETURN", "CANCEL"):
                    variant = next(
                        (v for v in self.variants if v["id"] == (line.get("variant") or {}).get("id")), None
                    )
                    if variant is not None:
                        key = (
                            variant["inventoryItem"]["id"],
                            item.get("locationId") or self.default_location,
                        )
                        entry = self.inventory.setdefault(key, {"available": 0, "on_hand": 0})
                        entry["available"] += int(item["quantity"])
                        entry["on_hand"] += int(item["quantity"])
            currency = order.get("currencyCode") or self.shop_currency
            txs = []
            total = Decimal(0)
            for tx in refund_input.get("transactions") or []:
                amount = Decimal(str(tx.get("amount")))
                total += amount
                bag = {"amount": format(amount, "f"), "currencyCode": currency}
                txs.append(
                    {
                        "id": _gid("OrderTransaction", self._next_id()),
                        "kind": tx.get("kind") or "REFUND",
                        "status": "SUCCESS",
                        "gateway": tx.get("gateway"),
                        "parentTransaction": {"id": tx["parentId"]} if tx.get("parentId") else None,
                        "amountSet": {"shopMoney": bag, "presentmentMoney": bag},
                    }
                )
            total_bag = {"amount": format(total, "f"), "currencyCode": currency}
            refund = {
                "id": _gid("Refund", self._next_id()),
                "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                "note": refund_input.get("note"),
                "totalRefundedSet": {"shopMoney": total_bag, "presentmentMoney": total_bag},
                "transactions": {"nodes": txs},
            }
            self.refunds.append({**refund, "orderId": order["id"], "input": copy.deepcopy(refund_input)})
            return {root: {"refund": refund, "userErrors": []}}

        return self._idempotent(root, query, variables, apply), MUTATION_COST

    def _q_webhookSubscriptionCreate(self, query, variables):
        root = "webhookSubscriptionCreate"
        topic = variables.get("topic")
        sub = variables.get("sub") or variables.get("webhookSubscription") or {}
        uri = sub.get("uri") or sub.get("callbackUrl")
        if not uri or not str(uri).startswith(("https://", "http://")):
            error = {"field": ["webhookSubscription", "callbackUrl"], "message": "Address is invalid"}
            return {root: {"webhookSubscription": None, "userErrors": [error]}}, MUTATION_COST
        if any(s["topic"] == topic and s["uri"] == uri for s in self.webhook_subscriptions.values()):
            error = {
                "field": ["webhookSubscription", "callbackUrl"],
                "message": "Address for this topic has already been taken",
            }
            return {root: {"webhookSubscription": None, "userErrors": [error]}}, MUTATION_COST
        node = {
            "id": _gid("WebhookSubscription", self._next_id()),
            "topic": topic,
            "uri": uri,
            "format": sub.get("format") or "JSON",
        }
        self.webhook_subscriptions[node["id"]] = node
        return {root: {"webhookSubscription": dict(node), "userErrors": []}}, MUTATION_COST

    def _q_webhookSubscriptionUpdate(self, query, variables):
        root = "webhookSubscriptionUpdate"
        node = self.webhook_subscriptions.get(variables.get("id"))
        if node is None:
            error = {"field": ["id"], "message": "Webhook subscription does not exist"}
            return {root: {"webhookSubscription": None, "userErrors": [error]}}, MUTATION_COST
        sub = variables.get("sub") or variables.get("webhookSubscription") or {}
        node["uri"] = sub.get("uri") or node["uri"]
        return {root: {"webhookSubscription": dict(node), "userErrors": []}}, MUTATION_COST


# ------------------------------------------------------------- Shopify Payments search
_SEARCH_TERM = re.compile(r"""(\w+):(>=|<=|>|<)?('[^']*'|"[^"]*"|\S+)""")


def _search_terms(search):
    """``"issued_at:>='2026-11-01' status:paid"`` -> ``[('issued_at', '>=', '2026-11-01'), ...]``."""
    return [(name, op or "=", value.strip("'\"")) for name, op, value in _SEARCH_TERM.findall(search or "")]


def _compare(left, op, right):
    return {
        "=": left == right,
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]


def _payout_matches(payout, terms):
    for name, op, value in terms:
        if name == "issued_at":
            if not _compare(_parse_dt(payout["issuedAt"]), op, _parse_dt(value)):
                return False
        elif name == "status":
            if payout["status"] != value.upper():
                return False
        elif name == "id":
            if not _compare(int(payout["legacyResourceId"]), op, int(value)):
                return False
        # any other term is ignored, as Shopify ignores fields it cannot filter on
    return True


def _balance_transaction_matches(payout, terms):
    for name, _op, value in terms:
        if name == "payments_transfer_id":
            if payout.get("legacyResourceId") != value.rsplit("/", 1)[-1]:
                return False
        elif name == "payout_status":
            if str(payout.get("status")).lower() != value.lower():
                return False
    return True


def graphql_payout_from_rest(payout, shop_currency=None):
    """A REST ``payout`` (``payout.json``) -> the ``ShopifyPaymentsPayout`` node Shopify returns."""
    currency = payout.get("currency") or shop_currency or "EUR"
    amount = Decimal(str(payout.get("amount") or "0"))
    issued_at = payout.get("issued_at") or f"{payout['date']}T06:00:00Z"
    summary = payout.get("summary") or {}
    return {
        "id": _gid("ShopifyPaymentsPayout", payout["id"]),
        "legacyResourceId": str(payout["id"]),
        "issuedAt": issued_at,
        "status": str(payout.get("status") or "scheduled").upper(),
        "transactionType": "WITHDRAWAL" if amount < 0 else "DEPOSIT",
        "net": {"amount": format(abs(amount), "f"), "currencyCode": currency},
        "summary": {
            name: {"amount": str(summary.get(key) or "0.00"), "currencyCode": currency}
            for name, key in PAYOUT_SUMMARY_FIELDS
        },
    }


def graphql_balance_transaction_from_rest(txn, currency=None):
    """A REST balance transaction -> the ``ShopifyPaymentsBalanceTransaction`` node (without
    ``associatedPayout``, which the simulator fills in from the payout it belongs to)."""
    currency = txn.get("currency") or currency

    def money(value):
        return {"amount": str(value if value is not None else "0.00"), "currencyCode": currency}

    def big_int(value):
        return None if value in (None, "") else str(value)

    rest_type = str(txn.get("type") or "")
    source_type = txn.get("source_type")
    return {
        "id": _gid("ShopifyPaymentsBalanceTransaction", txn["id"]),
        "type": REST_TO_GRAPHQL_BALANCE_TYPES.get(rest_type, rest_type.upper()),
        "test": bool(txn.get("test")),
        "amount": money(txn.get("amount")),
        "fee": money(txn.get("fee")),
        "net": money(txn.get("net")),
        "sourceId": big_int(txn.get("source_id")),
        "sourceType": None if not source_type else "TRANSFER" if source_type == "payout" else source_type.upper(),
        "sourceOrderTransactionId": big_int(txn.get("source_order_transaction_id")),
        "associatedOrder": {"id": _gid("Order", txn["source_order_id"]), "name": None}
        if txn.get("source_order_id")
        else None,
        "transactionDate": txn.get("processed_at"),
        "adjustmentReason": txn.get("adjustment_reason"),
        "adjustmentsOrders": [],
    }


# ------------------------------------------------------------- REST -> GraphQL order
def _bag(amount, currency, presentment_amount=None, presentment_currency=None):
    shop = {"amount": None if amount is None else str(amount), "currencyCode": currency}
    presentment = {
        "amount": str(presentment_amount if presentment_amount is not None else amount)
        if amount is not None
        else None,
        "currencyCode": presentment_currency or currency,
    }
    return {"shopMoney": shop, "presentmentMoney": presentment}


def _bag_from(rest, key, currency, presentment):
    money_set = rest.get(f"{key}_set")
    if isinstance(money_set, dict) and money_set.get("shop_money"):
        shop = money_set["shop_money"]
        pres = money_set.get("presentment_money") or shop
        return {
            "shopMoney": {
                "amount": str(shop["amount"]),
                "currencyCode": shop.get("currency_code") or currency,
            },
            "presentmentMoney": {"amount": str(pres["amount"]), "currencyCode": pres.get("currency_code")},
        }
    value = rest.get(key)
    return _bag(value if value is not None else "0.00", currency, None, presentment)


def _rate(value):
    return None if value is None else float(value)  # GraphQL Float (a rate, not money)


def _tax_lines(items, currency, presentment):
    return [
        {
            "title": t.get("title"),
            "rate": _rate(t.get("rate")),
            "priceSet": _bag_from(t, "price", currency, presentment),
        }
        for t in items or []
    ]


def _allocs(items, currency, presentment):
    return [
        {
            "allocatedAmountSet": _bag_from(a, "amount", currency, presentment),
            "discountApplication": {"index": a.get("discount_application_index")},
        }
        for a in items or []
    ]


def _address(addr):
    if not addr:
        return None
    return {
        "firstName": addr.get("first_name"),
        "lastName": addr.get("last_name"),
        "company": addr.get("company"),
        "address1": addr.get("address1"),
        "address2": addr.get("address2"),
        "city": addr.get("city"),
        "zip": addr.get("zip"),
        "province": addr.get("province"),
        "provinceCode": addr.get("province_code"),
        "country": addr.get("country"),
        "countryCodeV2": addr.get("country_code"),
        "phone": addr.get("phone"),
    }


_DISPLAY_FULFILLMENT = {
    None: "UNFULFILLED",
    "partial": "PARTIALLY_FULFILLED",
    "fulfilled": "FULFILLED",
    "restocked": "RESTOCKED",
}
_APP_TYPENAMES = {
    "discount_code": "DiscountCodeApplication",
    "manual": "ManualDiscountApplication",
    "automatic": "AutomaticDiscountApplication",
    "script": "ScriptDiscountApplication",
}


def _graphql_transaction(t, currency):
    """A REST order transaction -> the ``OrderTransaction`` node Shopify answers."""
    return {
        "id": _gid("OrderTransaction", t["id"]),
        "kind": (t.get("kind") or "sale").upper(),
        "status": (t.get("status") or "success").upper(),
        "gateway": t.get("gateway"),
        "test": bool(t.get("test")),
        "authorizationCode": t.get("authorization"),
        "processedAt": t.get("processed_at") or t.get("created_at"),
        "parentTransaction": {"id": _gid("OrderTransaction", t["parent_id"])} if t.get("parent_id") else None,
        "amountSet": _bag(t.get("amount"), t.get("currency") or currency),
    }


def graphql_refund_from_rest(rest, shop_currency="EUR"):
    """A ``refunds/create`` body (REST) -> the ``Refund`` node the order's ``refunds`` answer
    (how the simulator seeds a refund; the connector maps GraphQL nodes directly)."""
    currency = shop_currency
    total = sum(
        (Decimal(str(t.get("amount") or 0)) for t in rest.get("transactions") or []
         if (t.get("kind") or "").lower() == "refund" and (t.get("status") or "success").lower() == "success"),
        Decimal(0),
    )
    return {
        "id": _gid("Refund", rest["id"]),
        "createdAt": rest.get("created_at"),
        "updatedAt": rest.get("processed_at") or rest.get("created_at"),
        "note": rest.get("note"),
        "totalRefundedSet": _bag(format(total, "f"), currency),
        "refundLineItems": {"nodes": [
            {
                "quantity": item.get("quantity"),
                "restockType": (item.get("restock_type") or "no_restock").upper(),
                "restocked": (item.get("restock_type") or "").lower() in ("return", "cancel", "legacy_restock"),
                "lineItem": {
                    "id": _gid("LineItem", item.get("line_item_id") or (item.get("line_item") or {}).get("id")),
                    "sku": (item.get("line_item") or {}).get("sku"),
                },
                "subtotalSet": _bag_from(item, "subtotal", currency, None),
                "totalTaxSet": _bag_from(item, "total_tax", currency, None),
            }
            for item in rest.get("refund_line_items") or []
        ]},
        "refundShippingLines": {"nodes": [
            {"subtotalAmountSet": _bag_from(item, "subtotal_amount", currency, None),
             "taxAmountSet": _bag_from(item, "tax_amount", currency, None)}
            for item in rest.get("refund_shipping_lines") or []
        ] + [  # 2026-10 has no adjustment kind: a webhook's shipping_refund adjustment is a shipping line
            {"subtotalAmountSet": _bag(format(-Decimal(str(item.get("amount") or 0)), "f"), currency),
             "taxAmountSet": _bag(format(-Decimal(str(item.get("tax_amount") or 0)), "f"), currency)}
            for item in rest.get("order_adjustments") or [] if item.get("kind") == "shipping_refund"
        ]},
        "orderAdjustments": {"nodes": [
            {"amountSet": _bag_from(item, "amount", currency, None),
             "taxAmountSet": _bag_from(item, "tax_amount", currency, None)}
            for item in rest.get("order_adjustments") or [] if item.get("kind") != "shipping_refund"
        ]},
        "transactions": {"nodes": [_graphql_transaction(t, currency) for t in rest.get("transactions") or []]},
    }


def graphql_fulfillment_from_rest(rest):
    """A ``fulfillments/*`` body (REST) -> the ``Fulfillment`` node the order's ``fulfillments`` answer."""
    numbers = rest.get("tracking_numbers") or ([rest["tracking_number"]] if rest.get("tracking_number") else [])
    urls = rest.get("tracking_urls") or ([rest["tracking_url"]] if rest.get("tracking_url") else [])
    return {
        "id": _gid("Fulfillment", rest["id"]),
        "status": (rest.get("status") or "success").upper(),
        "createdAt": rest.get("created_at"),
        "updatedAt": rest.get("updated_at") or rest.get("created_at"),
        "trackingInfo": [
            {"company": rest.get("tracking_company"), "number": number,
             "url": urls[index] if index < len(urls) else None}
            for index, number in enumerate(numbers)
        ],
        "fulfillmentLineItems": {"nodes": [
            {"quantity": item.get("quantity"), "lineItem": {"id": _gid("LineItem", item["id"]), "sku": item.get("sku")}}
            for item in rest.get("line_items") or []
        ]},
    }


def graphql_order_from_rest(rest, shop_currency=None):
    """Build the GraphQL ``Order`` node Shopify would return for a REST-shaped order.

    Lets tests seed the simulator from the webhook fixtures, so a polled order and
    the webhook body of the same order can be compared after mapping.
    """
    currency = rest.get("currency") or shop_currency or "EUR"
    presentment = rest.get("presentment_currency") or currency
    order_gid = rest.get("admin_graphql_api_id") or _gid("Order", rest["id"])
    applications = []
    for index, app in enumerate(rest.get("discount_applications") or []):
        if app.get("value_type") == "percentage":
            value = {"__typename": "PricingPercentageValue", "percentage": float(app.get("value") or 0)}
        else:
            value = {"__typename": "MoneyV2", "amount": str(app.get("value")), "currencyCode": currency}
        node = {
            "__typename": _APP_TYPENAMES.get(app.get("type"), "ManualDiscountApplication"),
            "index": index,
            "allocationMethod": (app.get("allocation_method") or "across").upper(),
            "targetSelection": (app.get("target_selection") or "all").upper(),
            "targetType": (app.get("target_type") or "line_item").upper(),
            "value": value,
        }
        if app.get("code"):
            node["code"] = app["code"]
        else:
            node["title"] = app.get("title") or app.get("description")
        applications.append(node)
    customer = rest.get("customer")
    if customer:
        customer = {
            "id": _gid("Customer", customer["id"]),
            "legacyResourceId": str(customer["id"]),
            "firstName": customer.get("first_name"),
            "lastName": customer.get("last_name"),
            "tags": [t.strip() for t in (customer.get("tags") or "").split(",") if t.strip()],
            "defaultEmailAddress": {"emailAddress": customer["email"]} if customer.get("email") else None,
            "defaultPhoneNumber": {"phoneNumber": customer["phone"]} if customer.get("phone") else None,
        }
    lines = [
        {
            "id": line.get("admin_graphql_api_id") or _gid("LineItem", line["id"]),
            "sku": line.get("sku"),
            "name": line.get("name"),
            "title": line.get("title"),
            "variantTitle": line.get("variant_title"),
            "vendor": line.get("vendor"),
            "quantity": line.get("quantity"),
            "currentQuantity": line.get("current_quantity", line.get("quantity")),
            "requiresShipping": line.get("requires_shipping", True),
            "taxable": line.get("taxable", True),
            "isGiftCard": bool(line.get("gift_card")),
            "variant": {
                "id": _gid("ProductVariant", line["variant_id"]),
                "legacyResourceId": str(line["variant_id"]),
            }
            if line.get("variant_id")
            else None,
            "product": {
                "id": _gid("Product", line["product_id"]),
                "legacyResourceId": str(line["product_id"]),
            }
            if line.get("product_id")
            else None,
            "originalUnitPriceSet": _bag_from(line, "price", currency, presentment),
            "taxLines": _tax_lines(line.get("tax_lines"), currency, presentment),
            "discountAllocations": _allocs(line.get("discount_allocations"), currency, presentment),
        }
        for line in rest.get("line_items") or []
    ]
    shipping = [
        {
            "id": _gid("ShippingLine", s["id"]),
            "code": s.get("code"),
            "title": s.get("title"),
            "source": s.get("source"),
            "isRemoved": bool(s.get("is_removed")),
            "originalPriceSet": _bag_from(s, "price", currency, presentment),
            "discountedPriceSet": _bag_from(s, "discounted_price", currency, presentment),
            "taxLines": _tax_lines(s.get("tax_lines"), currency, presentment),
            "discountAllocations": _allocs(s.get("discount_allocations"), currency, presentment),
        }
        for s in rest.get("shipping_lines") or []
    ]
    transactions = [_graphql_transaction(t, currency) for t in rest.get("transactions") or []]
    tags = rest.get("tags") or ""
    return {
        "id": order_gid,
        "legacyResourceId": str(rest["id"]),
        "name": rest.get("name"),
        "confirmationNumber": rest.get("confirmation_number"),
        "createdAt": rest.get("created_at"),
        "updatedAt": rest.get("updated_at") or rest.get("created_at"),
        "processedAt": rest.get("processed_at"),
        "cancelledAt": rest.get("cancelled_at"),
        "cancelReason": (rest.get("cancel_reason") or "").upper() or None,
        "closedAt": rest.get("closed_at"),
        "currencyCode": currency,
        "presentmentCurrencyCode": presentment,
        "taxesIncluded": rest.get("taxes_included"),
        "taxExempt": rest.get("tax_exempt", False),
        "email": rest.get("email"),
        "phone": rest.get("phone"),
        "sourceName": rest.get("source_name"),
        "test": bool(rest.get("test")),
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else list(tags),
        "note": rest.get("note"),
        "displayFinancialStatus": (rest.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": _DISPLAY_FULFILLMENT.get(rest.get("fulfillment_status"), "UNFULFILLED"),
        "paymentGatewayNames": list(rest.get("payment_gateway_names") or []),
        "discountCodes": [c.get("code") for c in rest.get("discount_codes") or []],
        "customAttributes": [
            {"key": a.get("name"), "value": a.get("value")} for a in rest.get("note_attributes") or []
        ],
        "subtotalPriceSet": _bag_from(rest, "subtotal_price", currency, presentment),
        "totalPriceSet": _bag_from(rest, "total_price", currency, presentment),
        "totalTaxSet": _bag_from(rest, "total_tax", currency, presentment),
        "totalDiscountsSet": _bag_from(rest, "total_discounts", currency, presentment),
        "totalShippingPriceSet": _bag_from(rest, "total_shipping_price", currency, presentment),
        "currentTotalPriceSet": _bag_from(rest, "current_total_price", currency, presentment),
        "currentSubtotalPriceSet": _bag_from(rest, "current_subtotal_price", currency, presentment),
        "currentTotalTaxSet": _bag_from(rest, "current_total_tax", currency, presentment),
        "totalOutstandingSet": _bag_from(rest, "total_outstanding", currency, presentment),
        "taxLines": _tax_lines(rest.get("tax_lines"), currency, presentment),
        "discountApplications": {"nodes": applications},
        "customer": customer,
        "billingAddress": _address(rest.get("billing_address")),
        "shippingAddress": _address(rest.get("shipping_address")),
        "lineItems": {"nodes": lines},
        "shippingLines": {"nodes": shipping},
        "transactions": transactions,
    }


# -------------------------------------------------------------------- webhook sender
@dataclass
class WebhookDelivery:
    """One signed delivery; re-sending the same object is a Shopify retry (same ids)."""

    topic: str
    body: bytes
    headers: dict = field(default_factory=dict)

    @property
    def webhook_id(self):
        return self.headers.get("X-Shopify-Webhook-Id")


class WebhookSender:
    """Posts webhooks to ``target_url`` signed like Shopify does (uses ``requests``)."""

    def __init__(
        self,
        target_url,
        secret,
        *,
        shop_domain="acme-retail.myshopify.com",
        api_version=DEFAULT_API_VERSION,
        timeout=10.0,
    ):
        self.target_url = target_url
        self.secret = secret
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.timeout = timeout
        self.log = []  # (webhook_id, topic, status) in sending order
        self._session = requests.Session()
        self._log_lock = threading.Lock()

    def sign(self, body):
        return base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest()).decode()

    def build(self, topic, payload, *, webhook_id=None, event_id=None, triggered_at=None, secret=None):
        """A signed delivery; ``payload`` may be bytes (sent as is), str or a dict (JSON-encoded)."""
        if isinstance(payload, bytes):
            body = payload
        elif isinstance(payload, str):
            body = payload.encode()
        else:
            body = json.dumps(payload, default=_json_default).encode()
        signature = (
            self.sign(body)
            if secret is None
            else base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        )
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Triggered-At": triggered_at
            or datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        return WebhookDelivery(topic=topic, body=body, headers=headers)

    def deliver(self, delivery, *, delay=0.0):
        """POST one delivery; returns the HTTP status (0 when the connection failed)."""
        if delay:
            time.sleep(delay)
        try:
            response = self._session.post(
                self.target_url, data=delivery.body, headers=delivery.headers, timeout=self.timeout
            )
            status = response.status_code
        except requests.RequestException:
            status = 0
        with self._log_lock:
            self.log.append((delivery.webhook_id, delivery.topic, status))
        return status

    def send(self, topic, payload, **kwargs):
        return self.deliver(self.build(topic, payload, **kwargs))

    def send_all(self, deliveries, *, duplicates=0, order=None, seed=None, delay=0.0, concurrency=1):
        """Deliver a batch like Shopify on a bad day.

        ``duplicates``: each delivery is sent 1 + ``duplicates`` times (same ids, as
        Shopify's retries); ``order``: None (as given), ``'reverse'`` or ``'shuffle'``
        (``seed`` for a reproducible shuffle); ``delay``: seconds before each send;
        ``concurrency``: parallel senders. Returns the statuses in sending order.
        """
        batch = [d for d in deliveries for _ in range(1 + duplicates)]
        if order == "reverse":
            batch.reverse()
        elif order == "shuffle":
            random.Random(seed).shuffle(batch)
        elif order is not None:
            raise ValueError("order must be None, 'reverse' or 'shuffle'")
        if concurrency <= 1:
            return [self.deliver(d, delay=delay) for d in batch]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(lambda d: self.deliver(d, delay=delay), batch))

    def close(self):
        self._session.close()
