"""A thin ``requests`` client for eBay's REST APIs (Fulfillment, Inventory, Finances,
Notification, Identity). No ``odoo`` import.

Why our own: ``ebaysdk`` covers only the old XML APIs (last release 2020) and ``ebay-rest``
hard-codes its hosts and token URL, which rules out a simulator.

* OAuth: a user access token from the refresh token (``grant_type=refresh_token``) and an
  application token (``client_credentials``, for the notification public key), each from a
  configurable token endpoint, renewed a minute before expiry and once more on a 401.
* Hosts: ``api_base`` (api.ebay.com) and ``finances_base`` (apiz.ebay.com), both overridable
  so the simulator stands in.
* Finances calls are signed (``lib.ebay_signature``) when a signing key is configured.
* Every failure is classified: 429, 5xx, network and unreadable bodies are
  ``EbayTransientError`` (``retry_after`` from ``Retry-After`` or a default); other 4xx are
  ``EbayApiError`` (business). The client never sleeps.
* One request method (``request``) for every call; ``on_call(method, path, status, seconds)``
  is called after each, for metrics, and ``calls`` counts them. Every HTTP request (the token
  calls and a 401's second try too) is recorded in base's call metrics buffer
  (``call_metrics.timed``) as the method and the path with ids folded
  (``GET /sell/fulfillment/v1/order/{id}``, see ``ebay_operation``).
"""

import base64
import json
import re
import time
from datetime import timezone
from urllib.parse import quote

import requests

from . import ebay_signature

try:
    from odoo.addons.omni_connector_base.pipeline import call_metrics
    from odoo.addons.omni_connector_base.pipeline import errors as _pipeline_errors
    from odoo.addons.omni_connector_base.pipeline.masking import mask_text
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import call_metrics
    from omni_connector_base.pipeline import errors as _pipeline_errors
    from omni_connector_base.pipeline.masking import mask_text

DEFAULT_API_BASE = "https://api.ebay.com"
DEFAULT_FINANCES_BASE = "https://apiz.ebay.com"
DEFAULT_TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"  # noqa: S105 (a URL)
SANDBOX_API_BASE = "https://api.sandbox.ebay.com"
SANDBOX_FINANCES_BASE = "https://apiz.sandbox.ebay.com"
SANDBOX_TOKEN_URL = "https://api.sandbox.ebay.com/identity/v1/oauth2/token"  # noqa: S105 (a URL)
USER_SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.finances",
    "https://api.ebay.com/oauth/api_scope/commerce.identity.readonly",
)
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"
ORDER_PAGE_LIMIT = 200  # getOrders' maximum
PAYOUT_PAGE_LIMIT = 200  # getPayouts' maximum
TRANSACTION_PAGE_LIMIT = 1000  # getTransactions' maximum
BULK_PRICE_QUANTITY_MAX = 25  # bulkUpdatePriceQuantity's maximum
DEFAULT_RETRY_AFTER = 60  # eBay's 429 rarely says when; the call limits reset by the hour/day
DEFAULT_TIMEOUT = 30


_VERSION_SEGMENT = re.compile(r"v\d+(?:_\w+)?")


def ebay_operation(method, path):
    """The call metrics label of a request: method and path, ids folded.

    eBay's REST paths are ``/<api>/<resource>/v<n>/<collection>/<id>/<sub-collection>/<id>``:
    after the version segment, every second segment is an id (order ids such as
    ``12-34567-89012``, SKUs, key ids), so they are folded by position, not by their look:
    ``GET /sell/fulfillment/v1/order/{id}/shipping_fulfillment``. The query is dropped."""
    segments = path.split("?", 1)[0].split("/")
    folded = []
    after_version = None
    for segment in segments:
        if after_version is None:
            folded.append(segment)
            if _VERSION_SEGMENT.fullmatch(segment):
                after_version = 0
            continue
        after_version += 1
        folded.append("{id}" if after_version % 2 == 0 and segment else segment)
    return f"{method} {'/'.join(folded)}"


