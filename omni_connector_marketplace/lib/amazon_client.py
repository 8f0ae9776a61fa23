"""The Amazon Selling Partner API adapter, on ``python-amazon-sp-api`` 2.1.x (no ``odoo`` import).

What the library does and what this adapter adds (read in the library's source):

* **No base-URL argument.** Each API object is built for a ``Marketplaces`` member, then its
  ``endpoint`` is set to the backend's region endpoint (or the simulator's). The library computes
  the ``host`` header as ``endpoint[8:]``, which is only right for ``https://``: the API classes
  used here are subclassed (:class:`_HostHeader`) so the header is the URL's real host, for
  ``http://`` (the local simulator) and ``https://`` alike.
* **The LWA token endpoint** is ``https://api.amazon.com/auth/o2/token``, fixed in
  ``AccessTokenClient``; it is replaced through ``auth_token_client_class=`` by a subclass bound
  to the configured token URL (:func:`_token_client_class`).
* **Access tokens are cached per process** by the library, keyed by the refresh token alone: a
  rotated LWA secret or another app kept the old token. Tokens are cached here instead, keyed by
  a fingerprint of client id, secret, refresh token and token URL (:data:`_TOKENS`); a credential
  change on the backend builds a new client (new fingerprint) and :meth:`AmazonClient.close`
  forgets the old client's token. A 403 that says the token is invalid drops it too.
* **Marketplace parameters.** The library appends ``MarketplaceId``, ``MarketplaceIds``,
  ``marketplace_ids`` and ``marketplaceIds`` to GET requests that name none; calls here always
  name ``marketplaceIds`` where the operation takes it.
* **Errors.** HTTP 429 raises ``SellingApiRequestThrottledException`` whose ``.headers`` carry
  ``x-amzn-RateLimit-Limit``; 5xx and transport failures are transient. Responses are classified
  on their HTTP status before the library parses them (a 503 with an HTML body would otherwise
  pass as an empty success). Every failure becomes the pipeline's :class:`TransientError` (with
  ``retry_after``) or :class:`BusinessError`.
* **No sleeping in workers.** The library's ``time.sleep`` retry decorators are never used. Each
  operation has a client-side token bucket at Amazon's published rate (corrected by the
  ``x-amzn-RateLimit-Limit`` header Amazon answers with); a call that would wait longer than
  ``max_wait`` (default 2 s) raises :class:`AmazonThrottled` with the ``retry_after`` at which the
  bucket has a token again, so the event or cron is retried at the right time.
* **Call metrics.** Every request sent is recorded in base's call metrics buffer
  (``call_metrics.timed``, flushed with the event's or the poll's own transaction) under the SP-API
  operation name (``searchOrders``, ``getOrder``, ``confirmShipment``, ``createFeedDocument``,
  ``uploadFeedDocument``, ``createFeed``, ``getFeed``, ``getFeedDocument``,
  ``getInventorySummaries``, ``getReports``, ``getReportDocument``; ``getLwaAccessToken`` for the
  LWA token calls): 429 counts as throttled, 4xx/5xx and no answer as errors. A call our own bucket
  refused was never sent and is not counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from urllib.parse import urlsplit

import httpx
from sp_api.api import Feeds, Inventories, Orders, OrdersV0, Reports
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import Marketplaces
from sp_api.base.exceptions import SellingApiException

try:
    from odoo.addons.omni_connector_base.pipeline import call_metrics
    from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, TransientError
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import call_metrics
    from omni_connector_base.pipeline.errors import BusinessError, TransientError

ORDERS_VERSION = "2026-01-01"
FEEDS_VERSION = "2021-06-30"
SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
LISTINGS_FEED_TYPE = "JSON_LISTINGS_FEED"
# Call metrics names of the requests that are no SP-API operation of their own.
LWA_OPERATION = "getLwaAccessToken"
UPLOAD_OPERATION = "uploadFeedDocument"
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret
REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
# The datasets the connector reads (v2026 grants buyer data by role: no Restricted Data Token).
INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "FULFILLMENT", "PACKAGES", "TAX", "CANCELLATION")
DEFAULT_MAX_WAIT = 2.0
SHORT_THROTTLE_RETRIES = 2
DEFAULT_TIMEOUT = 30.0
# Amazon's default usage plans (requests per second, burst), per operation.
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
# Amazon marks tokens that are no longer valid with these error codes (HTTP 403).
_TOKEN_ERRORS = ("unauthorized", "invalidaccesstoken", "expiredaccesstoken")


class AmazonError(BusinessError):
    """Amazon refused the request (4xx other than 429): a person must look."""

    def __init__(self, message, status=None, code=None, errors=None):
        super().__init__(message, category="channel_api")
        self.status = status
        self.code = code
        self.errors = errors or []


class AmazonTransientError(TransientError):
    """Amazon or the network failed for now (5xx, timeout, connection): retry later."""


class AmazonThrottled(AmazonTransientError):
    """A usage plan is exhausted (HTTP 429 or the client-side bucket): retry at ``retry_after``."""

    def __init__(self, message, retry_after, operation=None, client_side=False):
        super().__init__(message, retry_after=retry_after)
        self.operation = operation
        self.client_side = client_side  # our own bucket said so: nothing was sent


# ----------------------------------------------------------------------------- rate limits


class RateLimiter:
    """Token buckets per operation, at Amazon's rate; the clock and sleep are injectable."""

    def __init__(self, limits=None, clock=time.monotonic, sleep=time.sleep):
        self.limits = dict(limits or RATE_LIMITS)
        self.clock = clock
        self.sleep = sleep
        self._buckets = {}
        self._lock = threading.Lock()

    def _bucket(self, operation, now):
        rate, burst = self.limits.get(operation, (1.0, 1))
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = self._buckets[operation] = [float(burst), now]
        tokens, last = bucket
        bucket[0] = min(float(burst), tokens + (now - last) * rate)
        bucket[1] = now
        return bucket, rate

    def acquire(self, operation, max_wait=DEFAULT_MAX_WAIT):
        """Take a token; wait up to ``max_wait`` seconds for one, else raise :class:`AmazonThrottled`."""
        with self._lock:
            now = self.clock()
            bucket, rate = self._bucket(operation, now)
            if bucket[0] >= 1:
                bucket[0] -= 1
                return 0.0
            # A little more than the exact refill time: Amazon's bucket and ours never tick together.
            wait = (1 - bucket[0]) / rate * 1.05 + 0.01
            if wait > max_wait:
                raise AmazonThrottled(f"Amazon {operation}: usage plan exhausted", retry_after=wait,
                                      operation=operation, client_side=True)
        self.sleep(wait)
        with self._lock:
            bucket, _rate = self._bucket(operation, self.clock())
            bucket[0] = max(bucket[0] - 1, 0.0)
        return wait

    def throttled(self, operation, limit_header=None):
        """Amazon answered 429: empty the bucket, adopt the rate Amazon announced; the seconds to wait."""
        with self._lock:
            rate, burst = self.limits.get(operation, (1.0, 1))
            announced = parse_rate_limit(limit_header)
            if announced:
                rate = announced
                self.limits[operation] = (rate, burst)
            self._buckets[operation] = [0.0, self.clock()]
            return 1.0 / rate


