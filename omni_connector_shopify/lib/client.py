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
  and handed over as the GraphQL nodes they are (``mapper_graphql`` maps every shape).

Money is never a float: response bodies are decoded with ``parse_float=Decimal``;
Shopify's ``Money``/``Decimal`` scalars are strings and stay strings in the nodes
the client returns: it hands over what Shopify answered, and ``mapper_graphql`` maps it.

Secrets (access token, client secret) and personal data never reach a log line or
an exception message: only operation names, costs, HTTP statuses and masked
GraphQL error messages do.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal

import httpx
import shopify_app

from .errors import (
    ShopifyApiError,
    ShopifyError,
    ShopifyThrottled,
    ShopifyTransientError,
    _error_codes,
    _errors_summary,
)
from .graphql import (
    AFTERMATH_COST,
    BALANCE_TRANSACTION_NODE_COST,
    BALANCE_TRANSACTION_PAGE_SIZE,
    M_WEBHOOK_CREATE,
    M_WEBHOOK_UPDATE,
    PAYOUT_NODE_COST,
    PAYOUT_PAGE_SIZE,
    Q_BALANCE_TRANSACTIONS,
    Q_ORDER,
    Q_ORDER_AFTERMATH,
    Q_ORDER_LINE_ITEMS,
    Q_ORDER_TRANSACTIONS,
    Q_ORDERS_UPDATED_SINCE,
    Q_PAYOUTS,
    Q_SHOP,
    Q_VARIANTS,
    Q_WEBHOOK_SUBSCRIPTIONS,
    gid,
    legacy_id,
    nodes,
    topic_enum,
)
from .mutations import INVENTORY_BATCH_SIZE, ShopifyMutations
from .throttle import DEFAULT_COST_ESTIMATE, DEFAULT_MAX_WAIT, CostThrottle
from .transport import _ShopifyTransport, call_metrics

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

_SHOP_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*$")
_TRANSIENT_USER_ERROR_CODES = {"IDEMPOTENCY_CONCURRENT_REQUEST"}


# -------------------------------------------------------------------------- helpers
def normalize_shop_domain(shop_domain):
    """``'https://Acme-Retail.myshopify.com/'`` -> ``('acme-retail.myshopify.com', 'acme-retail')``."""
    value = (shop_domain or "").strip().lower()
    value = re.sub(r"^https?://", "", value).split("/")[0]
    name = value.removesuffix(".myshopify.com")
    if not _SHOP_RE.match(name):
        raise ValueError("shop_domain must be a *.myshopify.com domain or a shop name")
    return f"{name}.myshopify.com", name


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