class EbayError(Exception):
    def __init__(self, message, *, status=None, errors=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = list(errors or [])


class EbayTransientError(EbayError, _pipeline_errors.TransientError):
    """429, 5xx, network, timeout, unreadable body: retry later (``retry_after`` seconds)."""

    category = "channel_api"

    def __init__(self, message, retry_after=None, *, status=None, errors=None):
        super().__init__(message, status=status, errors=errors)
        self.retry_after = retry_after


class EbayApiError(EbayError, _pipeline_errors.BusinessError):
    """A 4xx eBay refuses for a reason a person must look at (bad token, unknown order...)."""

    category = "channel_api"

    def __init__(self, message, *, status=None, errors=None):
        super().__init__(message, status=status, errors=errors)
        self.record = None
        self.actions = ()
        self.data = None


def _error_summary(body):
    """``errorId message`` of eBay's ``{"errors": [...]}``, masked, at most three."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return "", []
    shown = [
        f"{e.get('errorId', '?')} {mask_text(str(e.get('message', '')))}" for e in errors[:3] if isinstance(e, dict)
    ]
    return "; ".join(shown), errors


def format_ebay_time(moment):
    """An aware or naive-UTC datetime as eBay's ``2026-11-08T00:00:00.000Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def encode_filter(text):
    """eBay's ``filter`` value with brackets and braces percent-encoded (its docs require it);
    the rest stays readable (``:`` ``,`` ``.``)."""
    return quote(text, safe=":,.-_")


class EbayClient:
    """One seller account. Build one per backend and reuse it (it keeps its tokens)."""

    def __init__(self, *, app_id, cert_id, refresh_token=None, token_url=None, api_base=None,
                 finances_base=None, signing_key=None, signing_jwe=None, marketplace_id=None,
                 scopes=USER_SCOPES, session=None, timeout=DEFAULT_TIMEOUT, on_call=None):
        self.app_id = app_id
        self.cert_id = cert_id
        self.refresh_token = refresh_token
        self.token_url = token_url or DEFAULT_TOKEN_URL
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.finances_base = (finances_base or DEFAULT_FINANCES_BASE).rstrip("/")
        self.signing_key = ebay_signature.load_private_key(signing_key) if signing_key else None
        self.signing_jwe = signing_jwe or None
        self.marketplace_id = marketplace_id
        self.scopes = tuple(scopes)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.on_call = on_call
        self.calls = 0
        self._tokens = {}  # kind -> (token, expires_at)

    # ------------------------------------------------------------------ transport

    def _send(self, method, url, operation, **kwargs):
        started = time.monotonic()
        status = None
        try:
            with call_metrics.timed(operation) as call:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
                status = call.status = response.status_code
            return response
        except requests.Timeout as error:
            raise EbayTransientError(f"eBay did not answer in {self.timeout} s", retry_after=30) from error
        except requests.RequestException as error:
            raise EbayTransientError(f"eBay unreachable ({type(error).__name__})", retry_after=30) from error
        finally:
            self.calls += 1
            if self.on_call:
                self.on_call(method, url.split("?", 1)[0], status, time.monotonic() - started)

    def _classify(self, response, what):
        status = response.status_code
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if status < 300:
            if body is None:
                raise EbayTransientError(f"{what}: eBay answered {status} with an unreadable body", retry_after=30,
                                         status=status)
            return body
        summary, errors = _error_summary(body)
        detail = f"{what}: HTTP {status}" + (f" ({summary})" if summary else "")
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After")
            try:
                retry_after = max(1, int(float(retry_after)))
            except (TypeError, ValueError):
                retry_after = DEFAULT_RETRY_AFTER if status == 429 else 30
            raise EbayTransientError(detail, retry_after=retry_after, status=status, errors=errors)
        raise EbayApiError(detail, status=status, errors=errors)

    def _token(self, kind="user", force=False):
        token, expires_at = self._tokens.get(kind, (None, 0))
        if token and not force and time.time() < expires_at - 60:
            return token
        basic = base64.b64encode(f"{self.app_id}:{self.cert_id}".encode()).decode("ascii")
        if kind == "user":
            if not self.refresh_token:
                raise EbayApiError("no eBay refresh token is configured")
            data = {"grant_type": "refresh_token", "refresh_token": self.refresh_token,
                    "scope": " ".join(self.scopes)}
        else:
            data = {"grant_type": "client_credentials", "scope": APP_SCOPE}
        response = self._send("POST", self.token_url, "POST /identity/v1/oauth2/token", data=data, headers={
            "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code in (400, 401):
            # invalid_grant / invalid_client: the refresh token expired or was revoked.
            raise EbayApiError(
                f"eBay refused the OAuth {'refresh token' if kind == 'user' else 'application credentials'} "
                f"(HTTP {response.status_code}); grant the application again and store the new token",
                status=response.status_code)
        body = self._classify(response, "OAuth token")
        token = body.get("access_token")
        if not token:
            raise EbayTransientError("eBay's token answer had no access_token", retry_after=30)
        self._tokens[kind] = (token, time.time() + int(body.get("expires_in") or 7200))
        return token

    def request(self, method, path, *, base="api", query=None, json_body=None, sign=None, auth="user",
                what=None, raw=False):
        """The one call every method goes through. ``path`` starts with ``/``; ``query`` is a
        list of ``(name, already-encoded value)`` pairs; ``base`` is ``api`` or ``finances``;
        ``sign`` defaults to True on the Finances host when a signing key is set.
        Returns the parsed JSON (``raw``: ``(status, headers, body)``)."""
        root = self.finances_base if base == "finances" else self.api_base
        url = root + path
        if query:
            url += "?" + "&".join(f"{name}={value}" for name, value in query)
        body = None
        headers = {"Accept": "application/json"}
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.marketplace_id:
            headers["X-EBAY-C-MARKETPLACE-ID"] = self.marketplace_id
        if sign is None:
            sign = base == "finances" and self.signing_key is not None
        what = what or f"{method} {path}"
        operation = ebay_operation(method, path)
        for attempt in (1, 2):
            request_headers = dict(headers)
            request_headers["Authorization"] = f"Bearer {self._token(auth, force=attempt == 2)}"
            if sign:
                if not self.signing_key:
                    raise EbayApiError("this call must be signed but no signing key is configured")
                request_headers.update(ebay_signature.sign_request(
                    method, url, body, self.signing_key, self.signing_jwe))
            response = self._send(method, url, operation, data=body, headers=request_headers)
            if response.status_code == 401 and attempt == 1:
                continue  # token revoked or expired early: one renewal, no sleep
            break
        if raw:
            if response.status_code >= 300:
                self._classify(response, what)
            return response.status_code, response.headers, response.content
        return self._classify(response, what)

    # ------------------------------------------------------------------ identity

    def get_user(self):
        """``GET /commerce/identity/v1/user/`` on the apiz host (username, account type)."""
        return self.request("GET", "/commerce/identity/v1/user/", base="finances", sign=False, what="getUser")

    # ------------------------------------------------------------------ orders

    def get_orders_page(self, since, until=None, *, limit=ORDER_PAGE_LIMIT, offset=0):
        """One page of ``getOrders`` modified since ``since`` (datetime, UTC)."""
        end = format_ebay_time(until) if until else ""
        query = [
            ("filter", encode_filter(f"lastmodifieddate:[{format_ebay_time(since)}..{end}]")),
            ("limit", str(min(int(limit), ORDER_PAGE_LIMIT))),
            ("offset", str(int(offset))),
            ("fieldGroups", "TAX_BREAKDOWN"),
        ]
        return self.request("GET", "/sell/fulfillment/v1/order", query=query, what="getOrders")

    def iter_orders(self, since, until=None, *, limit=ORDER_PAGE_LIMIT, start_offset=0):
        """Every order modified in the window, page by page, as ``(offset, order)``."""
        offset = start_offset
        while True:
            page = self.get_orders_page(since, until, limit=limit, offset=offset)
            orders = page.get("orders") or []
            for index, order in enumerate(orders):
                yield offset + index, order
            offset += len(orders)
            if not orders or offset >= int(page.get("total") or 0):
                return

    def get_order(self, order_id):
        return self.request("GET", f"/sell/fulfillment/v1/order/{quote(order_id, safe='')}",
                            query=[("fieldGroups", "TAX_BREAKDOWN")], what="getOrder")

    def create_shipping_fulfillment(self, order_id, payload):
        """``POST .../order/{orderId}/shipping_fulfillment``; returns the fulfillment id eBay
        gives in the ``Location`` header (201, empty body)."""
        _status, headers, _body = self.request(
            "POST", f"/sell/fulfillment/v1/order/{quote(order_id, safe='')}/shipping_fulfillment",
            json_body=payload, raw=True, what="createShippingFulfillment")
        location = headers.get("Location") or ""
        return location.rstrip("/").rsplit("/", 1)[-1] or None

    # ------------------------------------------------------------------ stock

    def bulk_update_price_quantity(self, requests_):
        """``POST /sell/inventory/v1/bulk_update_price_quantity`` (at most 25 entries); returns
        eBay's ``responses`` (one per SKU/offer, each with ``statusCode`` and ``errors``)."""
        if len(requests_) > BULK_PRICE_QUANTITY_MAX:
            raise ValueError(f"bulkUpdatePriceQuantity takes at most {BULK_PRICE_QUANTITY_MAX} entries")
        body = self.request("POST", "/sell/inventory/v1/bulk_update_price_quantity",
                            json_body={"requests": list(requests_)}, what="bulkUpdatePriceQuantity")
        return body.get("responses") or []

    # ------------------------------------------------------------------ finances

    def iter_payouts(self, date_from, date_to=None, *, status=None, limit=PAYOUT_PAGE_LIMIT):
        """Payouts with ``payoutDate`` in the window (oldest first), signed when configured."""
        end = format_ebay_time(date_to) if date_to else ""
        flt = f"payoutDate:[{format_ebay_time(date_from)}..{end}]"
        if status:
            flt += f",payoutStatus:{{{status}}}"
        offset = 0
        while True:
            page = self.request("GET", "/sell/finances/v1/payout", base="finances", query=[
                ("filter", encode_filter(flt)), ("sort", "payoutDate"), ("limit", str(limit)),
                ("offset", str(offset))], what="getPayouts")
            payouts = page.get("payouts") or []
            yield from payouts
            offset += len(payouts)
            if not payouts or offset >= int(page.get("total") or 0):
                return

    def iter_transactions(self, payout_id, *, limit=TRANSACTION_PAGE_LIMIT):
        """Every transaction of one payout (``filter=payoutId:{...}``)."""
        offset = 0
        while True:
            page = self.request("GET", "/sell/finances/v1/transaction", base="finances", query=[
                ("filter", encode_filter(f"payoutId:{{{payout_id}}}")), ("limit", str(limit)),
                ("offset", str(offset))], what="getTransactions")
            transactions = page.get("transactions") or []
            yield from transactions
            offset += len(transactions)
            if not transactions or offset >= int(page.get("total") or 0):
                return

    # ------------------------------------------------------------------ notifications

    def get_notification_public_key(self, kid):
        """``GET /commerce/notification/v1/public_key/{kid}`` with an application token:
        ``{"algorithm": "ECDSA", "digest": "SHA1", "key": "-----BEGIN PUBLIC KEY-----..."}``."""
        return self.request("GET", f"/commerce/notification/v1/public_key/{quote(kid, safe='')}", auth="app",
                            what="getPublicKey")
