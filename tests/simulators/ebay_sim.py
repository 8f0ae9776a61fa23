"""A local eBay REST API simulator (OAuth, Fulfillment, Inventory, Finances, Notification)
and the Marketplace Account Deletion notification sender, for tests and benchmarks.

``EbaySimulator`` is a threaded ``http.server`` on 127.0.0.1 (ephemeral port). One server
stands for both eBay hosts (api.ebay.com and apiz.ebay.com): give the client the same
``base_url`` for both. It speaks what the connector uses, with eBay's shapes:

* ``POST /identity/v1/oauth2/token``: Basic ``app_id:cert_id``; ``grant_type=refresh_token``
  (the seller's refresh token) or ``client_credentials``; ``{"access_token", "expires_in",
  "token_type"}``; ``invalid_grant`` (400) for a wrong refresh token. Every other call
  needs ``Authorization: Bearer`` of a token it issued (401 otherwise).
* ``GET /sell/fulfillment/v1/order``: ``filter=lastmodifieddate:%5B<from>..<to>%5D`` (or
  ``creationdate``), brackets percent-encoded (a raw ``[`` is refused with 400, errorId
  30800), ``limit`` 1..200 (more is 400), ``offset``; ``{"href", "total", "limit", "offset",
  "orders", "next"}``; ``GET .../order/{orderId}``.
* ``POST .../order/{orderId}/shipping_fulfillment``: line items with quantities (partial
  shipments), carrier and tracking; 201 with ``Location``; the order's line and order
  fulfillment statuses follow; more than the unshipped quantity is 400.
* ``POST /sell/inventory/v1/bulk_update_price_quantity``: at most 25 requests (400 errorId
  25709 above); each SKU may be revised ``revision_limit`` (250) times a day, after that its
  response is ``statusCode`` 400 with errorId 25019.
* ``GET /sell/finances/v1/payout`` (``filter=payoutDate:[..],payoutStatus:{..}``) and
  ``GET /sell/finances/v1/transaction`` (``filter=payoutId:{..}``), paged: every Finances call
  must carry a valid Ed25519 HTTP message signature made with the simulator's own key pair
  (``signing_private_pem`` / ``signing_jwe``, as the Key Management API would issue them);
  unsigned or badly signed calls get 400 with errorId 215120 ("Signature validation failed").
  ``require_signature = False`` lets unsigned calls through (a non-EU seller).
* ``GET /commerce/identity/v1/user/`` and ``GET /commerce/notification/v1/public_key/{kid}``
  (application token), the ECDSA P-256 key of the notification signatures.

Faults for the next N requests: ``inject_fault('429', count, retry_after=...)``, ``'500'``,
``'503'``. ``requests_log`` holds ``(method, path, raw query)`` of every call.

``send_deletion_notification(url, ...)`` posts a signed ``MARKETPLACE_ACCOUNT_DELETION``
body (``X-EBAY-SIGNATURE``: base64 JSON with alg, kid, signature, digest) and
``challenge(url, code)`` performs the endpoint validation GET.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import sys
import threading
import types
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _lib(name):
    """The addon's pure modules, under Odoo or bare (like the pure tests load them)."""
    try:
        module = __import__(f"odoo.addons.omni_connector_marketplace.lib.{name}", fromlist=[name])
    except ImportError:
        for addon in ("omni_connector_base", "omni_connector_marketplace"):
            if addon not in sys.modules:
                package = types.ModuleType(addon)
                package.__path__ = [str(REPO / addon)]
                sys.modules[addon] = package
        module = __import__(f"omni_connector_marketplace.lib.{name}", fromlist=[name])
    return module


ebay_signature = _lib("ebay_signature")
ebay_notification = _lib("ebay_notification")

ORDER_LIMIT_MAX = 200
PAYOUT_LIMIT_MAX = 200
TRANSACTION_LIMIT_MAX = 1000
BULK_MAX = 25
REVISION_LIMIT = 250
_RANGE_RE = re.compile(r"^(lastmodifieddate|creationdate|payoutDate):\[([^\]]*)\.\.([^\]]*)\]$")