# --------------------------------------------------------------------------- client
class ShopifyClient(ShopifyMutations, CostThrottle):
    """One shop's GraphQL Admin API, with cost-aware throttling.

    ``sleep`` and ``clock`` are injectable so tests drive time; waits longer than ``max_wait``
    (default :data:`DEFAULT_MAX_WAIT`, 2 s) raise :class:`ShopifyThrottled` with ``retry_after``
    instead of sleeping; ``base_url`` re-targets every request (the local simulator) without changing
    any other code. The client is safe to share between threads of one process: the local view of the
    cost bucket is guarded by a lock and a request reserves its estimated cost before it is sent.
    Separate processes each keep their own view and rely on the THROTTLED retry path.
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
        max_wait=DEFAULT_MAX_WAIT,
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

    def _raw_post(self, query, variables):
        """One POST through ``shopifyapp``; returns ``(status, headers, body_text)``."""
        payload_variables = _jsonable(variables) or None
        json.dumps(payload_variables)  # a TypeError here is the caller's bug, not Shopify's answer
        self._transport.last_error = None
        call_metrics.name_next(self._cost_key(query, variables)[0])  # the transport times and counts the call
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
    def graphql(self, query, variables=None, *, cost=None, raise_user_errors=True, max_wait=None):
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
            limit = self.max_wait if max_wait is None else max_wait  # a longer wait raises, never sleeps
            self._reserve_budget(estimate, limit)
            status, headers, text = self._raw_post(query, variables)
            if headers.get("x-shopify-api-version"):
                self.api_version_answered = headers["x-shopify-api-version"]

            if status == 429:
                throttles += 1
                retry_after = _parse_retry_after(headers)
                if retry_after is None:
                    retry_after = self._throttled_wait(self.last_cost, estimate)
                if throttles > self.max_throttle_retries or retry_after > limit:
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
                    call_metrics.count_throttled(op)  # a throttled answer (the transport counted the call)
                    wait = self._throttled_wait(cost_info, estimate)
                    if throttles > self.max_throttle_retries or wait > limit:
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
        """The order's ``OrderTransaction`` nodes (``mapper_graphql.map_graphql_transactions``
        maps them), or None when Shopify has no such order.

        One cheap request for what an ``orders/*`` webhook body lacks: the transaction ids
        payments are referenced by (a full :meth:`get_order` costs some 440 points).
        """
        data = self.graphql(Q_ORDER_TRANSACTIONS, {"id": gid("Order", order_gid)}, cost=12)
        node = data.get("order")
        if not node:
            return None
        return nodes(node.get("transactions"))

    def get_order(self, order_gid, *, line_items_per_page=50):
        """One ``Order`` node (``graphql.ORDER_FIELDS``) with all its line items, or None.

        ``mapper_graphql.map_graphql_order`` maps it."""
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
        return node

    def get_order_refunds_fulfillments(self, order_gid):
        """``(refunds, fulfillments)`` of one order: its ``Refund`` and ``Fulfillment`` nodes as
        Shopify answered (``mapper_graphql.map_graphql_refund`` / ``map_graphql_fulfillment`` map
        them); two empty lists when Shopify has no such order. One request (``Q_ORDER_AFTERMATH``)."""
        data = self.graphql(Q_ORDER_AFTERMATH, {"id": gid("Order", order_gid)}, cost=AFTERMATH_COST)
        node = data.get("order") or {}
        return nodes(node.get("refunds")), nodes(node.get("fulfillments"))

    def iter_orders_updated_since(
        self, since_iso, page_size=50, *, line_items_per_page=50, skip=None
    ) -> Iterator[dict]:
        """Yield every order updated at or after ``since_iso``, oldest update first.

        ``skip(order_gid, updated_at)``: when true, that order version is not read (the caller
        already has it), so re-reading the overlap costs only the pages of ids.

        Two steps keep each request under Shopify's 1000-point single-query limit: a
        cheap ``orders(query: "updated_at:>=...")`` page of ids (cursor pagination,
        ``page_size`` per page), then one ``order(id:)`` per order with its line
        items (paginated too). Each yielded dict is the ``Order`` node as Shopify answered
        (:meth:`get_order`; money as decimal strings, JSON-serializable).
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
                if skip is not None and skip(node["id"], node.get("updatedAt")):
                    continue
                order = self.get_order(node["id"], line_items_per_page=line_items_per_page)
                if order is not None:
                    yield order
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    # --------------------------------------------------------------- variants
    def iter_variants(self, page_size=250, *, max_wait=None) -> Iterator[dict]:
        """Yield ``{id, legacy_id, sku, barcode, title, product_id, inventory_item_id, tracked}``."""
        after = None
        while True:
            variables = {"first": page_size, "after": after}
            data = self.graphql(Q_VARIANTS, variables, cost=2 + 3 * page_size, max_wait=max_wait)
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

    # ------------------------------------------------------- Shopify Payments
    def _payments_account(self, query, variables, cost, max_wait=None):
        data = self.graphql(query, variables, cost=cost, max_wait=max_wait)
        account = data.get("shopifyPaymentsAccount")
        if not isinstance(account, Mapping):
            raise ShopifyApiError(
                f"Shopify Payments is not active on {self.shop_domain}: it has no payouts to read"
            )
        return account

    def iter_payouts(self, since_date, *, status=None, page_size=PAYOUT_PAGE_SIZE, max_wait=None) -> Iterator[dict]:
        """Yield the Shopify Payments payouts issued on or after ``since_date``, oldest first.

        ``since_date``: a ``date``/``datetime`` or ``'YYYY-MM-DD'`` (the day counts, not the
        time: Shopify's ``issued_at`` filter is read by day). ``status`` (``'paid'``...)
        narrows the search on Shopify's side; callers that need a guarantee check each
        payout's ``status`` themselves. Cursor pagination, ``page_size`` per request, through
        the cost throttle. Each payout is a ``ShopifyPaymentsPayout`` node
        (``mapper_graphql.settlement_from_graphql`` maps it with its transactions).
        Raises :class:`ShopifyApiError` when the shop has no Shopify Payments account.
        """
        day = since_date.isoformat()[:10] if hasattr(since_date, "isoformat") else str(since_date)[:10]
        search = f"issued_at:>={day}"
        if status:
            search += f" status:{str(status).lower()}"
        yield from self._iter_payments_pages(
            Q_PAYOUTS, "payouts", search, page_size, PAYOUT_NODE_COST, max_wait
        )

    def iter_balance_transactions(self, payout_id, *, page_size=BALANCE_TRANSACTION_PAGE_SIZE,
                                  max_wait=None) -> Iterator[dict]:
        """Yield every ``ShopifyPaymentsBalanceTransaction`` node of one payout (legacy id or gid).

        Searches ``payments_transfer_id:<payout id>``, page after page. The payout's own
        transfer is included (type ``TRANSFER``), as in the REST API; the settlement mapper
        leaves it out and checks that every transaction names this payout.
        """
        payout = legacy_id(payout_id)
        if not str(payout).isdigit():
            raise ValueError("payout_id must be a Shopify payout id or gid")
        search = f"payments_transfer_id:{payout}"
        yield from self._iter_payments_pages(
            Q_BALANCE_TRANSACTIONS, "balanceTransactions", search, page_size, BALANCE_TRANSACTION_NODE_COST, max_wait
        )

    def _iter_payments_pages(self, query, connection_name, search, page_size, node_cost, max_wait=None):
        """Every node of a ``shopifyPaymentsAccount`` connection matching ``search``, page after page;
        each page's cost is announced to the throttle up front."""
        after = None
        while True:
            account = self._payments_account(
                query, {"first": page_size, "after": after, "query": search}, 2 + node_cost * page_size, max_wait
            )
            connection = account.get(connection_name) or {}
            yield from nodes(connection)
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


__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_MAX_WAIT",
    "INVENTORY_BATCH_SIZE",
    "ShopifyApiError",
    "ShopifyClient",
    "ShopifyError",
    "ShopifyThrottled",
    "ShopifyTransientError",
    "gid",
    "legacy_id",
    "normalize_shop_domain",
    "topic_enum",
]
