"""Shopify GraphQL Admin API client, free of any ``odoo`` import.

What comes from ``shopifyapp`` (Shopify's own Python package, the successor of the
deprecated ``ShopifyAPI``) and what is ours:

* every GraphQL request goes through :func:`shopify_app.admin_graphql_request`
  and the client-credentials grant through
  :func:`shopify_app.exchange_using_client_credentials`. Both accept an
  ``httpx.Client``; we hand them one of ours, which gives us our own timeout,
  connection pooling and -- for the local simulator -- a *base URL override*: the
  transport rewrites ``https://{shop}.myshopify.com`` to e.g.
  ``http://127.0.0.1:PORT`` so tests run the very same code path as production;
* ``shopifyapp`` is called with ``max_retries=0``: its own retry loop sleeps with
  ``time.sleep`` (not injectable), parses ``Retry-After`` with ``int()`` (Shopify
  may send ``"2.0"``) and knows nothing about the GraphQL cost bucket. Retries,
  the cost-aware throttle, error classification and the JSON decoding with
  ``parse_float=Decimal`` are implemented here, from the raw response the package
  returns in ``http_logs``;
* ``shopifyapp`` has no helper for cost throttling, pagination or the business
  mutations -- those are plain GraphQL documents below. No call needs the
  ``requests`` package: there is no REST endpoint left to call. Shopify Payments
  payouts and their balance transactions are read through GraphQL too
  (:meth:`ShopifyClient.iter_payouts`, :meth:`ShopifyClient.iter_balance_transactions`)
  and handed over REST-shaped, the shape the reconciliation addon maps.

Money is never a float: response bodies are decoded with ``parse_float=Decimal``;
Shopify's ``Money``/``Decimal`` scalars are strings and stay strings in the
REST-shaped dicts :meth:`ShopifyClient.iter_orders_updated_since` returns.

Secrets (access token, client secret) and personal data never reach a log line or
an exception message: only operation names, costs, HTTP statuses and masked
GraphQL error messages do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import shopify_app

try:
    from odoo.addons.omni_connector_base.pipeline import errors as _pipeline_errors
    from odoo.addons.omni_connector_base.pipeline.masking import mask_text
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import errors as _pipeline_errors
    from omni_connector_base.pipeline.masking import mask_text

_logger = logging.getLogger(__name__)

# API version pinned: 2026-10, the newest *stable* release today (Shopify ships one
# every quarter and supports each for at least 12 months, so 2025-10 is already out
# of support by late 2026 and would be silently "fallen forward"). It is also the
# version our webhook fixtures are delivered with (X-Shopify-API-Version), so polled
# and pushed payloads have the same shape, and it has the 2026-04 changes this client
# is written for: the @idempotent directive is mandatory on inventorySetQuantities
# and refundCreate, and every InventoryQuantityInput must carry changeFromQuantity
# (null opts out of the compare-and-swap check). Bump it deliberately, once a year,
# after reading the release notes; `api_version_answered` shows what Shopify served.
DEFAULT_API_VERSION = "2026-10"

INVENTORY_BATCH_SIZE = 250  # inventorySetQuantities accepts at most 250 quantities
DEFAULT_COST_ESTIMATE = 50  # points assumed for a query whose cost we never saw
_SHOP_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*$")
_OP_RE = re.compile(r"^\s*(query|mutation)\s+(\w+)")
_TRANSIENT_USER_ERROR_CODES = {"IDEMPOTENCY_CONCURRENT_REQUEST"}


# --------------------------------------------------------------------------- errors
class ShopifyError(Exception):
    """Base class of the client's errors (``message`` never holds secrets or PII)."""

    def __init__(self, message, *, status=None, errors=None, user_errors=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = list(errors or [])
        self.user_errors = list(user_errors or [])


class ShopifyTransientError(ShopifyError, _pipeline_errors.TransientError):
    """Network failure, timeout, 5xx, 429, malformed body: retry later.

    A subclass of the pipeline's ``TransientError`` so the event processor puts
    the event in ``retry`` with backoff, honouring ``retry_after`` (seconds).
    """

    category = "channel_api"

    def __init__(self, message, retry_after=None, *, status=None, errors=None, user_errors=None):
        super().__init__(message, status=status, errors=errors, user_errors=user_errors)
        self.retry_after = retry_after


class ShopifyThrottled(ShopifyTransientError):
    """The cost bucket (or HTTP 429) kept refusing us after the bounded retries."""

    def __init__(self, retry_after, message=None, *, status=None, errors=None):
        super().__init__(
            message or "Shopify throttled the request (retry after %.1f s)" % (retry_after or 0),
            retry_after=retry_after,
            status=status,
            errors=errors,
        )


class ShopifyApiError(ShopifyError, _pipeline_errors.BusinessError):
    """4xx, GraphQL errors or ``userErrors``: retrying the same request will not help.

    A subclass of the pipeline's ``BusinessError``: the event is ``blocked`` and a
    person sees the exception. ``user_errors`` keeps Shopify's ``{code, field,
    message}`` items so a caller can react to a specific code (e.g.
    ``CHANGE_FROM_QUANTITY_STALE``: re-read the quantity and try again).
    """

    category = "channel_api"


# ------------------------------------------------------------------------ transport
class _ShopifyTransport(httpx.HTTPTransport):
    """httpx transport that applies the base URL override and names network failures.

    ``shopifyapp`` always builds ``https://{shop}.myshopify.com/...``; with an
    override every request is re-targeted (scheme, host, port, path prefix) while
    the ``Host`` header still names the shop, as it would in production.
    """

    def __init__(self, base_url=None, **kwargs):
        super().__init__(**kwargs)
        self.last_error = None
        self._base = None
        if base_url:
            url = httpx.URL(base_url)
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError("base_url must be an absolute http(s) URL")
            self._base = (url.scheme, url.host, url.port, url.path.rstrip("/"))

    def handle_request(self, request):
        if self._base is not None:
            scheme, host, port, prefix = self._base
            request.url = request.url.copy_with(
                scheme=scheme, host=host, port=port, path=prefix + request.url.path
            )
        try:
            return super().handle_request(request)
        except httpx.TimeoutException:
            self.last_error = "timeout"
            raise
        except httpx.TransportError:
            self.last_error = "connection error"
            raise


# -------------------------------------------------------------------------- helpers
def normalize_shop_domain(shop_domain):
    """``'https://Acme-Retail.myshopify.com/'`` -> ``('acme-retail.myshopify.com', 'acme-retail')``."""
    value = (shop_domain or "").strip().lower()
    value = re.sub(r"^https?://", "", value).split("/")[0]
    name = value.removesuffix(".myshopify.com")
    if not _SHOP_RE.match(name):
        raise ValueError("shop_domain must be a *.myshopify.com domain or a shop name")
    return f"{name}.myshopify.com", name


def gid(kind, value):
    """``gid('Order', 5829417091234)`` -> ``'gid://shopify/Order/5829417091234'`` (gids pass through)."""
    value = str(value)
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def legacy_id(global_id):
    """``'gid://shopify/Order/5829417091234'`` -> ``5829417091234`` (int); None stays None."""
    if global_id in (None, ""):
        return None
    tail = str(global_id).rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else tail


def _jsonable(value):
    """Variables may carry Decimal amounts: Shopify's Money/Decimal scalars are strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _parse_retry_after(headers):
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(value, 0.0)


def _gql_string(value):
    """A GraphQL string literal (JSON string syntax is valid GraphQL)."""
    return json.dumps(str(value))


def _error_codes(errors):
    codes = []
    for err in errors or []:
        if isinstance(err, Mapping):
            codes.append(((err.get("extensions") or {}).get("code") or "").upper())
    return codes


def _errors_summary(errors, limit=3):
    if isinstance(errors, str):
        return mask_text(errors, 300)
    parts = []
    for err in (errors or [])[:limit]:
        if isinstance(err, Mapping):
            code = (err.get("extensions") or {}).get("code") or err.get("code")
            msg = err.get("message") or ""
            parts.append(f"{code}: {msg}" if code else str(msg))
        else:
            parts.append(str(err))
    return mask_text("; ".join(parts), 500)


# -------------------------------------------------------------------- GraphQL texts
MONEY_BAG = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
_TAX_LINES = "taxLines { title rate priceSet { %s } }" % MONEY_BAG
_DISCOUNT_ALLOCATIONS = (
    "discountAllocations { allocatedAmountSet { %s } discountApplication { index } }" % MONEY_BAG
)
_ADDRESS = (
    "firstName lastName company address1 address2 city zip province provinceCode country countryCodeV2 phone"
)
LINE_ITEM_FIELDS = f"""
  id sku name title variantTitle vendor quantity currentQuantity requiresShipping taxable isGiftCard
  variant {{ id legacyResourceId }}
  product {{ id legacyResourceId }}
  originalUnitPriceSet {{ {MONEY_BAG} }}
  {_TAX_LINES}
  {_DISCOUNT_ALLOCATIONS}
"""
ORDER_FIELDS = f"""
  id legacyResourceId name confirmationNumber
  createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  currencyCode presentmentCurrencyCode taxesIncluded taxExempt
  email phone sourceName test tags note
  displayFinancialStatus displayFulfillmentStatus
  paymentGatewayNames discountCodes
  customAttributes {{ key value }}
  subtotalPriceSet {{ {MONEY_BAG} }}
  totalPriceSet {{ {MONEY_BAG} }}
  totalTaxSet {{ {MONEY_BAG} }}
  totalDiscountsSet {{ {MONEY_BAG} }}
  totalShippingPriceSet {{ {MONEY_BAG} }}
  currentTotalPriceSet {{ {MONEY_BAG} }}
  currentSubtotalPriceSet {{ {MONEY_BAG} }}
  currentTotalTaxSet {{ {MONEY_BAG} }}
  totalOutstandingSet {{ {MONEY_BAG} }}
  {_TAX_LINES}
  discountApplications(first: 20) {{ nodes {{
    __typename index allocationMethod targetSelection targetType
    value {{
      __typename
      ... on MoneyV2 {{ amount currencyCode }}
      ... on PricingPercentageValue {{ percentage }}
    }}
    ... on DiscountCodeApplication {{ code }}
    ... on ManualDiscountApplication {{ title }}
    ... on AutomaticDiscountApplication {{ title }}
    ... on ScriptDiscountApplication {{ title }}
  }} }}
  customer {{
    id legacyResourceId firstName lastName tags
    defaultEmailAddress {{ emailAddress }} defaultPhoneNumber {{ phoneNumber }}
  }}
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  lineItems(first: $lineItemsFirst, after: $lineItemsAfter) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {LINE_ITEM_FIELDS} }}
  }}
  shippingLines(first: 10, includeRemovals: true) {{ nodes {{
    id code title source isRemoved
    originalPriceSet {{ {MONEY_BAG} }} discountedPriceSet {{ {MONEY_BAG} }}
    {_TAX_LINES}
    {_DISCOUNT_ALLOCATIONS}
  }} }}
  transactions(first: 20) {{
    id kind status gateway test authorizationCode processedAt
    parentTransaction {{ id }}
    amountSet {{ {MONEY_BAG} }}
  }}