def parse_rate_limit(value):
    """``x-amzn-RateLimit-Limit`` (requests per second, e.g. ``0.0056``) as a float, or None."""
    try:
        rate = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return rate if rate > 0 else None


# ----------------------------------------------------------------------------- tokens

_TOKENS = {}  # fingerprint -> (access token, monotonic expiry): this process's LWA tokens
_TOKENS_LOCK = threading.Lock()
TOKEN_MARGIN = 60  # seconds before expiry a token is renewed


def credentials_fingerprint(client_id, client_secret, refresh_token, token_url):
    """Key of an access token: it changes with any credential (secrets are hashed, never kept)."""
    raw = "\x1f".join((client_id or "", client_secret or "", refresh_token or "", token_url or ""))
    return hashlib.sha256(raw.encode()).hexdigest()


def forget_token(fingerprint):
    with _TOKENS_LOCK:
        _TOKENS.pop(fingerprint, None)


def _token_client_class(token_url, fingerprint, counter):
    """An ``AccessTokenClient`` bound to ``token_url`` and to this process's cache by fingerprint."""
    parts = urlsplit(token_url)

    class BoundAccessTokenClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path or "/auth/o2/token"

        def get_auth(self):
            now = time.monotonic()
            with _TOKENS_LOCK:
                cached = _TOKENS.get(fingerprint)
            if cached and cached[1] > now:
                return AccessTokenResponse(access_token=cached[0], expires_in=int(cached[1] - now))
            try:
                with call_metrics.timed(LWA_OPERATION) as call:
                    try:
                        answer = self._request(self.scheme + self.host + self.path, self.data, self.headers)
                    except AuthorizationError as error:
                        call.status = getattr(error, "status_code", None) or 0
                        raise
            except AuthorizationError as error:
                status = getattr(error, "status_code", None) or 0
                if status >= 500 or status == 429:
                    raise AmazonTransientError(f"Amazon login (LWA) unavailable (HTTP {status})") from None
                raise AmazonError(
                    f"Amazon login (LWA) refused the credentials: {error.error_code or 'error'}"
                    f" (HTTP {status}). Check the LWA client id, secret and refresh token.",
                    status=status, code=error.error_code) from None
            except (httpx.TransportError, ValueError) as error:
                raise AmazonTransientError(f"Amazon login (LWA) unreachable: {type(error).__name__}") from None
            counter["tokens"] += 1
            expires = now + max(int(answer.get("expires_in") or 3600) - TOKEN_MARGIN, 1)
            with _TOKENS_LOCK:
                _TOKENS[fingerprint] = (answer["access_token"], expires)
            return AccessTokenResponse(**answer)

    return BoundAccessTokenClient