def parse_time(text):
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def ebay_time(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error(error_id, message, category="REQUEST"):
    return {"errors": [{"errorId": error_id, "domain": "API_FULFILLMENT", "category": category,
                        "message": message}]}


class EbaySimulator:
    def __init__(self, *, app_id="OmniTest-PRD-1234", cert_id="PRD-cert-secret", refresh_token=None,
                 verification_token=None):
        self.app_id = app_id
        self.cert_id = cert_id
        self.refresh_token = refresh_token or "v^1.1#i^1#r^1#" + secrets.token_urlsafe(24)
        self.verification_token = verification_token or secrets.token_urlsafe(32)
        self.tokens = {}  # token -> kind
        self.orders = {}
        self.fulfillments = {}  # orderId -> [fulfillment]
        self.inventory = {}  # sku -> quantity
        self.revisions = {}  # (sku, day) -> count
        self.revision_limit = REVISION_LIMIT
        self.payouts = {}
        self.transactions = {}  # payoutId -> [transaction]
        self.require_signature = True
        self.signature_failures = 0
        self.signed_requests = 0
        self._signing_key = Ed25519PrivateKey.generate()
        self.signing_private_pem = self._signing_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        # The JWE the Key Management API would return; opaque to the client.
        self.signing_jwe = "eyJ6aXAiOiJERUYiLCJlbmMiOiJBMjU2R0NNIn0." + secrets.token_urlsafe(60)
        self._notification_key = ec.generate_private_key(ec.SECP256R1())
        self.notification_kid = uuid.uuid4().hex
        self.public_key_requests = 0
        self.faults = []  # [kind, remaining, retry_after]
        self.requests_log = []
        self.lock = threading.RLock()
        self.clock = lambda: datetime.now(timezone.utc)
        self._server = None
        self._thread = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, host="127.0.0.1", port=0):
        """Serve on ``host:port`` (default: loopback, an ephemeral port; the demo's serve.py sets both)."""
        sim = self

        class Handler(_Handler):
            simulator = sim

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self):
        return self.base_url + "/identity/v1/oauth2/token"

    # ------------------------------------------------------------------ seeding

    def add_order(self, order):
        with self.lock:
            self.orders[order["orderId"]] = copy.deepcopy(order)

    def load_order_fixture(self, path):
        for order in json.loads(Path(path).read_text())["orders"]:
            self.add_order(order)

    def add_payout(self, payout, transactions):
        with self.lock:
            self.payouts[payout["payoutId"]] = copy.deepcopy(payout)
            self.transactions[payout["payoutId"]] = copy.deepcopy(list(transactions))

    def inject_fault(self, kind, count=1, retry_after=None):
        with self.lock:
            self.faults.append([kind, count, retry_after])

    # ------------------------------------------------------------------ notifications

    def notification_public_pem_one_line(self):
        pem = self._notification_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return pem.replace("\n", "")  # eBay answers the key on one line

    def deletion_body(self, username, user_id=None, notification_id=None):
        now = self.clock()
        return json.dumps({
            "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": notification_id or str(uuid.uuid4()),
                "eventDate": ebay_time(now), "publishDate": ebay_time(now), "publishAttemptCount": 1,
                "data": {"username": username, "userId": user_id or uuid.uuid4().hex[:10],
                         "eiasToken": base64.b64encode(secrets.token_bytes(18)).decode()},
            },
        }).encode()

    def sign_notification(self, body):
        return ebay_notification.sign_notification(body, self._notification_key, self.notification_kid)

    def send_deletion_notification(self, url, username, *, bad_signature=False, body=None, timeout=30):
        body = body or self.deletion_body(username)
        signature = self.sign_notification(body)
        if bad_signature:
            other = ec.generate_private_key(ec.SECP256R1())
            signature = ebay_notification.sign_notification(body, other, self.notification_kid)
        return requests.post(url, data=body, timeout=timeout, headers={
            "Content-Type": "application/json", "X-EBAY-SIGNATURE": signature})

    def challenge(self, url, code=None, timeout=30):
        code = code or secrets.token_hex(16)
        response = requests.get(url, params={"challenge_code": code}, timeout=timeout)
        return code, response

    # ------------------------------------------------------------------ handlers

    def _take_fault(self):
        with self.lock:
            for fault in self.faults:
                if fault[1] > 0:
                    fault[1] -= 1
                    return fault
        return None

    def handle(self, method, raw_path, headers, body):
        parsed = urlparse(raw_path)
        path = parsed.path
        raw_query = parsed.query
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        with self.lock:
            self.requests_log.append((method, path, raw_query))
        fault = self._take_fault()
        if fault:
            kind, _count, retry_after = fault
            extra = {"Retry-After": str(retry_after)} if retry_after else {}
            status = int(kind)
            return status, _error(2001 if status == 429 else 10001,
                                  "Too many requests" if status == 429 else "System error", "APPLICATION"), extra
        if path == "/identity/v1/oauth2/token" and method == "POST":
            return self._token(headers, body)
        auth = headers.get("authorization", "")
        kind = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if kind is None:
            return 401, _error(1001, "Invalid access token", "REQUEST"), {}
        if path.startswith("/sell/finances/"):
            if self.require_signature:
                url = f"http://{headers.get('host')}{raw_path}"
                ok, reason = ebay_signature.verify_request(
                    method, url, headers, body, self._signing_key.public_key(), expected_jwe=self.signing_jwe)
                if not ok:
                    self.signature_failures += 1
                    return 400, {"errors": [{"errorId": 215120, "domain": "ACCESS", "category": "REQUEST",
                                             "message": "Signature validation failed", "longMessage": reason}]}, {}
                self.signed_requests += 1
            if path == "/sell/finances/v1/payout":
                return self._payouts(raw_query, query)
            if path == "/sell/finances/v1/transaction":
                return self._transactions(raw_query, query)
        if path == "/commerce/identity/v1/user/":
            return 200, {"userId": "sim-user", "username": "northwind-goods", "accountType": "BUSINESS",
                         "registrationMarketplaceId": "EBAY_US"}, {}
        match = re.fullmatch(r"/commerce/notification/v1/public_key/([^/]+)", path)
        if match:
            if kind != "app":
                return 403, _error(1100, "Insufficient permissions: an application token is required"), {}
            self.public_key_requests += 1
            if unquote(match.group(1)) != self.notification_kid:
                return 404, _error(195001, "The public key was not found"), {}
            return 200, {"algorithm": "ECDSA", "digest": "SHA1", "key": self.notification_public_pem_one_line()}, {}
        if path == "/sell/fulfillment/v1/order" and method == "GET":
            return self._orders(raw_query, query)
        match = re.fullmatch(r"/sell/fulfillment/v1/order/([^/]+)(/shipping_fulfillment)?", path)
        if match:
            order_id = unquote(match.group(1))
            if order_id not in self.orders:
                return 404, _error(32100, "Order not found"), {}
            if match.group(2) and method == "POST":
                return self._ship(order_id, body)
            return 200, copy.deepcopy(self.orders[order_id]), {}
        if path == "/sell/inventory/v1/bulk_update_price_quantity" and method == "POST":
            return self._bulk(body)
        return 404, _error(2002, f"Resource not found: {path}"), {}

    def _token(self, headers, body):
        expected = base64.b64encode(f"{self.app_id}:{self.cert_id}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client", "error_description": "client authentication failed"}, {}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant",
                             "error_description": "the provided authorization refresh token is invalid"}, {}
            kind = "user"
        elif form.get("grant_type") == "client_credentials":
            kind = "app"
        else:
            return 400, {"error": "unsupported_grant_type"}, {}
        token = "v^1.1#i^1#p^3#" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = kind
        return 200, {"access_token": token, "expires_in": 7200,
                     "token_type": "User Access Token" if kind == "user" else "Application Access Token"}, {}

    @staticmethod
    def _range(raw_query, query, name):
        if "[" in raw_query or "]" in raw_query or "{" in raw_query:
            return None, None, (400, _error(30800, "The filter must be URL-encoded"), {})
        flt = query.get("filter", "")
        for part in flt.split(","):
            match = _RANGE_RE.match(part)
            if match and match.group(1) == name:
                return parse_time(match.group(2)), parse_time(match.group(3)), None
        return None, None, None

    @staticmethod
    def _paging(query, maximum, default):
        try:
            limit = int(query.get("limit", default))
            offset = int(query.get("offset", 0))
        except ValueError:
            return None, None, (400, _error(30850, "Invalid limit or offset"), {})
        if not 1 <= limit <= maximum or offset < 0:
            return None, None, (400, _error(30850, f"The limit must be between 1 and {maximum}"), {})
        return limit, offset, None

    def _orders(self, raw_query, query):
        field = "creationdate" if "creationdate" in query.get("filter", "") else "lastmodifieddate"
        since, until, error = self._range(raw_query, query, field)
        if error:
            return error
        limit, offset, error = self._paging(query, ORDER_LIMIT_MAX, 50)
        if error:
            return error
        key = "creationDate" if field == "creationdate" else "lastModifiedDate"
        with self.lock:
            selected = [
                o for o in self.orders.values()
                if (since is None or parse_time(o[key]) >= since) and (until is None or parse_time(o[key]) <= until)
            ]
        selected.sort(key=lambda o: (o[key], o["orderId"]))
        page = selected[offset:offset + limit]
        answer = {"href": f"/sell/fulfillment/v1/order?{raw_query}", "total": len(selected), "limit": limit,
                  "offset": offset, "orders": copy.deepcopy(page)}
        if offset + limit < len(selected):
            answer["next"] = f"/sell/fulfillment/v1/order?limit={limit}&offset={offset + limit}"
        return 200, answer, {}

    def _ship(self, order_id, body):
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, _error(32000, "The request body is not JSON"), {}
        with self.lock:
            order = self.orders[order_id]
            shipped = {}
            for fulfillment in self.fulfillments.get(order_id, []):
                for line in fulfillment["lineItems"]:
                    shipped[line["lineItemId"]] = shipped.get(line["lineItemId"], 0) + line["quantity"]
            items = {item["lineItemId"]: item for item in order["lineItems"]}
            for line in payload.get("lineItems") or []:
                item = items.get(line.get("lineItemId"))
                if item is None:
                    return 400, _error(32210, "Invalid line item id"), {}
                if shipped.get(item["lineItemId"], 0) + int(line.get("quantity") or 0) > item["quantity"]:
                    return 400, _error(32220, "The quantity exceeds what remains to ship"), {}
            if not payload.get("lineItems") or not payload.get("trackingNumber"):
                return 400, _error(32300, "lineItems and trackingNumber are required"), {}
            fulfillment_id = payload["trackingNumber"]
            self.fulfillments.setdefault(order_id, []).append(dict(payload, fulfillmentId=fulfillment_id))
            for line in payload["lineItems"]:
                shipped[line["lineItemId"]] = shipped.get(line["lineItemId"], 0) + int(line["quantity"])
            for item in order["lineItems"]:
                done = shipped.get(item["lineItemId"], 0)
                item["lineItemFulfillmentStatus"] = (
                    "FULFILLED" if done >= item["quantity"] else "IN_PROGRESS" if done else "NOT_STARTED")
            states = {item["lineItemFulfillmentStatus"] for item in order["lineItems"]}
            order["orderFulfillmentStatus"] = "FULFILLED" if states == {"FULFILLED"} else "IN_PROGRESS"
            order["lastModifiedDate"] = ebay_time(self.clock())
        location = f"{self.base_url}/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{fulfillment_id}"
        return 201, None, {"Location": location}

    def _bulk(self, body):
        try:
            entries = json.loads(body).get("requests") or []
        except ValueError:
            return 400, _error(25001, "The request body is not JSON"), {}
        if len(entries) > BULK_MAX:
            return 400, _error(25709, f"The number of requests exceeds {BULK_MAX}"), {}
        day = self.clock().date()
        responses = []
        with self.lock:
            for entry in entries:
                sku = entry.get("sku")
                count = self.revisions.get((sku, day), 0)
                if count >= self.revision_limit:
                    responses.append({"sku": sku, "statusCode": 400, "errors": [{
                        "errorId": 25019, "message": "The listing was revised too many times today"}]})
                    continue
                self.revisions[(sku, day)] = count + 1
                self.inventory[sku] = int((entry.get("shipToLocationAvailability") or {}).get("quantity", 0))
                responses.append({"sku": sku, "offerId": f"offer-{sku}", "statusCode": 200})
        return 200, {"responses": responses}, {}

    def _payouts(self, raw_query, query):
        since, until, error = self._range(raw_query, query, "payoutDate")
        if error:
            return error
        limit, offset, error = self._paging(query, PAYOUT_LIMIT_MAX, 20)
        if error:
            return error
        status = re.search(r"payoutStatus:\{([A-Z_|]+)\}", query.get("filter", ""))
        statuses = set(status.group(1).split("|")) if status else None
        with self.lock:
            selected = [
                p for p in self.payouts.values()
                if (since is None or parse_time(p["payoutDate"]) >= since)
                and (until is None or parse_time(p["payoutDate"]) <= until)
                and (statuses is None or p["payoutStatus"] in statuses)
            ]
        selected.sort(key=lambda p: (p["payoutDate"], p["payoutId"]))
        return 200, {"href": f"/sell/finances/v1/payout?{raw_query}", "total": len(selected), "limit": limit,
                     "offset": offset, "payouts": copy.deepcopy(selected[offset:offset + limit])}, {}

    def _transactions(self, raw_query, query):
        if "{" in raw_query:
            return 400, _error(135001, "The filter must be URL-encoded"), {}
        match = re.search(r"payoutId:\{([^}]*)\}", query.get("filter", ""))
        limit, offset, error = self._paging(query, TRANSACTION_LIMIT_MAX, 20)
        if error:
            return error
        rows = self.transactions.get(match.group(1), []) if match else [
            t for rows in self.transactions.values() for t in rows]
        return 200, {"href": f"/sell/finances/v1/transaction?{raw_query}", "total": len(rows), "limit": limit,
                     "offset": offset, "transactions": copy.deepcopy(rows[offset:offset + limit])}, {}


