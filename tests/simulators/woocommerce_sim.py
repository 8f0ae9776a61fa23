"""A local WooCommerce REST API v3 simulator and webhook sender, for tests and benchmarks.

``WooCommerceSimulator`` is a threaded ``http.server`` on 127.0.0.1 (ephemeral port) that
speaks the parts of ``/wp-json/wc/v3`` the connector uses, with WooCommerce's shapes:

* authentication as a store does it over http: OAuth 1.0a one-legged, in the query string
  (``oauth_consumer_key``, ``oauth_timestamp``, ``oauth_nonce``, ``oauth_signature_method``
  HMAC-SHA1 or HMAC-SHA256, ``oauth_signature``), verified like
  ``WC_REST_Authentication::check_oauth_signature``: parameters sorted, keys and values
  ``rawurlencode``d (then ``%`` -> ``%25``), the base string ``METHOD&url&params``, the key
  ``consumer_secret&``; a timestamp more than 15 minutes off or a nonce used twice is refused.
  Query parameters repeated (the ``woocommerce`` library sends them in the signed URL and again)
  count once, as in PHP's ``$_GET``. Over https (``tls=True``: a certificate for 127.0.0.1 made
  at start by :func:`make_certificate`, its CA in ``ca_file`` for the client to trust) the store
  also takes what ``WC_REST_Authentication::perform_basic_authentication`` takes, and only there:
  HTTP Basic auth, or ``consumer_key``/``consumer_secret`` in the query string; over http a Basic
  header is ignored, as a store ignores it. ``requests[i]["auth"]`` says which one a request used
  (``basic``, ``query`` or ``oauth1``). Failures: 401 ``woocommerce_rest_authentication_error``;
* ``GET settings/general``; ``GET orders`` (``modified_after``/``after``, ``dates_are_gmt``,
  ``orderby=modified|date|id``, ``order``, ``status``, ``per_page`` <= 100 else 400
  ``rest_invalid_param``, ``page``; ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link`` headers);
  ``GET|PUT orders/<id>``; ``GET|POST orders/<id>/notes``; ``GET|POST orders/<id>/refunds``
  (``api_refund`` defaults to true, as in WooCommerce: the gateway pays back, and a gateway
  without automatic refunds -- bacs, cod, cheque -- makes the request fail; ``api_restock``
  writes ``_restock_refunded_items`` on the order items);
* ``GET products``, ``GET products/<id>/variations``, ``POST products/batch`` and
  ``POST products/<id>/variations/batch`` (at most 100 objects, create + update + delete
  together, else 413 ``woocommerce_rest_batch_items_limit``);
* ``GET|POST webhooks``, ``GET|PUT webhooks/<id>``.

Faults for the next N API requests: ``inject_fault('429', retry_after=7)``, ``'500'``,
``'503'``, ``'delay'`` (sleeps ``delay`` seconds: longer than the client's timeout is a timeout);
``match=`` narrows a fault to the requests it accepts (e.g. the second page of ``GET orders``).

Webhooks behave as WooCommerce's ``WC_Webhook``: creating one queues a *ping* (a form body
``webhook_id=N``, no X-WC headers); a change of an order queues a delivery for every active
webhook of the topic, and a delivery still pending for the same webhook and order absorbs
later changes (the body is built when it is sent, like ``GET orders/<id>``). Deliveries go out
when :meth:`WooCommerceSimulator.send_pending` is called (the store's Action Scheduler),
signed ``base64(HMAC-SHA256(secret, body))`` with the ``X-WC-Webhook-*`` headers and a new
``X-WC-Webhook-Delivery-ID`` each time. A 2xx-3xx answer is a success and resets the failure
count; more than 5 failures in a row set the webhook ``disabled``. Nothing is ever retried.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import ipaddress
import itertools
import json
import math
import os
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import requests

try:  # only for tls=True: a certificate made at test time
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - the http simulator needs none of it
    x509 = None

API_PREFIX = "/wp-json/wc/v3/"
MAX_PER_PAGE = 100
BATCH_LIMIT = 100
MAX_FAILURES = 5
OAUTH_WINDOW = 15 * 60
NO_AUTO_REFUND_GATEWAYS = ("bacs", "cod", "cheque")
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")


def _rawurlencode(text):
    """PHP's ``rawurlencode``: everything but ``A-Za-z0-9-_.~`` is percent-encoded."""
    return quote(text, safe="-_.~")


