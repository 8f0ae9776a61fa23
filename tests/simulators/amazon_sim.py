"""A local Amazon Selling Partner API, for tests and benchmarks (loopback HTTP).

It speaks the wire protocol the connector's production client (``python-amazon-sp-api`` through
``omni_connector_marketplace/lib/amazon_client.py``) speaks, with only the endpoint and the LWA
token URL changed:

* ``POST /auth/o2/token`` (Login with Amazon): ``grant_type=refresh_token`` with the app's client
  id and secret and the seller's refresh token; access tokens expire (``expires_in``) and are
  revoked when the app's secret is rotated (:meth:`AmazonSimulator.rotate_secret`);
* Orders API v2026-01-01 ``searchOrders`` (``lastUpdatedAfter``/``lastUpdatedBefore`` at least two
  minutes in the past, ``fulfilledBy``, ``fulfillmentStatuses``, ``marketplaceIds``,
  ``maxResultsPerPage`` up to 100, ``paginationToken`` valid 24 h, ``includedData`` datasets) and
  ``getOrder``; Orders v0 ``confirmShipment`` (packages, partial shipments);
* Feeds 2021-06-30: ``createFeedDocument`` with a presigned upload URL, ``createFeed`` for
  ``JSON_LISTINGS_FEED`` (validated message by message), ``getFeed``, ``getFeedDocument`` and the
  gzip processing report with per-SKU issues;
* FBA Inventory v1 ``getInventorySummaries`` (pages of 50, ``nextToken`` expiring after 30 s);
* Reports 2021-06-30 ``getReports`` and ``getReportDocument`` (gzip documents, presigned URLs
  expiring after 5 minutes);
* usage plans per operation (token buckets at Amazon's rates, ``x-amzn-RateLimit-Limit`` on every
  answer, 429 ``QuotaExceeded`` when empty), injectable 5xx and slow answers (timeouts).

The library appends ``MarketplaceId``, ``MarketplaceIds``, ``marketplace_ids`` and
``marketplaceIds`` to GET requests: they are tolerated everywhere. JSON shapes follow the models
in ``amzn/selling-partner-api-models`` (orders_2026-01-01.json, feeds_2021-06-30.json,
fbaInventory.json, reports_2021-06-30.json, the listings feed schemas).
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

UTC = timezone.utc
CLIENT_ID = "amzn1.application-oa2-client.sim0001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.simulated-secret-0001"
REFRESH_TOKEN = "Atzr|simulated-refresh-token-0001"
SELLER_ID = "A3SIMSELLER01"
# Amazon's default usage plans (rate per second, burst).
RATE_LIMITS = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "getInventorySummaries": (2.0, 2),
    "getReports": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
}
# includedData dataset -> (order keys, item keys) it brings.
DATASETS = {
    "BUYER": (("buyer",), ()),
    "RECIPIENT": (("recipient",), ()),
    "PROCEEDS": (("proceeds",), ("proceeds",)),
    "EXPENSE": ((), ("expense",)),
    "PROMOTION": ((), ("promotion",)),
    "CANCELLATION": ((), ("cancellation",)),
    "FULFILLMENT": (("fulfillment",), ("fulfillment",)),
    "PACKAGES": (("packages",), ()),
    "TAX": (("tax",), ("tax",)),
    "PAYMENT": (("payment",), ()),
    "FULFILLMENT_ORDERS": (("fulfillmentOrders",), ()),
}
MARKETPLACE_PARAMS = ("MarketplaceId", "MarketplaceIds", "marketplace_ids", "marketplaceIds")
INVENTORY_PAGE = 50


class FakeClock:
    """A manual clock (epoch seconds) shared by the simulator and a client; ``sleep`` advances it."""

    def __init__(self, start=None):
        self._now = float(start if start is not None else time.time())
        self._lock = threading.Lock()
        self.sleeps = []

    def __call__(self):
        with self._lock:
            return self._now

    def advance(self, seconds):
        with self._lock:
            self._now += max(float(seconds), 0.0)

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.advance(seconds)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


class _Bucket:
    def __init__(self, rate, burst, now):
        self.rate, self.burst, self.tokens, self.last = rate, burst, float(burst), now

    def take(self, now):
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SimError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class AmazonSimulator:
    """The simulated SP-API of one seller; ``start()`` serves it on 127.0.0.1."""

    def __init__(self, clock=None, rate_limits=True):
        self.clock = clock or time.time
        self.rate_limits_enabled = rate_limits
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.refresh_tokens = {REFRESH_TOKEN}
        self.seller_id = SELLER_ID
        self.tokens = {}  # access token -> (expiry epoch, secret it was issued with)
        self.token_requests = 0
        self.orders = {}  # orderId -> full order JSON (every dataset)
        self.feeds, self.documents, self.uploads = {}, {}, {}
        self.listing_quantities = {}  # sku -> quantity set by the listings feeds
        self.unknown_skus = set()  # SKUs the listings feed reports as not found
        self.feed_processing_polls = 0  # getFeed answers IN_PROGRESS this many times first
        self.inventory = {}  # marketplaceId -> [InventorySummary]
        self.reports = []
        self.shipments = []  # confirmShipment bodies accepted, in order
        self.calls = defaultdict(int)
        self.throttled = defaultdict(int)
        self.requests = []  # (operation, query params) of every API request
        self._faults = defaultdict(list)  # operation -> [(status | "timeout", delay)]
        self._buckets = {}
        self._tokens_by_page = {}
        self._ids = 0
        self._lock = threading.RLock()
        self.server = None
        self.thread = None
        self.public_url = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, host="127.0.0.1", port=0):
        """Serve on ``host:port`` (default: loopback, an ephemeral port; the demo's serve.py sets both)."""
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="amazon-sim", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base_url(self):
        """Where clients reach it (also the host of the presigned document URLs): ``public_url`` when
        set (the demo's simulators service, reached by another host name), else the bound address."""
        if self.public_url:
            return self.public_url
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self):
        return self.base_url + "/auth/o2/token"

    def now(self):
        return datetime.fromtimestamp(self.clock(), UTC)

    def _next_id(self, prefix):
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids:08d}"

    # ------------------------------------------------------------------ set-up helpers

    def add_order(self, order):
        """Store an order (the full v2026 ``Order`` JSON, every dataset present)."""
        with self._lock:
            self.orders[order["orderId"]] = copy.deepcopy(order)
        return order["orderId"]

    def update_order(self, order_id, **changes):
        """Change an order as Amazon would (``fulfillmentStatus``...), bumping ``lastUpdatedTime``."""
        with self._lock:
            order = self.orders[order_id]
            status = changes.pop("fulfillmentStatus", None)
            if status:
                order["fulfillment"]["fulfillmentStatus"] = status
            order.update(changes)
            order["lastUpdatedTime"] = iso(self.now())
            return order

    def rotate_secret(self, new_secret):
        """The app's LWA secret is rotated: tokens issued with the old one stop working."""
        with self._lock:
            self.client_secret = new_secret
            self.tokens = {token: value for token, value in self.tokens.items() if value[1] == new_secret}

    def revoke_tokens(self):
        with self._lock:
            self.tokens.clear()

    def fail_next(self, operation, status=503, count=1, delay=0.0):
        """The next ``count`` calls of ``operation`` answer ``status`` (or ``"timeout"``: wait ``delay``)."""
        with self._lock:
            self._faults[operation].extend([(status, delay)] * count)

    def set_inventory(self, marketplace_id, quantities):
        """FBA pool of a marketplace: ``{sku: fulfillable quantity}``."""
        summaries = []
        for index, (sku, quantity) in enumerate(sorted(quantities.items())):
            summaries.append({
                "asin": f"B0SIM{index:05d}", "fnSku": f"X00SIM{index:05d}", "sellerSku": sku, "condition": "NewItem",
                "inventoryDetails": {
                    "fulfillableQuantity": quantity, "inboundWorkingQuantity": 0, "inboundShippedQuantity": 0,
                    "inboundReceivingQuantity": 0,
                    "reservedQuantity": {"totalReservedQuantity": 0, "pendingCustomerOrderQuantity": 0,
                                         "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
                    "unfulfillableQuantity": {"totalUnfulfillableQuantity": 0},
                },
                "lastUpdatedTime": iso(self.now()), "productName": sku, "totalQuantity": quantity, "stores": [],
            })
        with self._lock:
            self.inventory[marketplace_id] = summaries

    def add_settlement_report(self, text, created=None, marketplace_ids=("ATVPDKIKX0DER",), compress=True):
        """Publish a ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` report; returns its report id."""
        content = text.encode("utf-8") if isinstance(text, str) else text
        document_id = self._next_id("amzn1.spdoc.1.4.na.")
        with self._lock:
            self.documents[document_id] = {"content": gzip.compress(content) if compress else content,
                                           "compressed": compress}
            report_id = self._next_id("")
            created = created or self.now()
            self.reports.append({
                "reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "processingEndTime": iso(created),
                "processingStatus": "DONE", "marketplaceIds": list(marketplace_ids), "reportDocumentId": document_id,
                "reportId": report_id, "dataEndTime": iso(created), "createdTime": iso(created),
                "processingStartTime": iso(created), "dataStartTime": iso(created - timedelta(days=14)),
            })
        return report_id

    # ------------------------------------------------------------------ plumbing

    def _check_rate(self, operation):
        if not self.rate_limits_enabled or operation not in RATE_LIMITS:
            return
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = _Bucket(*RATE_LIMITS[operation], now)
            if not bucket.take(now):
                self.throttled[operation] += 1
                raise SimError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")

    def _fault(self, operation):
        with self._lock:
            faults = self._faults.get(operation)
            return faults.pop(0) if faults else None

    def _authorize(self, headers):
        token = headers.get("x-amz-access-token")
        with self._lock:
            entry = self.tokens.get(token)
        if not entry or entry[0] < self.clock():
            raise SimError(403, "Unauthorized", "Access to requested resource is denied.")

    def _presign(self, kind, document_id, minutes=5):
        expires = int(self.clock() + minutes * 60)
        signature = hashlib.sha256(f"{kind}:{document_id}:{expires}".encode()).hexdigest()[:16]
        return f"{self.base_url}/s3/{kind}/{document_id}?X-Amz-Expires={expires}&X-Amz-Signature={signature}"

    # ------------------------------------------------------------------ LWA

    def lwa_token(self, form):
        with self._lock:
            self.token_requests += 1
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type", "error_description": "grant_type not supported"}
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            if form.get("refresh_token") not in self.refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "The request has an invalid grant"}
            token = "Atza|" + base64.urlsafe_b64encode(hashlib.sha256(
                f"{self.token_requests}:{time.time_ns()}".encode()).digest()).decode().rstrip("=")
            self.tokens[token] = (self.clock() + 3600, self.client_secret)
        return 200, {"access_token": token, "refresh_token": form["refresh_token"], "token_type": "bearer",
                     "expires_in": 3600}

    # ------------------------------------------------------------------ orders

    def _view(self, order, included):
        view = {key: value for key, value in order.items() if key != "orderItems"}
        hidden_order, hidden_item = set(), set()
        for dataset, (order_keys, item_keys) in DATASETS.items():
            if dataset not in included:
                hidden_order.update(order_keys)
                hidden_item.update(item_keys)
        for key in hidden_order:
            view.pop(key, None)
        view["orderItems"] = [{k: v for k, v in item.items() if k not in hidden_item}
                              for item in order["orderItems"]]
        return copy.deepcopy(view)

    def search_orders(self, query):
        one = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        many = lambda name: [v for raw in query.get(name, []) for v in raw.split(",") if v]  # noqa: E731
        now = self.now()
        latest = now - timedelta(minutes=2)
        token = one("paginationToken")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise SimError(400, "InvalidInput", "Invalid paginationToken.") from None
            if self.clock() - state["issued"] > 24 * 3600:
                raise SimError(400, "InvalidInput", "The paginationToken has expired.")
            filters, offset = state["filters"], state["offset"]
        else:
            after, created_after = one("lastUpdatedAfter"), one("createdAfter")
            if bool(after) == bool(created_after):
                raise SimError(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
            before = one("lastUpdatedBefore") or one("createdBefore")
            if before and parse_iso(before) > latest:
                raise SimError(400, "InvalidInput",
                               "lastUpdatedBefore must be at least two minutes before the time of the request.")
            size = int(one("maxResultsPerPage") or 100)
            if not 1 <= size <= 100:
                raise SimError(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100.")
            filters = {
                "field": "lastUpdatedTime" if after else "createdTime",
                "after": after or created_after, "before": before or iso(latest),
                "marketplaces": many("marketplaceIds"), "fulfilledBy": many("fulfilledBy"),
                "statuses": many("fulfillmentStatuses"), "included": many("includedData"), "size": size,
            }
            offset = 0
        start, end = parse_iso(filters["after"]), parse_iso(filters["before"])
        with self._lock:
            matching = []
            for order in self.orders.values():
                moment = parse_iso(order[filters["field"]])
                if not start <= moment <= end:
                    continue
                marketplace = order["salesChannel"].get("marketplaceId")
                if filters["marketplaces"] and marketplace not in filters["marketplaces"]:
                    continue
                fulfillment = order.get("fulfillment") or {}
                if filters["fulfilledBy"] and fulfillment.get("fulfilledBy") not in filters["fulfilledBy"]:
                    continue
                if filters["statuses"] and fulfillment.get("fulfillmentStatus") not in filters["statuses"]:
                    continue
                matching.append(order)
        matching.sort(key=lambda o: (o[filters["field"]], o["orderId"]))
        page = matching[offset: offset + filters["size"]]
        answer = {"orders": [self._view(order, set(filters["included"])) for order in page],
                  "lastUpdatedBefore": filters["before"]} if filters["field"] == "lastUpdatedTime" else {
            "orders": [self._view(order, set(filters["included"])) for order in page],
            "createdBefore": filters["before"]}
        if offset + filters["size"] < len(matching):
            state = {"filters": filters, "offset": offset + filters["size"], "issued": self.clock()}
            answer["pagination"] = {"nextToken": base64.urlsafe_b64encode(json.dumps(state).encode()).decode()}
        return 200, answer

    def get_order(self, order_id, query):
        with self._lock:
            order = self.orders.get(order_id)
        if not order:
            raise SimError(404, "NotFound", "The order was not found.")
        included = {v for raw in query.get("includedData", []) for v in raw.split(",") if v}
        return 200, {"order": self._view(order, included)}

    def confirm_shipment(self, order_id, body):
        with self._lock:
            order = self.orders.get(order_id)
            if not order:
                raise SimError(404, "NotFound", "The order was not found.")
            if order["fulfillment"].get("fulfilledBy") != "MERCHANT":
                raise SimError(400, "InvalidInput", "Shipments of orders fulfilled by Amazon cannot be confirmed.")
            if body.get("marketplaceId") != order["salesChannel"].get("marketplaceId"):
                raise SimError(400, "InvalidInput", "marketplaceId does not match the order.")
            package = body.get("packageDetail") or {}
            for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"):
                if not package.get(name):
                    raise SimError(400, "InvalidInput", f"packageDetail.{name} is required.")
            if order["fulfillment"]["fulfillmentStatus"] in ("CANCELLED", "PENDING"):
                raise SimError(400, "InvalidInput", "The order cannot be shipped in its current status.")
            if any(p["packageReferenceId"] == str(package["packageReferenceId"]) for p in order.get("packages") or []):
                raise SimError(400, "InvalidInput", "The packageReferenceId has already been used for this order.")
            items = {item["orderItemId"]: item for item in order["orderItems"]}
            for line in package["orderItems"]:
                item = items.get(line.get("orderItemId"))
                if not item:
                    raise SimError(400, "InvalidInput", "Unknown orderItemId.")
                item_f = item.setdefault("fulfillment", {"quantityFulfilled": 0,
                                                         "quantityUnfulfilled": item["quantityOrdered"]})
                if not 0 < int(line.get("quantity") or 0) <= item_f["quantityUnfulfilled"]:
                    raise SimError(400, "InvalidInput", "The quantity exceeds the quantity left to ship.")
            for line in package["orderItems"]:
                item_f = items[line["orderItemId"]]["fulfillment"]
                item_f["quantityFulfilled"] += int(line["quantity"])
                item_f["quantityUnfulfilled"] -= int(line["quantity"])
            done = all(item["fulfillment"]["quantityUnfulfilled"] == 0 for item in order["orderItems"])
            order["fulfillment"]["fulfillmentStatus"] = "SHIPPED" if done else "PARTIALLY_SHIPPED"
            order.setdefault("packages", []).append({
                "packageReferenceId": str(package["packageReferenceId"]), "createdTime": iso(self.now()),
                "packageStatus": {"status": "SHIPPED", "detailedStatus": "PICKED_UP"},
                "carrier": package["carrierCode"], "shipTime": package["shipDate"],
                "shippingService": package.get("shippingMethod") or "", "trackingNumber": package["trackingNumber"],
                "packageItems": [{"orderItemId": line["orderItemId"], "quantity": int(line["quantity"])}
                                 for line in package["orderItems"]],
            })
            order["lastUpdatedTime"] = iso(self.now())
            self.shipments.append({"orderId": order_id, **copy.deepcopy(body)})
        return 204, None

    # ------------------------------------------------------------------ feeds

    def create_feed_document(self, body):
        document_id = self._next_id("amzn1.tortuga.4.na.")
        with self._lock:
            self.uploads[document_id] = {"contentType": body.get("contentType"), "content": None}
        return 201, {"feedDocumentId": document_id, "url": self._presign("upload", document_id)}

    def create_feed(self, body):
        document = self.uploads.get(body.get("inputFeedDocumentId"))
        if not document or document["content"] is None:
            raise SimError(400, "InvalidInput", "The feed document has not been uploaded.")
        if body.get("feedType") != "JSON_LISTINGS_FEED":
            raise SimError(400, "InvalidInput", "Only JSON_LISTINGS_FEED is accepted (the flat-file and XML listings "
                           "feeds no longer work since 2025-07-31).")
        if not body.get("marketplaceIds"):
            raise SimError(400, "InvalidInput", "marketplaceIds is required.")
        feed_id = self._next_id("")
        report = self._process_listings(document["content"], feed_id)
        result_id = self._next_id("amzn1.tortuga.4.na.")
        with self._lock:
            self.documents[result_id] = {"content": gzip.compress(json.dumps(report).encode()), "compressed": True}
            self.feeds[feed_id] = {
                "feedId": feed_id, "feedType": body["feedType"], "marketplaceIds": body["marketplaceIds"],
                "createdTime": iso(self.now()), "processingStatus": "IN_QUEUE", "resultFeedDocumentId": result_id,
                "polls": 0, "messages": report["summary"]["messagesProcessed"],
            }
        return 202, {"feedId": feed_id}

    def _process_listings(self, content, feed_id):
        try:
            feed = json.loads(content)
            messages = feed["messages"]
        except (ValueError, KeyError, TypeError):
            return {"header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed_id},
                    "issues": [{"code": "100001", "severity": "ERROR", "message": "The feed is not valid JSON."}],
                    "summary": {"errors": 1, "warnings": 0, "messagesProcessed": 0, "messagesAccepted": 0,
                                "messagesInvalid": 0}}
        issues, accepted = [], 0
        header = feed.get("header") or {}
        for message in messages:
            sku, message_id = message.get("sku"), message.get("messageId")
            problem = None
            if header.get("sellerId") != self.seller_id:
                problem = ("4000003", "The sellerId of the feed header does not match the seller.")
            elif message.get("operationType") != "PARTIAL_UPDATE":
                problem = ("90000", "Only PARTIAL_UPDATE is simulated.")
            elif sku in self.unknown_skus:
                problem = ("4000001", f"The SKU '{sku}' does not match any SKU in your catalog.")
            else:
                availability = ((message.get("attributes") or {}).get("fulfillment_availability") or [{}])[0]
                quantity = availability.get("quantity")
                if availability.get("fulfillment_channel_code") != "DEFAULT":
                    problem = ("90220", "'[fulfillment_availability]' needs fulfillment_channel_code DEFAULT.")
                elif not isinstance(quantity, int) or quantity < 0:
                    problem = ("99010", "The value of 'quantity' must be a whole number of 0 or more.")
                else:
                    with self._lock:
                        self.listing_quantities[sku] = quantity
            if problem:
                issues.append({"messageId": message_id, "sku": sku, "code": problem[0], "severity": "ERROR",
                               "message": problem[1], "attributeName": "fulfillment_availability"})
            else:
                accepted += 1
        return {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed_id},
            "issues": issues,
            "summary": {"errors": len(issues), "warnings": 0, "messagesProcessed": len(messages),
                        "messagesAccepted": accepted, "messagesInvalid": len(messages) - accepted},
        }

    def get_feed(self, feed_id):
        with self._lock:
            feed = self.feeds.get(feed_id)
            if not feed:
                raise SimError(404, "NotFound", "The feed was not found.")
            feed["polls"] += 1
            answer = {k: v for k, v in feed.items() if k not in ("polls", "messages")}
            if feed["polls"] <= self.feed_processing_polls:
                answer["processingStatus"] = "IN_PROGRESS"
                answer.pop("resultFeedDocumentId")
            else:
                feed["processingStatus"] = answer["processingStatus"] = "DONE"
                answer["processingStartTime"] = answer["processingEndTime"] = iso(self.now())
        return 200, answer

    def get_document(self, document_id, kind="feedDocumentId"):
        document = self.documents.get(document_id)
        if not document:
            raise SimError(404, "NotFound", "The document was not found.")
        answer = {kind: document_id, "url": self._presign("download", document_id)}
        if document["compressed"]:
            answer["compressionAlgorithm"] = "GZIP"
        return 200, answer

    # ------------------------------------------------------------------ inventory, reports

    def inventory_summaries(self, query):
        one = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        if one("granularityType") != "Marketplace" or not one("granularityId"):
            raise SimError(400, "InvalidInput", "granularityType Marketplace and granularityId are required.")
        marketplace = one("granularityId")
        token = one("nextToken")
        offset = 0
        if token:
            with self._lock:
                issued = self._tokens_by_page.get(token)
            if not issued or self.clock() - issued[1] > 30:
                raise SimError(400, "InvalidInput", "The nextToken has expired or is not valid.")
            offset = issued[0]
        summaries = self.inventory.get(marketplace, [])
        page = summaries[offset: offset + INVENTORY_PAGE]
        answer = {"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": marketplace},
                              "inventorySummaries": copy.deepcopy(page)}}
        if offset + INVENTORY_PAGE < len(summaries):
            next_token = base64.urlsafe_b64encode(f"{marketplace}:{offset + INVENTORY_PAGE}:{time.time_ns()}".encode()
                                                  ).decode()
            with self._lock:
                self._tokens_by_page[next_token] = (offset + INVENTORY_PAGE, self.clock())
            answer["pagination"] = {"nextToken": next_token}
        return 200, answer

    def get_reports(self, query):
        one = lambda name: (query.get(name) or [None])[0]  # noqa: E731
        token = one("nextToken")
        if token:
            offset, filters = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        else:
            types = [v for raw in query.get("reportTypes", []) for v in raw.split(",") if v]
            if not types:
                raise SimError(400, "InvalidInput", "reportTypes or nextToken is required.")
            since = one("createdSince")
            oldest = self.now() - timedelta(days=90)
            filters = {"types": types, "since": iso(max(parse_iso(since), oldest) if since else oldest),
                       "size": int(one("pageSize") or 10)}
            offset = 0
        with self._lock:
            matching = [r for r in self.reports if r["reportType"] in filters["types"]
                        and parse_iso(r["createdTime"]) >= parse_iso(filters["since"])]
        matching.sort(key=lambda r: r["createdTime"], reverse=True)  # Amazon lists the newest first
        page = matching[offset: offset + filters["size"]]
        answer = {"reports": copy.deepcopy(page)}
        if offset + filters["size"] < len(matching):
            answer["nextToken"] = base64.urlsafe_b64encode(json.dumps([offset + filters["size"], filters]).encode()
                                                           ).decode()
        return 200, answer