class _Handler(BaseHTTPRequestHandler):
    simulator: EbaySimulator = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        return

    def _serve(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload, extra = self.simulator.handle(method, self.path, headers, body)
        except Exception as error:
            status, payload, extra = 500, _error(10001, f"simulator error {type(error).__name__}: {error}"), {}
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")


# ---------------------------------------------------------------------- order factory


def make_order(order_id, modified, *, skus=(("SKU-1", 1, "10.00"),), currency="USD", payment="PAID",
               fulfillment="NOT_STARTED", buyer="buyer_one", collected_tax=None, cancelled=False,
               refunds=(), shipping="4.99"):
    """An eBay order in the Fulfillment API's shape (``skus``: (sku, quantity, line cost))."""
    created = modified
    items, subtotal = [], Decimal(0)
    for index, (sku, qty, cost) in enumerate(skus):
        cost_d = Decimal(cost)
        ship = Decimal(shipping) if index == 0 else Decimal(0)
        item = {
            "lineItemId": f"{order_id.replace('-', '')}{index:02d}", "legacyItemId": f"2265{index:08d}",
            "sku": sku, "title": f"Item {sku}", "quantity": qty,
            "lineItemCost": {"value": str(cost_d), "currency": currency},
            "total": {"value": str(cost_d + ship), "currency": currency},
            "deliveryCost": {"shippingCost": {"value": str(ship), "currency": currency}},
            "appliedPromotions": [], "taxes": [], "lineItemFulfillmentStatus": fulfillment, "refunds": [],
        }
        if collected_tax and index == 0:
            tax = {"taxType": "STATE_SALES_TAX", "amount": {"value": collected_tax, "currency": currency}}
            item["taxes"] = [dict(tax)]
            item["ebayCollectAndRemitTaxes"] = [dict(tax, collectionMethod="NET")]
        items.append(item)
        subtotal += cost_d
    tax_total = Decimal(collected_tax or 0)
    total = subtotal + Decimal(shipping) + tax_total
    address = {"fullName": "Jordan Ellis", "contactAddress": {
        "addressLine1": "1630 NE Alberta St", "city": "Portland", "stateOrProvince": "OR", "postalCode": "97211",
        "countryCode": "US"}, "primaryPhone": {"phoneNumber": "5035550192"},
        "email": f"{buyer}@members.ebay.com"}
    stamp = ebay_time(modified)
    order = {
        "orderId": order_id, "creationDate": ebay_time(created), "lastModifiedDate": stamp,
        "orderFulfillmentStatus": fulfillment, "orderPaymentStatus": payment, "sellerId": "northwind-goods",
        "buyer": {"username": buyer, "buyerRegistrationAddress": address},
        "pricingSummary": {"priceSubtotal": {"value": str(subtotal), "currency": currency},
                           "deliveryCost": {"value": shipping, "currency": currency},
                           "total": {"value": str(total), "currency": currency}},
        "cancelStatus": {"cancelState": "CANCELED" if cancelled else "NONE_REQUESTED", "cancelRequests": [
            {"cancelReason": "BUYER_ASKED_CANCEL", "cancelCompletedDate": stamp}] if cancelled else []},
        "paymentSummary": {"totalDueSeller": {"value": str(total), "currency": currency}, "refunds": list(refunds),
                           "payments": [{"paymentMethod": "EBAY", "paymentDate": stamp,
                                         "amount": {"value": str(total), "currency": currency},
                                         "paymentStatus": "PAID"}]},
        "fulfillmentStartInstructions": [{"fulfillmentInstructionsType": "SHIP_TO", "shippingStep": {
            "shipTo": address, "shippingCarrierCode": "USPS", "shippingServiceCode": "USPSPriority"}}],
        "lineItems": items,
    }
    if collected_tax:
        order["pricingSummary"]["tax"] = {"value": collected_tax, "currency": currency}
        order["ebayCollectAndRemitTax"] = True
    return order