# ----------------------------------------------------------------------------- API classes


class _HostHeader:
    """Mixin for the library's API classes: the ``host`` header from the endpoint's real host
    (the library cuts ``endpoint[8:]``, wrong for ``http://``), and responses classified on
    their HTTP status before the library parses them."""

    @property
    def headers(self):
        headers = super().headers
        headers["host"] = urlsplit(self.endpoint).netloc
        return headers

    def _check_response(self, res, res_no_data=False, bulk=False, wrap_list=False):
        self.omni_last_headers = res.headers
        status = res.status_code
        if status == 429 or status >= 500:
            try:
                errors = res.json().get("errors") or []
            except ValueError:
                errors = []
            exception = SellingApiException(errors or [{"code": str(status), "message": res.reason_phrase}],
                                            headers=res.headers)
            exception.omni_status = status
            raise exception
        return super()._check_response(res, res_no_data, bulk, wrap_list)


def _api_class(base):
    return type(f"Omni{base.__name__}", (_HostHeader, base), {})


# The implementations ``Orders(..., version="2026-01-01")`` and ``Feeds(...)`` dispatch to.
_ORDERS = _api_class(Orders._VERSION_MAP[ORDERS_VERSION])
_ORDERS_V0 = _api_class(OrdersV0)  # confirmShipment is an Orders v0 operation
_FEEDS = _api_class(Feeds._VERSION_MAP[FEEDS_VERSION])
_REPORTS = _api_class(Reports)
_INVENTORIES = _api_class(Inventories)


def _status_of(error):
    status = getattr(error, "omni_status", None) or getattr(error, "code", None)
    return status if isinstance(status, int) and status != 999 else None