def _operation(method, path):
    parts = [p for p in path.split("/") if p]
    if path.startswith("/orders/2026-01-01/orders"):
        return ("searchOrders", None) if len(parts) == 3 else ("getOrder", parts[3])
    if path.startswith("/orders/v0/orders/") and path.endswith("/shipmentConfirmation") and method == "POST":
        return "confirmShipment", parts[3]
    if path == "/feeds/2021-06-30/documents" and method == "POST":
        return "createFeedDocument", None
    if path == "/feeds/2021-06-30/feeds" and method == "POST":
        return "createFeed", None
    if path.startswith("/feeds/2021-06-30/feeds/"):
        return "getFeed", parts[3]
    if path.startswith("/feeds/2021-06-30/documents/"):
        return "getFeedDocument", parts[3]
    if path == "/fba/inventory/v1/summaries":
        return "getInventorySummaries", None
    if path == "/reports/2021-06-30/reports":
        return "getReports", None
    if path.startswith("/reports/2021-06-30/documents/"):
        return "getReportDocument", parts[3]
    return None, None


class _Handler(BaseHTTPRequestHandler):
    sim: AmazonSimulator = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, payload=None, headers=None, raw=None, content_type="application/json"):
        body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def _dispatch(self, method):
        sim = self.sim
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self._body()
        if url.path == "/auth/o2/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            status, payload = sim.lwa_token(form)
            return self._send(status, payload)
        if url.path.startswith("/s3/"):
            return self._s3(method, url, query, raw)
        operation, ident = _operation(method, url.path)
        if operation is None:
            return self._send(404, {"errors": [{"code": "NotFound", "message": "Resource not found."}]})
        rate = {"x-amzn-RateLimit-Limit": str(RATE_LIMITS.get(operation, (1, 1))[0]),
                "x-amzn-RequestId": sim._next_id("req-")}
        try:
            sim._authorize({k.lower(): v for k, v in self.headers.items()})
            fault = sim._fault(operation)
            if fault:
                status, delay = fault
                if status == "timeout":
                    time.sleep(delay)  # the client gave up meanwhile; the request is not applied
                    raise SimError(504, "GatewayTimeout", "The request timed out.")
                raise SimError(status, "InternalFailure", "We encountered an internal error. Please try again.")
            sim._check_rate(operation)
            with sim._lock:
                sim.calls[operation] += 1
                sim.requests.append((operation, {k: v for k, v in query.items()}))
            body = json.loads(raw) if raw else {}
            if operation == "searchOrders":
                status, payload = sim.search_orders(query)
            elif operation == "getOrder":
                status, payload = sim.get_order(ident, query)
            elif operation == "confirmShipment":
                status, payload = sim.confirm_shipment(ident, body)
            elif operation == "createFeedDocument":
                status, payload = sim.create_feed_document(body)
            elif operation == "createFeed":
                status, payload = sim.create_feed(body)
            elif operation == "getFeed":
                status, payload = sim.get_feed(ident)
            elif operation == "getFeedDocument":
                status, payload = sim.get_document(ident)
            elif operation == "getInventorySummaries":
                status, payload = sim.inventory_summaries(query)
            elif operation == "getReports":
                status, payload = sim.get_reports(query)
            else:
                status, payload = sim.get_document(ident, kind="reportDocumentId")
        except SimError as error:
            return self._send(error.status, {"errors": [{"code": error.code, "message": error.message}]},
                              headers={**rate, **error.headers})
        return self._send(status, payload, headers=rate)

    def _s3(self, method, url, query, raw):
        sim = self.sim
        _, _s3, kind, document_id = url.path.split("/", 3)
        expires = int((query.get("X-Amz-Expires") or ["0"])[0])
        if sim.clock() > expires:
            return self._send(403, raw=b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"
                              b"</Error>", content_type="application/xml")
        if kind == "upload" and method == "PUT":
            with sim._lock:
                if document_id not in sim.uploads:
                    return self._send(404, raw=b"<Error><Code>NoSuchKey</Code></Error>", content_type="application/xml")
                sim.uploads[document_id]["content"] = raw
            return self._send(200, raw=b"")
        if kind == "download" and method == "GET":
            document = sim.documents.get(document_id)
            if not document:
                return self._send(404, raw=b"<Error><Code>NoSuchKey</Code></Error>", content_type="application/xml")
            return self._send(200, raw=document["content"], content_type="application/octet-stream")
        return self._send(405, raw=b"")