"""

Q_ORDERS_UPDATED_SINCE = """
query OmniOrdersUpdatedSince($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt }
  }
}
"""

Q_ORDER = (
    """
query OmniOrder($id: ID!, $lineItemsFirst: Int!, $lineItemsAfter: String) {
  order(id: $id) { %s }
}
"""
    % ORDER_FIELDS
)

Q_ORDER_TRANSACTIONS = (
    """
query OmniOrderTransactions($id: ID!) {
  order(id: $id) {
    id
    transactions(first: 50) {
      id kind status gateway test authorizationCode processedAt
      parentTransaction { id }
      amountSet { %s }
    }
  }
}
"""
    % MONEY_BAG
)

Q_ORDER_LINE_ITEMS = (
    """
query OmniOrderLineItems($id: ID!, $lineItemsFirst: Int!, $lineItemsAfter: String) {
  order(id: $id) {
    id
    lineItems(first: $lineItemsFirst, after: $lineItemsAfter) {
      pageInfo { hasNextPage endCursor }
      nodes { %s }
    }
  }
}
"""
    % LINE_ITEM_FIELDS
)

Q_VARIANTS = """
query OmniVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId sku barcode title
      product { id title }
      inventoryItem { id tracked }
    }
  }
}
"""

M_INVENTORY_SET = """
mutation OmniInventorySetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: %s) {
    inventoryAdjustmentGroup {
      id reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""

Q_FULFILLMENT_ORDERS = """
query OmniFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id status requestStatus
        assignedLocation { name location { id } }
        lineItems(first: 50) {
          nodes { id totalQuantity remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
"""

M_FULFILLMENT_CREATE = """
mutation OmniFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status createdAt trackingInfo(first: 5) { company number url } }
    userErrors { field message }
  }
}
"""

M_REFUND_CREATE = (
    """
mutation OmniRefundCreate($input: RefundInput!) {
  refundCreate(input: $input) @idempotent(key: %s) {
    refund {
      id createdAt note
      totalRefundedSet { """
    + MONEY_BAG
    + """ }
      transactions(first: 10) {
        nodes { id kind status gateway parentTransaction { id } amountSet { """
    + MONEY_BAG
    + """ } }
      }
    }
    userErrors { field message }
  }
}
"""
)

Q_WEBHOOK_SUBSCRIPTIONS = """
query OmniWebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri format }
  }
}
"""

M_WEBHOOK_CREATE = """
mutation OmniWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

M_WEBHOOK_UPDATE = """
mutation OmniWebhookSubscriptionUpdate($id: ID!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format }
    userErrors { field message }
  }
}
"""

Q_SHOP = """
query OmniShop {
  shop { id name myshopifyDomain currencyCode ianaTimezone }
}
"""

# Shopify Payments (scope read_shopify_payments_payouts). A payout node costs about 13
# points (itself, net, summary and its ten MoneyV2), a balance transaction about 6.
PAYOUT_PAGE_SIZE = 50
PAYOUT_NODE_COST = 13
BALANCE_TRANSACTION_PAGE_SIZE = 100
BALANCE_TRANSACTION_NODE_COST = 6
_PAYOUT_SUMMARY = (
    # GraphQL ShopifyPaymentsPayoutSummary field -> REST payout ``summary`` key
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

Q_PAYOUTS = """
query OmniPayouts($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    id
    payouts(first: $first, after: $after, query: $query, sortKey: ISSUED_AT) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id legacyResourceId issuedAt status transactionType
        net { amount currencyCode }
        summary { %s }
      }
    }
  }
}
""" % " ".join(f"{name} {{ amount currencyCode }}" for name, _key in _PAYOUT_SUMMARY)

Q_BALANCE_TRANSACTIONS = """
query OmniPayoutBalanceTransactions($first: Int!, $after: String, $query: String!) {
  shopifyPaymentsAccount {
    id
    balanceTransactions(first: $first, after: $after, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id type test transactionDate adjustmentReason
        sourceId sourceType sourceOrderTransactionId
        amount { amount currencyCode }
        fee { amount currencyCode }
        net { amount currencyCode }
        associatedOrder { id }
        associatedPayout { id status }
      }
    }
  }
}
"""


# --------------------------------------------------------------------------- client
class ShopifyClient:
    """One shop's GraphQL Admin API, with cost-aware throttling.

    ``sleep`` and ``clock`` are injectable so tests drive time; ``base_url``
    re-targets every request (the local simulator) without changing any other code.
    The client is safe to share between threads of one process: the local view of
    the cost bucket is guarded by a lock and a request reserves its estimated cost
    before it is sent. Separate processes each keep their own view and rely on the
    THROTTLED retry path.
    """

    def __init__(
        self,
        shop_domain,
        access_token=None,
        client_id=None,
        client_secret=None,
        api_version=DEFAULT_API_VERSION,
        base_url=None,
        timeout=10,
        sleep=time.sleep,
        *,
        clock=time.monotonic,
        max_throttle_retries=5,
        max_wait=60.0,
    ):
        self.shop_domain, self.shop = normalize_shop_domain(shop_domain)
        self.access_token = access_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.base_url = base_url
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self.max_throttle_retries = max_throttle_retries
        self.max_wait = max_wait
        self.api_version_answered = None
        self.last_cost = None
        self.token_expires = None
        self._bucket = None  # (maximum, available, restore_rate, observed_at)
        self._cost_cache = {}
        self._lock = threading.Lock()
        self._transport = _ShopifyTransport(base_url)
        self._http = httpx.Client(timeout=timeout, transport=self._transport)

    def __repr__(self):  # never shows a secret
        return f"<ShopifyClient {self.shop_domain} api={self.api_version}>"

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ cost bucket
    @property
    def throttle_status(self):
        """Last known ``(maximumAvailable, currentlyAvailable, restoreRate)`` or None."""
        with self._lock:
            return None if self._bucket is None else self._bucket[:3]

    def _update_bucket(self, cost):
        status = (cost or {}).get("throttleStatus") if isinstance(cost, Mapping) else None
        if not isinstance(status, Mapping):
            return
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self._bucket = (maximum, available, rate, self._clock())

    def _reserve_budget(self, requested):
        """Block until the bucket can pay ``requested`` points, then reserve them.

        Never sends a request the server would throttle according to our view of the
        bucket; a wait longer than ``max_wait`` raises :class:`ShopifyThrottled` so a
        cron worker is not parked for minutes (the event is retried later instead).
        """
        while True:
            with self._lock:
                if self._bucket is None or not requested:
                    return
                maximum, available, rate, seen = self._bucket
                if requested > maximum or rate <= 0:
                    return  # can never be paid for: let Shopify answer with its error
                now = self._clock()
                projected = min(maximum, available + max(0.0, now - seen) * rate)
                if projected >= requested:
                    self._bucket = (maximum, projected - requested, rate, now)
                    return
                # one point of margin against rounding on either side
                wait = (requested - projected + 1) / rate
            if wait > self.max_wait:
                raise ShopifyThrottled(wait)
            _logger.debug("Shopify %s: waiting %.2fs for %s cost points", self.shop, wait, requested)
            self._sleep(wait)

    def _throttled_wait(self, cost, requested):
        status = (cost or {}).get("throttleStatus") or {}
        try:
            available = float(status.get("currentlyAvailable", 0))
            rate = float(status.get("restoreRate") or 0)
        except (TypeError, ValueError):
            return 1.0
        need = float((cost or {}).get("requestedQueryCost") or requested or DEFAULT_COST_ESTIMATE)
        if rate <= 0:
            return 1.0
        return max((need - available + 1) / rate, 0.05)

    @staticmethod
    def _cost_key(query, variables):
        match = _OP_RE.match(query or "")
        name = match.group(2) if match else hashlib.sha256((query or "").encode()).hexdigest()[:16]
        ints = tuple(
            sorted(
                (k, v) for k, v in (variables or {}).items() if isinstance(v, int) and not isinstance(v, bool)
            )
        )
        return name, ints

    # ------------------------------------------------------------- transport
    def _raw_post(self, query, variables):
        """One POST through ``shopifyapp``; returns ``(status, headers, body_text)``."""
        payload_variables = _jsonable(variables) or None
        json.dumps(payload_variables)  # a TypeError here is the caller's bug, not Shopify's answer
        self._transport.last_error = None
        try:
            result = shopify_app.admin_graphql_request(
                query,
                shop=self.shop,
                access_token=self.access_token,
                api_version=self.api_version,
                variables=payload_variables,
                max_retries=0,
                http_client=self._http,
            )
        except (ValueError, TypeError, AttributeError):
            # shopifyapp decodes a 200 body itself and chokes on a JSON array/scalar
            raise ShopifyTransientError("Shopify answered with a malformed body") from None
        res = result.http_logs[-1].res if result.http_logs else result.response
        if res.status == 0:
            kind = self._transport.last_error or "network error"
            raise ShopifyTransientError(f"{kind} talking to Shopify ({result.log.code})")
        headers = {str(k).lower(): v for k, v in (res.headers or {}).items()}
        return res.status, headers, res.body or ""

    def _ensure_token(self):
        if self.access_token:
            return
        if self.client_id and self.client_secret:
            self.fetch_token_client_credentials()
            return
        raise ShopifyApiError("no Shopify access token configured", status=401)

    # --------------------------------------------------------------- graphql
    def graphql(self, query, variables=None, *, cost=None, raise_user_errors=True):
        """Run one GraphQL document and return its ``data``.

        ``cost`` is an estimate of the requested cost used until Shopify has told us
        the real one for this operation. Raises :class:`ShopifyThrottled`,
        :class:`ShopifyTransientError` (429 after retries, 5xx, timeouts, connection
        errors, malformed JSON) or :class:`ShopifyApiError` (4xx, GraphQL errors and
        -- unless ``raise_user_errors`` is false -- non-empty ``userErrors``).
        """
        key = self._cost_key(query, variables)
        op = key[0]
        throttles = 0
        token_refreshed = False
        while True:
            self._ensure_token()
            estimate = self._cost_cache.get(key, cost or DEFAULT_COST_ESTIMATE)
            self._reserve_budget(estimate)
            status, headers, text = self._raw_post(query, variables)
            if headers.get("x-shopify-api-version"):
                self.api_version_answered = headers["x-shopify-api-version"]

            if status == 429:
                throttles += 1
                retry_after = _parse_retry_after(headers)
                if retry_after is None:
                    retry_after = self._throttled_wait(self.last_cost, estimate)
                if throttles > self.max_throttle_retries or retry_after > self.max_wait:
                    raise ShopifyThrottled(retry_after, status=429)
                _logger.info("Shopify %s: HTTP 429 on %s, retrying in %.2fs", self.shop, op, retry_after)
                self._sleep(retry_after)
                continue
            if status >= 500:
                raise ShopifyTransientError(
                    f"Shopify answered HTTP {status} to {op}",
                    retry_after=_parse_retry_after(headers),
                    status=status,
                )
            if status == 401 and not token_refreshed and self.client_id and self.client_secret:
                # client-credentials tokens expire (24 h): get a new one once
                token_refreshed = True
                self.access_token = None
                continue

            try:
                body = json.loads(text, parse_float=Decimal) if text else None
            except ValueError:
                body = None
            if status >= 400:
                errors = body.get("errors") if isinstance(body, dict) else None
                raise ShopifyApiError(
                    f"Shopify answered HTTP {status} to {op}: {_errors_summary(errors) or 'no detail'}",
                    status=status,
                    errors=errors if isinstance(errors, list) else [],
                )
            if not isinstance(body, dict):
                raise ShopifyTransientError(f"Shopify answered {op} with a malformed body", status=status)

            cost_info = (body.get("extensions") or {}).get("cost")
            if isinstance(cost_info, Mapping):
                self.last_cost = cost_info
                self._update_bucket(cost_info)
                if cost_info.get("requestedQueryCost") is not None:
                    self._cost_cache[key] = float(cost_info["requestedQueryCost"])
            errors = body.get("errors")
            if errors:
                if "THROTTLED" in _error_codes(errors) or _errors_summary(errors).lower() == "throttled":
                    throttles += 1
                    wait = self._throttled_wait(cost_info, estimate)
                    if throttles > self.max_throttle_retries or wait > self.max_wait:
                        raise ShopifyThrottled(wait, errors=errors)
                    _logger.info("Shopify %s: THROTTLED on %s, retrying in %.2fs", self.shop, op, wait)
                    self._sleep(wait)
                    continue
                raise ShopifyApiError(
                    f"Shopify GraphQL error on {op}: {_errors_summary(errors)}",
                    status=status,
                    errors=errors if isinstance(errors, list) else [],
                )
            data = body.get("data")
            if not isinstance(data, dict):
                raise ShopifyTransientError(f"Shopify answered {op} without data", status=status)
            if raise_user_errors:
                self._raise_user_errors(op, data)
            return data

    @staticmethod
    def _raise_user_errors(op, data):
        for payload in data.values():
            user_errors = payload.get("userErrors") if isinstance(payload, Mapping) else None
            if not user_errors:
                continue
            codes = {str(e.get("code") or "").upper() for e in user_errors if isinstance(e, Mapping)}
            message = f"Shopify refused {op}: {_errors_summary(user_errors)}"
            if codes & _TRANSIENT_USER_ERROR_CODES:
                raise ShopifyTransientError(message, retry_after=1.0, user_errors=user_errors)
            raise ShopifyApiError(message, user_errors=user_errors)

    # ------------------------------------------------------------------ token
    def fetch_token_client_credentials(self):
        """Client-credentials grant at ``https://{shop}/admin/oauth/access_token``.

        Uses ``shopifyapp.exchange_using_client_credentials``. Stores the token on
        the client and returns ``{'access_token', 'scope', 'expires'}`` so the caller
        can persist it (the value is a secret: never log it).
        """
        if not (self.client_id and self.client_secret):
            raise ShopifyApiError("client id / client secret are not configured")
        self._transport.last_error = None
        try:
            result = shopify_app.exchange_using_client_credentials(
                shop=self.shop,
                app_config={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "old_client_secret": None,
                },
                http_client=self._http,
            )
        except ValueError:  # a 200 whose body is not JSON
            raise ShopifyTransientError("Shopify token endpoint answered with a malformed body") from None
        if result.ok and result.access_token and result.access_token.token:
            self.access_token = result.access_token.token
            self.token_expires = result.access_token.expires
            return {
                "access_token": self.access_token,
                "scope": result.access_token.scope,
                "expires": result.access_token.expires,
            }
        res = result.http_logs[-1].res if result.http_logs else None
        status = res.status if res is not None else 0
        if result.log.code == "network_error" or status == 0:
            kind = self._transport.last_error or "network error"
            raise ShopifyTransientError(f"{kind} during the client-credentials exchange")
        if status == 429 or status >= 500:
            headers = {str(k).lower(): v for k, v in (res.headers or {}).items()}
            raise ShopifyTransientError(
                f"Shopify token endpoint answered HTTP {status}",
                retry_after=_parse_retry_after(headers),
                status=status,
            )
        raise ShopifyApiError(
            f"client-credentials exchange refused ({result.log.code}, HTTP {status})", status=status
        )

    # ----------------------------------------------------------------- orders
    def get_order_transactions(self, order_gid):
        """The order's transactions, REST-shaped (the ``transactions`` items of
        :func:`rest_order_from_graphql`), or None when Shopify has no such order.

        One cheap request for what an ``orders/*`` webhook body lacks: the transaction ids
        payments are referenced by (a full :meth:`get_order` costs some 440 points).
        """
        data = self.graphql(Q_ORDER_TRANSACTIONS, {"id": gid("Order", order_gid)}, cost=12)
        node = data.get("order")
        if not node:
            return None
        return rest_transactions_from_graphql(node.get("transactions"))

    def get_order(self, order_gid, *, line_items_per_page=50):
        """One order, REST-shaped (see :func:`rest_order_from_graphql`), all line items."""
        variables = {
            "id": gid("Order", order_gid),
            "lineItemsFirst": line_items_per_page,
            "lineItemsAfter": None,
        }
        data = self.graphql(Q_ORDER, variables, cost=60 + 10 * line_items_per_page)
        node = data.get("order")
        if not node:
            return None
        connection = node.get("lineItems") or {}
        lines = list(connection.get("nodes") or [])
        page = connection.get("pageInfo") or {}
        while page.get("hasNextPage"):
            more = self.graphql(
                Q_ORDER_LINE_ITEMS,
                {**variables, "lineItemsAfter": page.get("endCursor")},
                cost=3 + 10 * line_items_per_page,
            )
            connection = ((more.get("order") or {}).get("lineItems")) or {}
            lines.extend(connection.get("nodes") or [])
            page = connection.get("pageInfo") or {}
        node = {**node, "lineItems": {"nodes": lines, "pageInfo": {"hasNextPage": False}}}
        return rest_order_from_graphql(node)

    def iter_orders_updated_since(self, since_iso, page_size=50, *, line_items_per_page=50) -> Iterator[dict]:
        """Yield every order updated at or after ``since_iso``, oldest update first.

        Two steps keep each request under Shopify's 1000-point single-query limit: a
        cheap ``orders(query: "updated_at:>=...")`` page of ids (cursor pagination,
        ``page_size`` per page), then one ``order(id:)`` per order with its line
        items (paginated too). Each yielded dict is REST-shaped -- the shape of the
        ``orders/*`` webhook body -- so the polling backstop feeds the very same
        mapper as the webhooks (money as decimal strings, JSON-serializable).
        """
        search = f"updated_at:>='{since_iso}'"
        after = None
        while True:
            data = self.graphql(
                Q_ORDERS_UPDATED_SINCE,
                {"first": page_size, "after": after, "query": search},
                cost=2 + page_size,
            )
            connection = data.get("orders") or {}
            for node in connection.get("nodes") or []:
                order = self.get_order(node["id"], line_items_per_page=line_items_per_page)
                if order is not None:
                    yield order
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    # --------------------------------------------------------------- variants
    def iter_variants(self, page_size=250) -> Iterator[dict]:
        """Yield ``{id, legacy_id, sku, barcode, title, product_id, inventory_item_id, tracked}``."""
        after = None
        while True:
            data = self.graphql(Q_VARIANTS, {"first": page_size, "after": after}, cost=2 + 3 * page_size)
            connection = data.get("productVariants") or {}
            for node in connection.get("nodes") or []:
                item = node.get("inventoryItem") or {}
                yield {
                    "id": node.get("id"),
                    "legacy_id": legacy_id(node.get("id")),
                    "sku": node.get("sku") or None,
                    "barcode": node.get("barcode") or None,
                    "title": node.get("title"),
                    "product_id": (node.get("product") or {}).get("id"),
                    "inventory_item_id": item.get("id"),
                    "tracked": item.get("tracked"),
                }
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    # -------------------------------------------------------------- inventory
    def set_inventory_quantities(
        self,
        changes: Sequence[tuple[str, str, int, int | None]],
        reason="correction",
        idempotency_key=None,
        *,
        name="available",
        reference_document_uri=None,
    ):
        """Set absolute quantities with ``inventorySetQuantities``, 250 per call.

        ``changes`` holds ``(inventory_item_gid, location_gid, quantity,
        change_from_quantity)``; ``change_from_quantity`` is the quantity we believe
        Shopify has (compare-and-swap: Shopify answers ``CHANGE_FROM_QUANTITY_STALE``
        when it differs) or ``None`` to opt out -- from 2026-04 on the field must be
        sent in every case, so it always is, explicitly.

        Each batch carries ``@idempotent(key: "<idempotency_key>-<n>")``, mandatory
        since 2026-04: pass the outbox event's key so that replaying the same call
        after a timeout is applied once. Without a key a random one is used (safe
        against nothing but Shopify's requirement). Returns one
        ``inventoryAdjustmentGroup`` (or None when nothing changed) per batch.
        """
        base_key = idempotency_key or f"omni-{uuid.uuid4()}"
        results = []
        changes = list(changes)
        for index, start in enumerate(range(0, len(changes), INVENTORY_BATCH_SIZE)):
            batch = changes[start : start + INVENTORY_BATCH_SIZE]
            quantities = [
                {
                    "inventoryItemId": gid("InventoryItem", item),
                    "locationId": gid("Location", location),
                    "quantity": int(quantity),
                    "changeFromQuantity": None if change_from is None else int(change_from),
                }
                for item, location, quantity, change_from in batch
            ]
            payload = {"name": name, "reason": reason, "quantities": quantities}
            if reference_document_uri:
                payload["referenceDocumentUri"] = reference_document_uri
            key = _batch_key(base_key, index, len(changes) > INVENTORY_BATCH_SIZE)
            data = self.graphql(M_INVENTORY_SET % _gql_string(key), {"input": payload}, cost=10)
            results.append((data.get("inventorySetQuantities") or {}).get("inventoryAdjustmentGroup"))
        return results

    # ----------------------------------------------------------- fulfillments
    def fulfillment_orders(self, order_gid):
        """The order's fulfillment orders: ``[{id, status, location_id, lines: [...]}]``.

        Reads up to 5 fulfillment orders of up to 50 lines each -- one request within
        the 1000-point single-query limit, which covers real orders; larger ones would
        need paginating this query.
        """
        data = self.graphql(Q_FULFILLMENT_ORDERS, {"id": gid("Order", order_gid)}, cost=520)
        order = data.get("order") or {}
        result = []
        for node in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
            assigned = node.get("assignedLocation") or {}
            result.append(
                {
                    "id": node.get("id"),
                    "status": node.get("status"),
                    "request_status": node.get("requestStatus"),
                    "location_id": (assigned.get("location") or {}).get("id"),
                    "location_name": assigned.get("name"),
                    "lines": [
                        {
                            "id": line.get("id"),
                            "line_item_id": (line.get("lineItem") or {}).get("id"),
                            "sku": (line.get("lineItem") or {}).get("sku"),
                            "total_quantity": line.get("totalQuantity"),
                            "remaining_quantity": line.get("remainingQuantity"),
                        }
                        for line in (node.get("lineItems") or {}).get("nodes") or []
                    ],
                }
            )
        return result

    def create_fulfillment(
        self, fulfillment_order_lines, tracking=None, notify_customer=False, *, message=None
    ):
        """``fulfillmentCreate`` for one or more fulfillment orders.

        ``fulfillment_order_lines``: ``[{'fulfillment_order_id': gid, 'lines':
        [{'id': fulfillment_order_line_item_gid, 'quantity': n}, ...]}]`` -- omit
        ``lines`` to fulfil everything that remains on that fulfillment order.
        ``tracking``: ``{'company', 'number', 'url'}`` (any may be missing).
        """
        by_fo = []
        for entry in fulfillment_order_lines:
            item = {"fulfillmentOrderId": gid("FulfillmentOrder", entry["fulfillment_order_id"])}
            lines = entry.get("lines")
            if lines:
                item["fulfillmentOrderLineItems"] = [
                    {"id": gid("FulfillmentOrderLineItem", line["id"]), "quantity": int(line["quantity"])}
                    for line in lines
                ]
            by_fo.append(item)
        fulfillment = {"lineItemsByFulfillmentOrder": by_fo, "notifyCustomer": bool(notify_customer)}
        tracking = {k: v for k, v in (tracking or {}).items() if v}
        if tracking:
            fulfillment["trackingInfo"] = {
                k: tracking[k] for k in ("company", "number", "url") if k in tracking
            }
        data = self.graphql(M_FULFILLMENT_CREATE, {"fulfillment": fulfillment, "message": message}, cost=10)
        return (data.get("fulfillmentCreate") or {}).get("fulfillment")

    # ---------------------------------------------------------------- refunds
    def create_refund(
        self,
        order_gid,
        line_items: Iterable[Mapping[str, Any]] = (),
        transactions: Iterable[Mapping[str, Any]] = (),
        *,
        shipping_amount=None,
        full_shipping_refund=False,
        note=None,
        notify=False,
        currency=None,
        idempotency_key=None,
    ):
        """``refundCreate`` (with the ``@idempotent`` directive, mandatory since 2026-04).

        ``line_items``: ``{'line_item_id', 'quantity', 'restock_type'
        ('RETURN'|'CANCEL'|'NO_RESTOCK'), 'location_id'}``; ``transactions``:
        ``{'gateway', 'amount' (Decimal/str), 'parent_id', 'kind' (default
        'REFUND')}``. Pass the outbox event's key as ``idempotency_key`` so a retry
        never refunds twice.
        """
        order_id = gid("Order", order_gid)
        refund = {"orderId": order_id, "notify": bool(notify)}
        if note:
            refund["note"] = note
        if currency:
            refund["currency"] = currency
        lines = []
        for line in line_items:
            item = {
                "lineItemId": gid("LineItem", line["line_item_id"]),
                "quantity": int(line["quantity"]),
                "restockType": (line.get("restock_type") or "NO_RESTOCK").upper(),
            }
            if line.get("location_id"):
                item["locationId"] = gid("Location", line["location_id"])
            lines.append(item)
        if lines:
            refund["refundLineItems"] = lines
        txs = []
        for tx in transactions:
            item = {
                "orderId": order_id,
                "gateway": tx["gateway"],
                "kind": (tx.get("kind") or "REFUND").upper(),
                "amount": Decimal(str(tx["amount"])),
            }
            if tx.get("parent_id"):
                item["parentId"] = gid("OrderTransaction", tx["parent_id"])
            txs.append(item)
        if txs:
            refund["transactions"] = txs
        if full_shipping_refund:
            refund["shipping"] = {"fullRefund": True}
        elif shipping_amount is not None:
            refund["shipping"] = {"amount": Decimal(str(shipping_amount))}
        key = idempotency_key or f"omni-{uuid.uuid4()}"
        data = self.graphql(M_REFUND_CREATE % _gql_string(key), {"input": refund}, cost=10)
        return (data.get("refundCreate") or {}).get("refund")

    # ------------------------------------------------------- Shopify Payments
    def _payments_account(self, query, variables, cost):
        data = self.graphql(query, variables, cost=cost)
        account = data.get("shopifyPaymentsAccount")
        if not isinstance(account, Mapping):
            raise ShopifyApiError(
                f"Shopify Payments is not active on {self.shop_domain}: it has no payouts to read"
            )
        return account

    def iter_payouts(self, since_date, *, status=None, page_size=PAYOUT_PAGE_SIZE) -> Iterator[dict]:
        """Yield the Shopify Payments payouts issued on or after ``since_date``, oldest first.

        ``since_date``: a ``date``/``datetime`` or ``'YYYY-MM-DD'`` (the day counts, not the
        time: Shopify's ``issued_at`` filter is read by day). ``status`` (``'paid'``...)
        narrows the search on Shopify's side; callers that need a guarantee check each
        payout's ``status`` themselves. Cursor pagination, ``page_size`` per request, through
        the cost throttle. Each payout is REST-shaped (:func:`rest_payout_from_graphql`).
        Raises :class:`ShopifyApiError` when the shop has no Shopify Payments account.
        """
        day = since_date.isoformat()[:10] if hasattr(since_date, "isoformat") else str(since_date)[:10]
        search = f"issued_at:>={day}"
        if status:
            search += f" status:{str(status).lower()}"
        yield from self._iter_payments_pages(
            Q_PAYOUTS, "payouts", search, page_size, PAYOUT_NODE_COST, rest_payout_from_graphql
        )

    def iter_balance_transactions(self, payout_id, *, page_size=BALANCE_TRANSACTION_PAGE_SIZE) -> Iterator[dict]:
        """Yield every balance transaction of one payout (its legacy id or gid), REST-shaped.

        Searches ``payments_transfer_id:<payout id>``, page after page. The payout's own
        transfer is included (type ``payout``), as in the REST API; the reconciliation mapper
        leaves it out and checks that every transaction names this payout.
        """
        payout = legacy_id(payout_id)
        if not str(payout).isdigit():
            raise ValueError("payout_id must be a Shopify payout id or gid")
        search = f"payments_transfer_id:{payout}"
        yield from self._iter_payments_pages(
            Q_BALANCE_TRANSACTIONS, "balanceTransactions", search, page_size, BALANCE_TRANSACTION_NODE_COST,
            rest_balance_transaction_from_graphql,
        )

    def _iter_payments_pages(self, query, connection_name, search, page_size, node_cost, convert):
        """Every node of a ``shopifyPaymentsAccount`` connection matching ``search``, page after page,
        converted by ``convert``; each page's cost is announced to the throttle up front."""
        after = None
        while True:
            account = self._payments_account(
                query, {"first": page_size, "after": after, "query": search}, 2 + node_cost * page_size
            )
            connection = account.get(connection_name) or {}
            for node in _nodes(connection):
                yield convert(node)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    # --------------------------------------------------------------- webhooks
    def webhook_subscriptions(self):
        """All webhook subscriptions of this app on this shop: ``[{id, topic, uri, format}]``."""
        result, after = [], None
        while True:
            data = self.graphql(Q_WEBHOOK_SUBSCRIPTIONS, {"first": 100, "after": after}, cost=102)
            connection = data.get("webhookSubscriptions") or {}
            result.extend(connection.get("nodes") or [])
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return result
            after = page.get("endCursor")

    def register_webhook(self, topic, callback_url):
        """Make sure ``topic`` is delivered to ``callback_url``; idempotent.

        ``topic`` may be REST style (``'orders/create'``) or the GraphQL enum
        (``'ORDERS_CREATE'``). Returns ``{'action': 'unchanged'|'updated'|'created',
        'id': gid}``: an existing subscription with the same URL is left alone, one
        pointing elsewhere is updated, otherwise one is created.
        """
        enum = topic_enum(topic)
        existing = [s for s in self.webhook_subscriptions() if (s.get("topic") or "").upper() == enum]
        for sub in existing:
            if sub.get("uri") == callback_url:
                return {"action": "unchanged", "id": sub["id"]}
        sub_input = {"uri": callback_url, "format": "JSON"}
        if existing:
            data = self.graphql(M_WEBHOOK_UPDATE, {"id": existing[0]["id"], "sub": sub_input}, cost=10)
            node = (data.get("webhookSubscriptionUpdate") or {}).get("webhookSubscription") or {}
            return {"action": "updated", "id": node.get("id") or existing[0]["id"]}
        data = self.graphql(M_WEBHOOK_CREATE, {"topic": enum, "sub": sub_input}, cost=10)
        node = (data.get("webhookSubscriptionCreate") or {}).get("webhookSubscription") or {}
        return {"action": "created", "id": node.get("id")}

    # ------------------------------------------------------------------- shop
    def shop_info(self):
        """For "Test connection": the shop's name, domain, currency and time zone."""
        data = self.graphql(Q_SHOP, None, cost=1)
        shop = dict(data.get("shop") or {})
        shop["api_version_requested"] = self.api_version
        shop["api_version_answered"] = self.api_version_answered
        return shop


def _batch_key(base_key, index, several):
    key = f"{base_key}-{index}" if several else str(base_key)
    if len(key) > 200:  # keep keys short whatever the caller passes
        key = hashlib.sha256(key.encode()).hexdigest()
    return key


def topic_enum(topic):
    """``'orders/create'`` -> ``'ORDERS_CREATE'``; enum values pass through."""
    return re.sub(r"[/.\s-]+", "_", str(topic).strip()).upper()


# ------------------------------------------------------ GraphQL -> REST-shaped order
_FULFILLMENT_STATUS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


def _money(bag, which="shopMoney"):
    money = (bag or {}).get(which) or {}
    amount = money.get("amount")
    return None if amount is None else format(Decimal(str(amount)), "f")


def _money_set(bag):
    if not bag:
        return None
    out = {}
    for src, dst in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money")):
        money = bag.get(src)
        if money:
            out[dst] = {"amount": _money(bag, src), "currency_code": money.get("currencyCode")}
    return out


def _tax_lines(items):
    return [
        {
            "title": t.get("title"),
            "rate": None if t.get("rate") is None else str(t.get("rate")),
            "price": _money(t.get("priceSet")),
            "price_set": _money_set(t.get("priceSet")),
        }
        for t in items or []
    ]


def _allocations(items):
    return [
        {
            "amount": _money(a.get("allocatedAmountSet")),
            "amount_set": _money_set(a.get("allocatedAmountSet")),
            "discount_application_index": (a.get("discountApplication") or {}).get("index"),
        }
        for a in items or []
    ]


def _nodes(connection):
    if isinstance(connection, list):
        return connection
    if not connection:
        return []
    if "nodes" in connection:
        return connection.get("nodes") or []
    return [edge.get("node") for edge in connection.get("edges") or []]


def _address(addr):
    if not addr:
        return None
    return {
        "first_name": addr.get("firstName"),
        "last_name": addr.get("lastName"),
        "company": addr.get("company"),
        "address1": addr.get("address1"),
        "address2": addr.get("address2"),
        "city": addr.get("city"),
        "zip": addr.get("zip"),
        "province": addr.get("province"),
        "province_code": addr.get("provinceCode"),
        "country": addr.get("country"),
        "country_code": addr.get("countryCodeV2") or addr.get("countryCode"),
        "phone": addr.get("phone"),
    }


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def rest_transactions_from_graphql(nodes) -> list[dict]:
    """GraphQL ``OrderTransaction`` nodes -> the REST ``transactions`` items the mapper reads."""
    return [
        {
            "id": legacy_id(t.get("id")),
            "kind": _lower(t.get("kind")),
            "status": _lower(t.get("status")),
            "gateway": t.get("gateway"),
            "amount": _money(t.get("amountSet")),
            "currency": ((t.get("amountSet") or {}).get("shopMoney") or {}).get("currencyCode"),
            "authorization": t.get("authorizationCode"),
            "parent_id": legacy_id((t.get("parentTransaction") or {}).get("id")),
            "processed_at": t.get("processedAt"),
            "test": t.get("test"),
        }
        for t in _nodes(nodes)
    ]


def rest_order_from_graphql(node: Mapping[str, Any]) -> dict:
    """Turn a GraphQL ``Order`` node (selection :data:`ORDER_FIELDS`) into the REST shape.

    The result has the keys of the ``orders/*`` webhook body the mapper reads, so
    polled and pushed orders take one mapping path. Amounts are decimal strings
    (shop currency; ``*_set`` keep both currencies); the dict is JSON-serializable.
    ``total_discount`` is deliberately absent from line items: discounts are in
    ``discount_allocations`` only, as in current webhook bodies.
    """
    applications = _nodes(node.get("discountApplications"))
    lines = _nodes(node.get("lineItems"))
    shipping = _nodes(node.get("shippingLines"))

    allocated = {}
    for owner in [*lines, *shipping]:
        for alloc in owner.get("discountAllocations") or []:
            index = (alloc.get("discountApplication") or {}).get("index")
            amount = Decimal(_money(alloc.get("allocatedAmountSet")) or "0")
            allocated[index] = allocated.get(index, Decimal("0")) + amount

    rest_apps, discount_codes = [], []
    for position, app in enumerate(applications):
        index = app.get("index", position)
        value = app.get("value") or {}
        if "percentage" in value:
            value_type, amount_value = "percentage", str(value.get("percentage"))
        else:
            value_type, amount_value = "fixed_amount", _money({"shopMoney": value}) or "0"
        kind = {
            "DiscountCodeApplication": "discount_code",
            "ManualDiscountApplication": "manual",
            "AutomaticDiscountApplication": "automatic",
            "ScriptDiscountApplication": "script",
        }.get(app.get("__typename"), "discount_code" if app.get("code") else "manual")
        rest_apps.append(
            {
                "target_type": _lower(app.get("targetType")),
                "type": kind,
                "value": amount_value,
                "value_type": value_type,
                "allocation_method": _lower(app.get("allocationMethod")),
                "target_selection": _lower(app.get("targetSelection")),
                "code": app.get("code"),
                "title": app.get("title") or app.get("code"),
            }
        )
        if app.get("code"):
            code_type = "shipping" if app.get("targetType") == "SHIPPING_LINE" else value_type
            discount_codes.append(
                {
                    "code": app["code"],
                    "amount": format(allocated.get(index, Decimal("0")), "f"),
                    "type": code_type,
                }
            )
    if not discount_codes:  # codes the applications did not cover (e.g. no allocation yet)
        discount_codes = [
            {"code": c, "amount": "0.00", "type": None} for c in node.get("discountCodes") or []
        ]

    line_items, line_total = [], Decimal("0")
    for line in lines:
        price = _money(line.get("originalUnitPriceSet"))
        line_total += Decimal(price or "0") * int(line.get("quantity") or 0)
        line_items.append(
            {
                "id": legacy_id(line.get("id")),
                "admin_graphql_api_id": line.get("id"),
                "product_id": legacy_id((line.get("product") or {}).get("id")),
                "variant_id": legacy_id((line.get("variant") or {}).get("id")),
                "sku": line.get("sku"),
                "name": line.get("name"),
                "title": line.get("title"),
                "variant_title": line.get("variantTitle"),
                "vendor": line.get("vendor"),
                "quantity": line.get("quantity"),
                "current_quantity": line.get("currentQuantity"),
                "price": price,
                "price_set": _money_set(line.get("originalUnitPriceSet")),
                "taxable": line.get("taxable"),
                "requires_shipping": line.get("requiresShipping"),
                "gift_card": bool(line.get("isGiftCard")),
                "tax_lines": _tax_lines(line.get("taxLines")),
                "discount_allocations": _allocations(line.get("discountAllocations")),
            }
        )

    shipping_lines = [
        {
            "id": legacy_id(s.get("id")),
            "code": s.get("code"),
            "title": s.get("title"),
            "source": s.get("source"),
            "price": _money(s.get("originalPriceSet")),
            "price_set": _money_set(s.get("originalPriceSet")),
            "discounted_price": _money(s.get("discountedPriceSet")),
            "is_removed": bool(s.get("isRemoved")),
            "tax_lines": _tax_lines(s.get("taxLines")),
            "discount_allocations": _allocations(s.get("discountAllocations")),
        }
        for s in shipping
    ]

    transactions = rest_transactions_from_graphql(node.get("transactions"))

    customer = node.get("customer")
    if customer:
        tags = customer.get("tags")
        customer = {
            "id": legacy_id(customer.get("id")),
            "email": (customer.get("defaultEmailAddress") or {}).get("emailAddress"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
            "phone": (customer.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            "tags": ", ".join(tags) if isinstance(tags, list) else tags,
        }

    tags = node.get("tags")
    return {
        "id": legacy_id(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "confirmation_number": node.get("confirmationNumber"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "closed_at": node.get("closedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "currency": node.get("currencyCode"),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "taxes_included": node.get("taxesIncluded"),
        "tax_exempt": node.get("taxExempt"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "source_name": node.get("sourceName"),
        "test": node.get("test"),
        "tags": ", ".join(tags) if isinstance(tags, list) else tags,
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus")),
        "payment_gateway_names": list(node.get("paymentGatewayNames") or []),
        "total_line_items_price": format(line_total, "f"),
        "total_discounts": _money(node.get("totalDiscountsSet")),
        "total_discounts_set": _money_set(node.get("totalDiscountsSet")),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "subtotal_price_set": _money_set(node.get("subtotalPriceSet")),
        "total_shipping_price_set": _money_set(node.get("totalShippingPriceSet")),
        "total_tax": _money(node.get("totalTaxSet")),
        "total_tax_set": _money_set(node.get("totalTaxSet")),
        "total_price": _money(node.get("totalPriceSet")),
        "total_price_set": _money_set(node.get("totalPriceSet")),
        "total_outstanding": _money(node.get("totalOutstandingSet")),
        "current_total_price": _money(node.get("currentTotalPriceSet")),
        "current_subtotal_price": _money(node.get("currentSubtotalPriceSet")),
        "current_total_tax": _money(node.get("currentTotalTaxSet")),
        "discount_codes": discount_codes,
        "discount_applications": rest_apps,
        "note": node.get("note"),
        "note_attributes": [
            {"name": a.get("key"), "value": a.get("value")} for a in node.get("customAttributes") or []
        ],
        "tax_lines": _tax_lines(node.get("taxLines")),
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "transactions": transactions,
        "customer": customer,
        "billing_address": _address(node.get("billingAddress")),
        "shipping_address": _address(node.get("shippingAddress")),
    }


# ------------------------------------------- GraphQL -> REST-shaped Shopify Payments
# Balance transaction types whose GraphQL name differs from the REST one; every other
# type is the REST name upper-cased (CHARGE/charge, DISPUTE_WITHDRAWAL/dispute_withdrawal).
_BALANCE_TYPES = {
    "TRANSFER": "payout",
    "TRANSFER_FAILURE": "payout_failure",
    "TRANSFER_CANCEL": "payout_cancellation",
}


def _money_text(money):
    """A ``MoneyV2`` (or a bare amount) -> decimal string, exact (``'-41.9'`` stays so); None stays None."""
    amount = money.get("amount") if isinstance(money, Mapping) else money
    if amount is None or amount == "":
        return None
    return format(Decimal(str(amount)), "f")


def _legacy_text(value):
    """gid or number -> the legacy numeric id as a string; None stays None."""
    legacy = legacy_id(value)
    return None if legacy is None else str(legacy)


def rest_payout_from_graphql(node: Mapping[str, Any]) -> dict:
    """A ``ShopifyPaymentsPayout`` node -> the REST ``payout`` dict (``settlement_from_shopify``).

    ``amount`` is the payout's ``net`` as a decimal string, negative for a ``WITHDRAWAL``
    (money taken back from the bank), ``date`` the issue day (UTC), ``status`` and
    ``transaction_type`` lower-cased, ids legacy numeric strings.
    """
    net = node.get("net") or {}
    amount = _money_text(net)
    direction = _lower(node.get("transactionType"))
    if amount is not None and direction == "withdrawal":
        amount = format(-abs(Decimal(amount)), "f")
    summary = node.get("summary") or {}
    issued_at = node.get("issuedAt")
    return {
        "id": _legacy_text(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "status": _lower(node.get("status")),
        "transaction_type": direction,
        "date": str(issued_at)[:10] if issued_at else None,
        "issued_at": issued_at,
        "currency": net.get("currencyCode"),
        "amount": amount,
        "summary": {key: _money_text(summary.get(name)) or "0.00" for name, key in _PAYOUT_SUMMARY},
    }


def rest_balance_transaction_from_graphql(node: Mapping[str, Any]) -> dict:
    """A ``ShopifyPaymentsBalanceTransaction`` node -> the REST ``transactions`` item.

    The payout's own transfer (``TRANSFER``) becomes type ``payout``, as in REST; the
    associated order and payout become ``source_order_id`` / ``payout_id`` (legacy ids).
    """
    raw_type = str(node.get("type") or "").upper()
    source_type = str(node.get("sourceType") or "").upper()
    amount = node.get("amount") or {}
    payout = node.get("associatedPayout") or {}
    return {
        "id": _legacy_text(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "type": _BALANCE_TYPES.get(raw_type, raw_type.lower()),
        "test": bool(node.get("test")),
        "payout_id": _legacy_text(payout.get("id")),
        "payout_status": _lower(payout.get("status")),
        "currency": amount.get("currencyCode"),
        "amount": _money_text(amount),
        "fee": _money_text(node.get("fee")) or "0",
        "net": _money_text(node.get("net")),
        "source_id": _legacy_text(node.get("sourceId")),
        "source_type": "payout" if source_type == "TRANSFER" else source_type.lower() or None,
        "source_order_id": _legacy_text((node.get("associatedOrder") or {}).get("id")),
        "source_order_transaction_id": _legacy_text(node.get("sourceOrderTransactionId")),
        "processed_at": node.get("transactionDate"),
        "adjustment_reason": node.get("adjustmentReason"),
    }


__all__ = [
    "DEFAULT_API_VERSION",
    "INVENTORY_BATCH_SIZE",
    "ShopifyApiError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyThrottled",
    "ShopifyTransientError",
    "gid",
    "legacy_id",
    "normalize_shop_domain",
    "rest_balance_transaction_from_graphql",
    "rest_order_from_graphql",
    "rest_payout_from_graphql",
    "rest_transactions_from_graphql",
    "topic_enum",
]