class AmazonClient:
    """One seller account's SP-API connection (one region), shared by its marketplaces.

    :param client_id: LWA client id of the app
    :param client_secret: LWA client secret
    :param refresh_token: the seller's refresh token for the app
    :param region: ``na``, ``eu`` or ``fe``
    :param endpoint: SP-API endpoint override (the simulator); default the region's
    :param token_url: LWA token endpoint override (the simulator)
    :param marketplace_id: a marketplace of the account (requests that need one)
    """

    def __init__(self, client_id, client_secret, refresh_token, region="na", endpoint=None, token_url=None,
                 marketplace_id=None, timeout=DEFAULT_TIMEOUT, verify=True, limiter=None,
                 max_wait=DEFAULT_MAX_WAIT):
        if not (client_id and client_secret and refresh_token):
            raise AmazonError("The Amazon backend needs the LWA client id, client secret and refresh token.")
        self.endpoint = (endpoint or REGION_ENDPOINTS.get(region) or REGION_ENDPOINTS["na"]).rstrip("/")
        self.token_url = token_url or LWA_TOKEN_URL
        self.marketplace_id = marketplace_id or Marketplaces.US.marketplace_id
        self.timeout = timeout
        self.verify = verify
        self.max_wait = max_wait
        self.limiter = limiter or RateLimiter()
        self.calls = {}  # operation -> requests sent (benchmarks, tests)
        self.counter = {"tokens": 0}
        self.fingerprint = credentials_fingerprint(client_id, client_secret, refresh_token, self.token_url)
        self._credentials = {"lwa_app_id": client_id, "lwa_client_secret": client_secret}
        self._refresh_token = refresh_token
        self._apis = {}
        self._lock = threading.Lock()

    # -- plumbing

    def _api(self, cls, version=None):
        key = (cls, version)
        with self._lock:
            api = self._apis.get(key)
            if api is None:
                kwargs = {"version": version} if version else {}  # what Orders(..., version=...) passes on
                api = cls(
                    Marketplaces.US, refresh_token=self._refresh_token, credentials=dict(self._credentials),
                    timeout=self.timeout, verify=self.verify,
                    auth_token_client_class=_token_client_class(self.token_url, self.fingerprint, self.counter),
                    **kwargs,
                )
                api.endpoint = self.endpoint
                api.marketplace_id = self.marketplace_id
                self._apis[key] = api
        return api

    def close(self):
        """Forget this client's access token and close its connections (the backend's client
        cache calls this when the credentials changed)."""
        forget_token(self.fingerprint)
        with self._lock:
            apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            with contextlib.suppress(Exception):  # closing never fails a caller
                api.close()

    def _call(self, operation, function, *args, max_wait=None, **kwargs):
        """Run one library call: pacing, then every failure classified. A 429 whose wait is within
        ``max_wait`` (a bucket of several requests per second, our clock a little ahead of Amazon's)
        is retried after that wait, at most :data:`SHORT_THROTTLE_RETRIES` times."""
        max_wait = self.max_wait if max_wait is None else max_wait
        for attempt in range(SHORT_THROTTLE_RETRIES + 1):
            try:
                return self._call_once(operation, function, args, kwargs, max_wait)
            except AmazonThrottled as error:
                if attempt == SHORT_THROTTLE_RETRIES or (error.retry_after or 0) > max_wait or error.client_side:
                    raise
                self.limiter.sleep(error.retry_after)
        raise AssertionError("unreachable")

    def _call_once(self, operation, function, args, kwargs, max_wait):
        self.limiter.acquire(operation, max_wait)
        api = getattr(function, "__self__", None)
        if isinstance(api, _HostHeader):
            # The access token first (the library asks for it while building the request): a token
            # call is timed as getLwaAccessToken of its own, not inside the operation's latency.
            api.auth  # noqa: B018 - the property fetches or reuses the cached token
        self.calls[operation] = self.calls.get(operation, 0) + 1
        with call_metrics.timed(operation) as call:  # one line per request sent (base's call metrics)
            try:
                return function(*args, **kwargs)
            except SellingApiException as error:
                call.status = _status_of(error) or 0
                failure = self._classify(operation, error)
            except httpx.TimeoutException:
                call.status = 0
                failure = AmazonTransientError(f"Amazon {operation}: timed out")
            except httpx.TransportError as error:
                call.status = 0
                failure = AmazonTransientError(f"Amazon {operation}: connection failed ({type(error).__name__})")
        raise failure

    def _classify(self, operation, error):
        status = _status_of(error)
        headers = getattr(error, "headers", None) or {}
        errors = getattr(error, "error", None) or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code, message = first.get("code") or "", first.get("message") or ""
        if status == 429:
            wait = self.limiter.throttled(operation, headers.get("x-amzn-RateLimit-Limit"))
            return AmazonThrottled(f"Amazon {operation}: throttled (HTTP 429)", retry_after=wait, operation=operation)
        if status is None or status >= 500:
            return AmazonTransientError(f"Amazon {operation}: server error {status or ''} {code}".strip())
        if status == 403 and code.replace("_", "").lower() in _TOKEN_ERRORS:
            forget_token(self.fingerprint)
            return AmazonTransientError(f"Amazon {operation}: access token refused, a new one is requested",
                                        retry_after=1)
        return AmazonError(f"Amazon {operation} refused the request (HTTP {status}, {code}): {message}",
                           status=status, code=code, errors=errors)

    # -- orders (v2026-01-01)

    def search_orders(self, updated_after, updated_before=None, marketplace_ids=None, fulfilled_by=None,
                      statuses=None, page_size=100, pagination_token=None, included_data=INCLUDED_DATA,
                      max_wait=None):
        """One page of ``searchOrders``: ``(orders, next_token, last_updated_before)``.

        ``updated_after``/``updated_before``: ISO 8601 UTC strings; ``updated_before`` must be at
        least two minutes in the past (the caller keeps that lag). A next page is asked with the
        ``pagination_token`` alone plus the same filters (the token is valid 24 h).
        """
        params = {"lastUpdatedAfter": updated_after, "maxResultsPerPage": min(int(page_size), 100),
                  "includedData": list(included_data)}
        if updated_before:
            params["lastUpdatedBefore"] = updated_before
        params["marketplaceIds"] = list(marketplace_ids or [self.marketplace_id])
        if fulfilled_by:
            params["fulfilledBy"] = [fulfilled_by] if isinstance(fulfilled_by, str) else list(fulfilled_by)
        if statuses:
            params["fulfillmentStatuses"] = list(statuses)
        if pagination_token:
            params["paginationToken"] = pagination_token
        api = self._api(_ORDERS, ORDERS_VERSION)
        response = self._call("searchOrders", api.search_orders, max_wait=max_wait, **params)
        payload = response.payload or {}
        return payload.get("orders") or [], response.next_token, payload.get("lastUpdatedBefore")

    def get_order(self, order_id, included_data=INCLUDED_DATA):
        api = self._api(_ORDERS, ORDERS_VERSION)
        response = self._call("getOrder", api.get_order, order_id, includedData=list(included_data))
        return (response.payload or {}).get("order") or {}

    def confirm_shipment(self, order_id, marketplace_id, package_detail):
        """``confirmShipment`` (Orders API, 2 req/s, burst 10) of one package: ``package_detail`` as
        built by ``amazon_mapper.confirm_shipment_payload``."""
        api = self._api(_ORDERS_V0)
        self._call("confirmShipment", api.confirm_shipment, order_id, marketplaceId=marketplace_id,
                   packageDetail=package_detail)
        return True

    # -- feeds

    def submit_feed(self, document, marketplace_ids, feed_type=LISTINGS_FEED_TYPE,
                    content_type="application/json; charset=UTF-8"):
        """``createFeedDocument``, upload, ``createFeed``: the feed id."""
        api = self._api(_FEEDS)
        body = document.encode("utf-8") if isinstance(document, str) else document
        created = self._call("createFeedDocument", api.create_feed_document, None, content_type)
        payload = created.payload or {}
        try:
            with call_metrics.timed(UPLOAD_OPERATION) as call:
                upload = httpx.put(payload["url"], content=body, headers={"Content-Type": content_type},
                                   timeout=self.timeout, verify=self.verify)
                call.status = upload.status_code
        except httpx.TransportError as error:
            raise AmazonTransientError(f"Amazon feed upload failed ({type(error).__name__})") from None
        if upload.status_code >= 500:
            raise AmazonTransientError(f"Amazon feed upload failed (HTTP {upload.status_code})")
        if upload.status_code >= 300:
            raise AmazonError(f"Amazon refused the feed document (HTTP {upload.status_code})",
                              status=upload.status_code)
        feed = self._call("createFeed", api.create_feed, feed_type, payload["feedDocumentId"],
                          marketplaceIds=list(marketplace_ids))
        return (feed.payload or {})["feedId"]

    def get_feed(self, feed_id):
        return self._call("getFeed", self._api(_FEEDS).get_feed, feed_id).payload or {}

    def get_feed_result(self, document_id):
        """The processing report of a feed (text; gzip is undone by the library)."""
        return self._call("getFeedDocument", self._api(_FEEDS).get_feed_result_document, document_id)

    # -- FBA inventory

    def iter_inventory_summaries(self, marketplace_id, max_wait=1.0):
        """Every ``InventorySummary`` of the marketplace's FBA pool (``details=true``). The
        ``nextToken`` expires after 30 s: pages follow each other without pause (the 2 req/s
        bucket waits at most ``max_wait``)."""
        api = self._api(_INVENTORIES)
        token = None
        while True:
            params = {"details": "true", "granularityType": "Marketplace", "granularityId": marketplace_id,
                      "marketplaceIds": [marketplace_id]}
            if token:
                params["nextToken"] = token
            response = self._call("getInventorySummaries", api.get_inventory_summary_marketplace,
                                  max_wait=max_wait, **params)
            payload = response.payload or {}
            yield from payload.get("inventorySummaries") or []
            token = response.next_token
            if not token:
                return

    # -- reports

    def list_settlement_reports(self, created_since=None, max_wait=None):
        """Every settlement report (``DONE``) created since ``created_since`` (ISO 8601), oldest first.
        Settlement reports are generated by Amazon (they cannot be requested) and kept 90 days."""
        api = self._api(_REPORTS)
        reports, token = [], None
        while True:
            if token:
                params = {"nextToken": token}
            else:
                params = {"reportTypes": [SETTLEMENT_REPORT_TYPE], "processingStatuses": ["DONE"], "pageSize": 100}
                if created_since:
                    params["createdSince"] = created_since
            response = self._call("getReports", api.get_reports, max_wait=max_wait, **params)
            payload = response.payload or {}
            reports.extend(payload.get("reports") or [])
            token = payload.get("nextToken") or response.next_token
            if not token:
                break
        return sorted(reports, key=lambda report: (report.get("createdTime") or "", report.get("reportId") or ""))

    def get_report_document(self, document_id, max_wait=None):
        """A report's content (text), downloaded at once (the URL expires after 5 minutes) and
        decompressed when Amazon gzipped it."""
        api = self._api(_REPORTS)
        response = self._call("getReportDocument", api.get_report_document, document_id, download=True,
                              timeout=self.timeout, max_wait=max_wait)
        document = (response.payload or {}).get("document")
        if document is None:
            raise AmazonTransientError("Amazon report document could not be downloaded")
        return document

    # -- connection

    def test_connection(self, marketplace_ids):
        """One cheap authorised call (``searchOrders`` of the last 3 minutes' window): the number of
        orders seen."""
        from datetime import datetime, timedelta, timezone  # noqa: PLC0415

        now = datetime.now(timezone.utc).replace(microsecond=0)
        orders, _token, _before = self.search_orders(
            (now - timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
            (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z"),
            marketplace_ids=marketplace_ids, page_size=1, included_data=("FULFILLMENT",))
        return len(orders)