def oauth_signature(method, base_url, params, consumer_secret, signature_method="HMAC-SHA256"):
    """The signature a WooCommerce store expects (``check_oauth_signature``)."""
    normalized = {}
    for key, value in params.items():
        if key == "oauth_signature":
            continue
        normalized[_rawurlencode(unquote(key)).replace("%", "%25")] = _rawurlencode(unquote(value)).replace("%", "%25")
    query = "%26".join(f"{key}%3D{normalized[key]}" for key in sorted(normalized))
    string_to_sign = f"{method.upper()}&{_rawurlencode(base_url)}&{query}"
    digest = hashlib.sha1 if signature_method == "HMAC-SHA1" else hashlib.sha256
    mac = hmac.new(f"{consumer_secret}&".encode(), string_to_sign.encode(), digest).digest()
    return base64.b64encode(mac).decode()


def sign_webhook(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _gmt(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0).isoformat()


def _money(value):
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def make_certificate(directory):
    """A test CA and a server certificate for 127.0.0.1 and localhost signed by it, written to
    ``directory``: ``(ca_file, cert_file, key_file)``. Trust ``ca_file`` in the client (``verify=``
    or ``REQUESTS_CA_BUNDLE``); nothing else trusts it."""
    if x509 is None:
        raise RuntimeError("tls=True needs the cryptography package")
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WooCommerce simulator test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key"))
    for path, data in zip(paths, (
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
    ), strict=True):
        with open(path, "wb") as handle:
            handle.write(data)
    return paths


class _ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.sim._dispatch(self, "GET")

    def do_POST(self):
        self.server.sim._dispatch(self, "POST")

    def do_PUT(self):
        self.server.sim._dispatch(self, "PUT")

    def do_DELETE(self):
        self.server.sim._dispatch(self, "DELETE")


class WooCommerceSimulator:
    """One simulated store. ``requests`` logs ``{method, path, query, status}`` of every API call."""

    def __init__(self, consumer_key="ck_test_odoo", consumer_secret="cs_test_odoo",  # noqa: S107 - a test double
                 *, currency="USD",
                 clock=None, webhook_timeout=10.0, tls=False):
        self.tls = tls
        self.ca_file = None  # with tls: the CA to trust (made at start)
        self._tls_dir = None
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.currency = currency
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.webhook_timeout = webhook_timeout
        self.lock = threading.RLock()
        self.requests = []
        self.orders = {}
        self.notes = {}
        self.refunds = {}
        self.products = OrderedDict()
        self.variations = {}
        self.webhooks = OrderedDict()
        self.pending = OrderedDict()  # (webhook id, resource id or "ping") -> topic
        self.deliveries = []  # what was sent: {webhook_id, topic, resource, status, delivery_id}
        self.faults = []
        self.nonces = set()
        self.drop = None  # callable(delivery) -> True to lose a delivery on the way (benchmarks)
        self._ids = itertools.count(1000)
        self._server = None
        self._thread = None

    # ------------------------------------------------------------------ server

    def start(self, host="127.0.0.1", port=0):
        """Serve on ``host:port`` (default: loopback, an ephemeral port; the demo's serve.py sets both)."""
        self._server = ThreadingHTTPServer((host, port), _Handler)
        if self.tls:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="woo-sim-tls-")
            self.ca_file, cert_file, key_file = make_certificate(self._tls_dir.name)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._server.sim = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tls_dir:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    def next_id(self):
        return next(self._ids)

    def count(self, method, path_prefix):
        return sum(1 for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix))

    def inject_fault(self, kind, count=1, *, retry_after=None, delay=None, match=None):
        """Fail the next ``count`` API requests (those ``match(entry)`` accepts, when given: an
        entry is ``{method, path, query}``)."""
        with self.lock:
            self.faults.extend([{"kind": kind, "retry_after": retry_after, "delay": delay, "match": match}] * count)

    def _take_fault(self, entry):
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.get("match") is None or fault["match"](entry):
                    return self.faults.pop(index)
        return None

    # ------------------------------------------------------------------ seeding

    def now(self):
        return self.clock()

    def _touch(self, order, moment=None):
        moment = moment or self.now()
        previous = order.get("date_modified_gmt")
        stamp = _gmt(moment)
        if previous and stamp <= previous:  # one change per second at least, like a real save
            stamp = _gmt(datetime.fromisoformat(previous).replace(tzinfo=timezone.utc) + timedelta(seconds=1))
        order["date_modified_gmt"] = stamp
        order["date_modified"] = stamp

    def add_order(self, order, *, topic="order.created", notify=True):
        """Store an order (a REST v3 JSON object) as if saved in the store; queue its webhook."""
        with self.lock:
            order = copy.deepcopy(order)
            order.setdefault("refunds", [])
            order.setdefault("meta_data", [])
            self.orders[int(order["id"])] = order
            if not order.get("date_modified_gmt"):
                self._touch(order)
            if notify:
                self._queue(topic, int(order["id"]))
            return order

    def change_order(self, order_id, *, topic="order.updated", notify=True, **changes):
        """Change an order (new ``date_modified_gmt``) and queue ``order.updated``."""
        with self.lock:
            order = self.orders[int(order_id)]
            order.update(copy.deepcopy(changes))
            self._touch(order)
            if notify:
                self._queue(topic, int(order_id))
            return order

    def delete_order(self, order_id):
        with self.lock:
            order = self.orders[int(order_id)]
            order["status"] = "trash"
            self._touch(order)
            self._queue("order.deleted", int(order_id))

    def add_product(self, sku, *, stock=0, product_id=None, parent_id=None, name=None):
        """A simple product, or a variation of ``parent_id`` (a variable product, created if needed)."""
        with self.lock:
            if parent_id is not None and parent_id not in self.products:
                self.products[parent_id] = {"id": parent_id, "name": f"Product {parent_id}", "type": "variable",
                                            "sku": "", "manage_stock": False, "stock_quantity": None}
            pid = product_id or self.next_id()
            item = {"id": pid, "name": name or sku, "sku": sku, "manage_stock": True, "stock_quantity": stock,
                    "type": "simple" if parent_id is None else "variation"}
            if parent_id is None:
                self.products[pid] = item
            else:
                item["parent_id"] = parent_id
                self.variations.setdefault(parent_id, OrderedDict())[pid] = item
            return item

    def stock(self, product_id, variation_id=None):
        with self.lock:
            if variation_id:
                return self.variations[product_id][variation_id]["stock_quantity"]
            return self.products[product_id]["stock_quantity"]

    def add_webhook(self, topic, delivery_url, secret, status="active"):
        with self.lock:
            return self._create_webhook({"topic": topic, "delivery_url": delivery_url, "secret": secret,
                                         "status": status, "name": f"Webhook {topic}"})

    # ------------------------------------------------------------------ webhooks

    def _queue(self, topic, resource_id):
        for hook in self.webhooks.values():
            if hook["status"] == "active" and hook["topic"] == topic:
                key = (hook["id"], resource_id)
                if key not in self.pending:  # a pending delivery absorbs later changes
                    self.pending[key] = topic

    def _create_webhook(self, data):
        hook_id = self.next_id()
        hook = {
            "id": hook_id,
            "name": data.get("name") or "",
            "status": data.get("status") or "active",
            "topic": data.get("topic"),
            "resource": (data.get("topic") or ".").split(".")[0],
            "event": (data.get("topic") or ".").split(".")[1],
            "delivery_url": data.get("delivery_url"),
            "secret": data.get("secret") or "",
            "failure_count": 0,
            "date_created_gmt": _gmt(self.now()),
        }
        self.webhooks[hook_id] = hook
        self.pending[(hook_id, "ping")] = "ping"
        return hook

    def _public_webhook(self, hook):
        public = {k: v for k, v in hook.items() if k not in ("secret", "failure_count")}
        public["hooks"] = [f"woocommerce_{hook['topic'].replace('.', '_')}"] if hook.get("topic") else []
        return public

    def build_delivery(self, hook, topic, resource_id):
        """``(url, body, headers)`` of one delivery, built now from the store's current state."""
        if topic == "ping":
            body = f"webhook_id={hook['id']}".encode()
            return hook["delivery_url"], body, {"Content-Type": "application/x-www-form-urlencoded"}
        if topic == "order.deleted":
            payload = {"id": resource_id}
        else:
            payload = self.orders[resource_id]
        body = json.dumps(payload, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
            "X-WC-Webhook-Source": self.base_url + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": topic.split(".")[0],
            "X-WC-Webhook-Event": topic.split(".")[1],
            "X-WC-Webhook-Signature": sign_webhook(body, hook["secret"]),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": str(self.next_id()),
        }
        return hook["delivery_url"], body, headers

    def send_pending(self, session=None):
        """Send every pending delivery once (never retried); returns the HTTP statuses."""
        with self.lock:
            pending, self.pending = list(self.pending.items()), OrderedDict()
        statuses = []
        post = (session or requests).post
        for (hook_id, resource_id), topic in pending:
            hook = self.webhooks.get(hook_id)
            if not hook or (topic != "ping" and hook["status"] != "active"):
                continue
            url, body, headers = self.build_delivery(hook, topic, resource_id)
            delivery = {"webhook_id": hook_id, "topic": topic, "resource": resource_id,
                        "delivery_id": headers.get("X-WC-Webhook-Delivery-ID")}
            if self.drop and topic != "ping" and self.drop(delivery):
                status = 0  # lost on the way: the store sees a timeout
            else:
                try:
                    status = post(url, data=body, headers=headers, timeout=self.webhook_timeout).status_code
                except requests.RequestException:
                    status = 0
            delivery["status"] = status
            self.deliveries.append(delivery)
            statuses.append(status)
            if topic != "ping":
                self._record_delivery(hook, status)
        return statuses

    def _record_delivery(self, hook, status):
        with self.lock:
            if 200 <= status < 400:
                hook["failure_count"] = 0
            else:
                hook["failure_count"] += 1
                if hook["failure_count"] > MAX_FAILURES:
                    hook["status"] = "disabled"

    # ------------------------------------------------------------------ HTTP

    def _dispatch(self, handler, method):
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        query = OrderedDict()
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            query[key] = value  # repeated parameters count once (PHP's $_GET)
        entry = {"method": method, "path": split.path, "query": dict(query), "status": None}
        try:
            fault = self._take_fault(entry)
            if fault:
                self._serve_fault(handler, fault, entry)
                return
            entry["auth"] = self._authenticate(handler, method, split.path, query)
            if not split.path.startswith(API_PREFIX):
                raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
            route = split.path[len(API_PREFIX):].strip("/")
            body = json.loads(raw, parse_float=Decimal) if raw else {}
            if body:
                entry["body"] = copy.deepcopy(body)
            with self.lock:
                status, payload, headers = self._route(method, route, query, body)
        except _ApiError as error:
            status, payload, headers = error.status, {"code": error.code, "message": error.message,
                                                      "data": {"status": error.status}}, error.headers
        except ValueError:
            status, payload, headers = 400, {"code": "rest_invalid_json", "message": "Invalid JSON body passed.",
                                             "data": {"status": 400}}, {}
        entry["status"] = status
        self.requests.append(entry)
        self._send(handler, status, payload, headers)

    def _send(self, handler, status, payload, headers=None):
        body = json.dumps(payload, default=str).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, str(value))
        handler.end_headers()
        handler.wfile.write(body)

    def _serve_fault(self, handler, fault, entry):
        kind = fault["kind"]
        if kind == "delay":
            time.sleep(fault["delay"] or 1)
            entry["status"] = 504
            self.requests.append(entry)
            try:
                self._send(handler, 504, {"code": "gateway_timeout", "message": "Gateway Timeout"})
            except OSError:
                pass
            return
        status = int(kind)
        headers = {"Retry-After": fault["retry_after"]} if fault.get("retry_after") is not None else {}
        entry["status"] = status
        self.requests.append(entry)
        code = "woocommerce_rest_too_many_requests" if status == 429 else "internal_server_error"
        self._send(handler, status, {"code": code, "message": "Simulated failure", "data": {"status": status}},
                   headers)

    def _authenticate(self, handler, method, path, query):
        """Returns how the request authenticated (``basic``, ``query``, ``oauth1``) or raises 401."""
        auth = handler.headers.get("Authorization") or ""
        if self.tls and (auth.startswith("Basic ") or "consumer_key" in query):
            # perform_basic_authentication: over SSL only; the header first, then the query string.
            how = "basic" if auth.startswith("Basic ") else "query"
            if how == "basic":
                try:
                    key, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
                except ValueError:
                    key = secret = ""
            else:
                key, secret = query.get("consumer_key") or "", query.get("consumer_secret") or ""
            if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
                raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
                raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
            return how
        self._check_oauth(handler, method, path, query)
        return "oauth1"

    def _check_oauth(self, handler, method, path, query):
        if "oauth_signature" not in query:
            raise _ApiError(401, "woocommerce_rest_authentication_error",
                            "Sorry, you cannot list resources.")  # what an unauthenticated call gets
        if query.get("oauth_consumer_key") != self.consumer_key:
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        try:
            stamp = int(query.get("oauth_timestamp") or 0)
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > OAUTH_WINDOW:
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = (stamp, query.get("oauth_nonce"))
        method_name = query.get("oauth_signature_method")
        if method_name not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Invalid signature method.")
        base_url = f"{'https' if self.tls else 'http'}://{handler.headers.get('Host') or '127.0.0.1'}{path}"
        expected = oauth_signature(method, base_url, query, self.consumer_secret, method_name)
        if not hmac.compare_digest(expected, query.get("oauth_signature") or ""):
            raise _ApiError(401, "woocommerce_rest_authentication_error", "Invalid signature - provided signature "
                            "does not match.")
        with self.lock:
            if nonce in self.nonces:
                raise _ApiError(401, "woocommerce_rest_authentication_error",
                                "Invalid nonce - nonce has already been used.")
            self.nonces.add(nonce)

    # ------------------------------------------------------------------ routes

    def _route(self, method, route, query, body):
        parts = route.split("/")
        if route == "settings/general" and method == "GET":
            return 200, [{"id": "woocommerce_currency", "value": self.currency},
                         {"id": "woocommerce_default_country", "value": "US:CA"}], {}
        if parts[0] == "orders":
            return self._orders(method, parts[1:], query, body)
        if parts[0] == "products":
            return self._products(method, parts[1:], query, body)
        if parts[0] == "webhooks":
            return self._webhooks(method, parts[1:], query, body)
        raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _page(self, items, query, path):
        try:
            per_page = int(query.get("per_page") or 10)
            page = int(query.get("page") or 1)
        except ValueError:
            raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page") from None
        if per_page < 1 or per_page > MAX_PER_PAGE:
            raise _ApiError(400, "rest_invalid_param",
                            "Invalid parameter(s): per_page (per_page must be between 1 (inclusive) and 100 "
                            "(inclusive))")
        total = len(items)
        pages = max(math.ceil(total / per_page), 1) if total else 0
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-WP-Total": total, "X-WP-TotalPages": pages}
        links = []
        base = f"{self.base_url}{API_PREFIX}{path}"
        if page > 1:
            links.append(f'<{base}?page={page - 1}&per_page={per_page}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers

    def _order(self, order_id):
        order = self.orders.get(int(order_id)) if str(order_id).isdigit() else None
        if not order or order.get("status") == "trash":
            raise _ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _orders(self, method, parts, query, body):
        if not parts and method == "GET":
            items = [o for o in self.orders.values() if o.get("status") not in ("trash", "checkout-draft")]
            status = query.get("status")
            if status and status != "any":
                items = [o for o in items if o.get("status") in status.split(",")]
            field = "date_modified_gmt" if query.get("orderby") == "modified" else "date_created_gmt"
            since = query.get("modified_after")
            if since:
                since = since.replace("Z", "")[:19]
                items = [o for o in items if (o.get("date_modified_gmt") or "") > since]
            if query.get("orderby") == "id":
                items.sort(key=lambda o: o["id"])
            else:
                items.sort(key=lambda o: (o.get(field) or "", o["id"]))
            if (query.get("order") or "desc") == "desc":
                items.reverse()
            return self._page(items, query, "orders")
        order = self._order(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return 200, order, {}
            if method == "PUT":
                meta = body.pop("meta_data", None)
                order.update(body)
                for item in meta or []:
                    existing = next((m for m in order["meta_data"] if m.get("key") == item.get("key")), None)
                    if existing:
                        existing["value"] = item.get("value")
                    else:
                        order["meta_data"].append({"id": self.next_id(), **item})
                self._touch(order)
                self._queue("order.updated", order["id"])
                return 200, order, {}
        if len(parts) == 2 and parts[1] == "notes":
            notes = self.notes.setdefault(order["id"], [])
            if method == "GET":
                return 200, list(reversed(notes)), {}
            if method == "POST":
                if not body.get("note"):
                    raise _ApiError(400, "rest_missing_callback_param", "Missing parameter(s): note")
                note = {"id": self.next_id(), "author": "WooCommerce", "date_created_gmt": _gmt(self.now()),
                        "note": body["note"], "customer_note": bool(body.get("customer_note"))}
                notes.append(note)
                return 201, note, {}
        if len(parts) == 2 and parts[1] == "refunds":
            if method == "GET":
                refunds = [self.refunds[r["id"]] for r in order["refunds"]]
                return 200, refunds, {"X-WP-Total": len(refunds), "X-WP-TotalPages": 1 if refunds else 0}
            if method == "POST":
                return 201, self.create_refund(order["id"], body), {}
        raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def create_refund(self, order_id, body):
        """``POST orders/<id>/refunds`` (also usable by tests as the store's admin would)."""
        order = self.orders[int(order_id)]
        amount = Decimal(str(body.get("amount") or "0"))
        already = sum((abs(Decimal(str(r["total"]))) for r in order["refunds"]), Decimal(0))
        if amount <= 0 or amount + already > Decimal(str(order["total"])):
            raise _ApiError(400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        api_refund = body.get("api_refund", True)
        api_restock = body.get("api_restock", True)
        if api_refund and order.get("payment_method") in NO_AUTO_REFUND_GATEWAYS:
            raise _ApiError(500, "woocommerce_rest_cannot_create_order_refund",
                            "The payment gateway for this order does not support automatic refunds.")
        # As wc_create_refund: line_items names any item of the order (products, shipping, fees) by
        # id; each one refunded becomes an item of its kind on the refund, negative, with the
        # _refunded_item_id meta. Other keys of the body (shipping_lines...) are not read.
        kinds = {"line_items": "line_items", "shipping_lines": "shipping_lines", "fee_lines": "fee_lines"}
        items_by_id = {str(item["id"]): (kind, item) for kind in kinds for item in order.get(kind) or []}
        refunded = {kind: [] for kind in kinds}
        for line in body.get("line_items") or []:
            kind, item = items_by_id.get(str(line.get("id")), (None, None))
            if not item:
                continue
            quantity = Decimal(str(line.get("quantity") or 0))
            net = Decimal(str(line.get("refund_total") or 0))
            taxes = [{"id": int(t["id"]), "total": f"-{Decimal(str(t.get('refund_total') or 0))}",
                      "subtotal": f"-{Decimal(str(t.get('refund_total') or 0))}"} for t in line.get("refund_tax") or []]
            tax_total = sum((Decimal(str(t.get("refund_total") or 0)) for t in line.get("refund_tax") or []),
                            Decimal(0))
            if not quantity and not net and not tax_total:
                continue
            meta = [{"id": self.next_id(), "key": "_refunded_item_id", "value": str(item["id"])}]
            if kind == "shipping_lines":
                refunded[kind].append({
                    "id": self.next_id(), "method_title": item.get("method_title"), "method_id": item.get("method_id"),
                    "instance_id": item.get("instance_id"), "total": f"-{_money(net)}",
                    "total_tax": f"-{_money(tax_total)}", "taxes": taxes, "meta_data": meta,
                })
                continue
            if kind == "fee_lines":
                refunded[kind].append({
                    "id": self.next_id(), "name": item.get("name"), "tax_class": item.get("tax_class", ""),
                    "tax_status": item.get("tax_status", "taxable"), "amount": f"-{_money(net)}",
                    "total": f"-{_money(net)}", "total_tax": f"-{_money(tax_total)}", "taxes": taxes,
                    "meta_data": meta,
                })
                continue
            refunded[kind].append({
                "id": self.next_id(), "name": item["name"], "product_id": item.get("product_id"),
                "variation_id": item.get("variation_id"), "quantity": -int(quantity), "tax_class": "",
                "subtotal": f"-{_money(net)}", "subtotal_tax": f"-{_money(tax_total)}",
                "total": f"-{_money(net)}", "total_tax": f"-{_money(tax_total)}", "taxes": taxes,
                "meta_data": meta,
                "sku": item.get("sku"), "price": float(-net / quantity) if quantity else 0.0,
                "refund_total": float(net),
            })
            if api_restock and quantity:
                meta = next((m for m in item.setdefault("meta_data", []) if m.get("key") == "_restock_refunded_items"),
                            None)
                if meta:
                    meta["value"] = str(int(Decimal(str(meta["value"])) + quantity))
                else:
                    item["meta_data"].append({"id": self.next_id(), "key": "_restock_refunded_items",
                                              "value": str(int(quantity))})
        refund_id = self.next_id()
        refund = {
            "id": refund_id,
            "date_created": _gmt(self.now()),
            "date_created_gmt": _gmt(self.now()),
            "amount": _money(amount),
            "reason": body.get("reason") or "",
            "refunded_by": 1,
            "refunded_payment": bool(api_refund),
            "meta_data": [],
            "line_items": refunded["line_items"],
            "shipping_lines": refunded["shipping_lines"],
            "tax_lines": [],
            "fee_lines": refunded["fee_lines"],
        }
        self.refunds[refund_id] = refund
        order["refunds"].append({"id": refund_id, "reason": refund["reason"], "total": f"-{_money(amount)}"})
        if amount + already == Decimal(str(order["total"])):
            order["status"] = "refunded"
        self._touch(order)
        self._queue("order.updated", order["id"])
        return refund

    def _products(self, method, parts, query, body):
        if not parts and method == "GET":
            return self._page(list(self.products.values()), query, "products")
        if parts == ["batch"] and method == "POST":
            return self._batch(self.products, body)
        if len(parts) == 2 and parts[1] == "variations" and method == "GET":
            return self._page(list(self.variations.get(int(parts[0]), {}).values()), query,
                              f"products/{parts[0]}/variations")
        if len(parts) == 3 and parts[1] == "variations" and parts[2] == "batch" and method == "POST":
            if int(parts[0]) not in self.products:
                raise _ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return self._batch(self.variations.setdefault(int(parts[0]), OrderedDict()), body)
        raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _batch(self, collection, body):
        total = sum(len(body.get(kind) or []) for kind in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise _ApiError(413, "woocommerce_rest_batch_items_limit",
                            f"Unable to accept more than {BATCH_LIMIT} items for this request.")
        answer = {"update": []}
        for update in body.get("update") or []:
            item = collection.get(int(update.get("id") or 0))
            if not item:
                answer["update"].append({"id": update.get("id"), "error": {
                    "code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                    "data": {"status": 400}}})
                continue
            item.update({k: v for k, v in update.items() if k != "id"})
            answer["update"].append(dict(item))
        return 200, answer, {}

    def _webhooks(self, method, parts, query, body):
        if not parts and method == "GET":
            return self._page([self._public_webhook(h) for h in self.webhooks.values()], query, "webhooks")
        if not parts and method == "POST":
            if body.get("topic") not in WEBHOOK_TOPICS or not body.get("delivery_url"):
                raise _ApiError(400, "rest_invalid_param", "Invalid parameter(s): topic, delivery_url")
            return 201, self._public_webhook(self._create_webhook(body)), {}
        hook = self.webhooks.get(int(parts[0])) if parts and parts[0].isdigit() else None
        if not hook:
            raise _ApiError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        if method == "GET":
            return 200, self._public_webhook(hook), {}
        if method == "PUT":
            for key in ("status", "secret", "delivery_url", "name", "topic"):
                if key in body:
                    hook[key] = body[key]
            if body.get("status") == "active":
                hook["failure_count"] = 0
            return 200, self._public_webhook(hook), {}
        raise _ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