# ----------------------------------------------------------------------------- generated data


def make_order(order_id, sku="MUG-CLASSIC", quantity=1, unit_price="15.00", shipping="4.99", tax=None,
               currency="USD", marketplace_id="ATVPDKIKX0DER", marketplace_name="Amazon.com",
               fulfilled_by="MERCHANT", status="UNSHIPPED", updated=None, created=None, item_id=None,
               buyer_email=None, facilitator=False, promotion=None, gift_wrap=None):
    """A full v2026 ``Order`` (every dataset) shaped like the model's example and the fixtures."""
    created = created or updated or "2026-11-10T17:36:52Z"
    updated = updated or created
    item_id = item_id or f"{abs(hash(order_id)) % 10**14:014d}"
    item_total = f"{float(unit_price) * quantity:.2f}"

    def money(amount):
        return {"amount": str(amount), "currencyCode": currency}

    breakdowns = [{"type": "ITEM", "subtotal": money(item_total)}]
    if shipping:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping)})
    if gift_wrap:
        breakdowns.append({"type": "GIFT_WRAP", "subtotal": money(gift_wrap)})
    if tax:
        breakdowns.append({"type": "TAX", "subtotal": money(tax),
                           "detailedBreakdowns": [{"subtype": "ITEM", "value": money(tax)}]})
    if promotion:
        breakdowns.append({"type": "DISCOUNT", "subtotal": money(f"-{promotion}"),
                           "detailedBreakdowns": [{"subtype": "ITEM", "value": money(f"-{promotion}")}]})
    total = sum(float(b["subtotal"]["amount"]) for b in breakdowns)
    item = {
        "orderItemId": item_id, "quantityOrdered": quantity,
        "product": {"asin": "B0CX3M8RQZ", "title": sku.replace("-", " ").title(), "sellerSku": sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": {"unitPrice": money(unit_price)}},
        "proceeds": {"proceedsTotal": money(f"{total:.2f}"), "breakdowns": breakdowns},
        "fulfillment": {"quantityFulfilled": quantity if status == "SHIPPED" else 0,
                        "quantityUnfulfilled": 0 if status == "SHIPPED" else quantity},
    }
    if facilitator:
        item["tax"] = {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR",
                                           "responsibleParty": "Amazon Services, Inc."}]}
    if promotion:
        item["promotion"] = {"breakdowns": [{"promotionId": "PROMO-SIM-1"}]}
    order_breakdowns = [{"type": b["type"], "subtotal": b["subtotal"]} for b in breakdowns]
    return {
        "orderId": order_id, "createdTime": created, "lastUpdatedTime": updated,
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace_id, "marketplaceName": marketplace_name},
        "buyer": {"buyerName": "Sam Buyer", "buyerEmail": buyer_email or f"{order_id[-7:]}@marketplace.amazon.com"},
        "recipient": {"deliveryAddress": {
            "name": "Sam Buyer", "addressLine1": "2718 SE Belmont St", "city": "Portland", "stateOrRegion": "OR",
            "postalCode": "97214", "countryCode": "US", "phone": "+1 503-555-0147", "addressType": "RESIDENTIAL"}},
        "proceeds": {"grandTotal": money(f"{total:.2f}"), "breakdowns": order_breakdowns},
        "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": fulfilled_by,
                        "fulfillmentServiceLevel": "STANDARD"},
        "orderItems": [item],
    }
