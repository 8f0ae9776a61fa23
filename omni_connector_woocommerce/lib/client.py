"""The WooCommerce REST API v3 client, on the official ``woocommerce`` package (``woocommerce.API``).

Over https the library sends Basic auth (or the keys in the query string when asked); over
http it signs every request with OAuth 1.0a in the query string, as a store requires. Tests
and benchmarks point ``store_url`` at the local simulator; nothing else changes.

Every HTTP call goes through :meth:`WooClient._request` (one place for timeouts, error
classification and call counting). The library has no retry and a 5 s default timeout: the
timeouts are explicit here and failures are classified for the event queue:

* network failure, timeout, 429 and 5xx -> :class:`WooTransientError` with ``retry_after``
  from ``Retry-After`` (hosts behind proxies send it); the client never sleeps;
* any other 4xx -> :class:`WooApiError` with WooCommerce's error ``code``.

The client returns what the API answered, unconverted (JSON with ``Decimal`` numbers).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime

import requests
from woocommerce import API

from .errors import WooApiError, WooTransientError, mask_text

try:  # inside Odoo
    from odoo.addons.omni_connector_base.pipeline import call_metrics
except ImportError:  # pure tests and benchmarks import the lib directly
    from omni_connector_base.pipeline import call_metrics

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")

API_VERSION = "wc/v3"
# Seconds to connect and to wait for each answer: explicit, the library's own default is 5 s.
DEFAULT_TIMEOUT = 30.0
PER_PAGE = 100  # WooCommerce's maximum page size
BATCH_LIMIT = 100  # objects per batch call, create + update + delete together
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
# Errors after which a retry cannot succeed until someone changes the configuration.
_STATUS_TEXT = {401: "authentication refused", 403: "forbidden", 404: "not found", 413: "request too large"}


def parse_retry_after(value, now=None):
    """``Retry-After`` (seconds or an HTTP date) -> seconds (float, >= 0) or None."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.replace(".", "", 1).isdigit():
        return max(float(text), 0.0)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((moment - now).total_seconds(), 0.0)


def _next_page_from_link(link):
    """The ``page`` number of the ``rel="next"`` link, or None."""
    match = _LINK_NEXT.search(link or "")
    if not match:
        return None
    page = re.search(r"[?&]page=(\d+)", match.group(1))
    return int(page.group(1)) if page else None


class WooClient:
    """One WooCommerce store. ``calls`` counts the HTTP requests made (all of them pass
    through :meth:`_request`)."""

    def __init__(self, store_url, consumer_key, consumer_secret, *, timeout=DEFAULT_TIMEOUT,
                 query_string_auth=False, verify_ssl=True):
        if not store_url or not consumer_key or not consumer_secret:
            raise WooApiError("The store URL, consumer key and consumer secret are required.")
        self.store_url = store_url.rstrip("/")
        self.api = API(
            url=self.store_url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            version=API_VERSION,
            timeout=timeout,
            query_string_auth=query_string_auth,
            verify_ssl=verify_ssl,
            user_agent="Odoo-Omnichannel-WooCommerce/19.0",
        )
        self.calls = 0

    # ------------------------------------------------------------------ transport

    def _request(self, method, endpoint, *, params=None, data=None):
        """One HTTP call; returns ``(json_body, response)``. Raises the classified errors."""
        self.calls += 1
        what = f"{method} {endpoint.split('?')[0]}"
        # Operation label for the call metrics: ids folded, so "GET orders/{id}/refunds".
        operation = f"{method} {_ID_SEGMENT.sub('/{id}', '/' + endpoint.split('?')[0].strip('/'))[1:]}"
        try:
            with call_metrics.timed(operation) as call:
                if method == "GET":
                    response = self.api.get(endpoint, params=dict(params or {}))
                elif method == "POST":
                    response = self.api.post(endpoint, data, params=dict(params or {}))
                elif method == "PUT":
                    response = self.api.put(endpoint, data, params=dict(params or {}))
                elif method == "DELETE":
                    response = self.api.delete(endpoint, params=dict(params or {}))
                else:
                    raise ValueError(method)
                call.status = response.status_code
        except requests.Timeout as error:
            raise WooTransientError(f"WooCommerce did not answer in time ({what}).") from error
        except requests.RequestException as error:
            raise WooTransientError(
                f"WooCommerce is unreachable ({what}): {mask_text(type(error).__name__)}."
            ) from error
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            label = "rate limited" if status == 429 else "server error"
            raise WooTransientError(
                f"WooCommerce {label} (HTTP {status}) on {what}.", retry_after=retry_after, status=status
            )
        try:
            body = json.loads(response.content or b"null", parse_float=Decimal) if response.content else None
        except ValueError as error:
            if status < 400:
                raise WooTransientError(f"WooCommerce answered an unreadable body on {what}.", status=status) from error
            body = None
        if status >= 400:
            code = body.get("code") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else None
            text = message or _STATUS_TEXT.get(status) or "request refused"
            raise WooApiError(
                f"WooCommerce refused {what} (HTTP {status}{', ' + code if code else ''}): {mask_text(str(text))}",
                status=status,
                code=code,
            )
        return body, response

    def _get(self, endpoint, params=None):
        return self._request("GET", endpoint, params=params)[0]

    def _iter_pages(self, endpoint, params):
        """Every object of a listed collection: ``per_page`` 100, following ``X-WP-TotalPages``
        and the ``Link: rel="next"`` header."""
        page = 1
        while True:
            body, response = self._request("GET", endpoint, params={**params, "per_page": PER_PAGE, "page": page})
            yield from body or []
            total_pages = response.headers.get("X-WP-TotalPages")
            next_page = _next_page_from_link(response.headers.get("Link"))
            if next_page is None and total_pages and str(total_pages).isdigit() and page < int(total_pages):
                next_page = page + 1
            if not next_page or next_page <= page or not body:
                return
            page = next_page

    # ------------------------------------------------------------------ reads

    def store_settings(self):
        """``GET settings/general`` as ``{id: value}`` (currency, country...): the connection test."""
        settings = self._get("settings/general") or []
        return {item.get("id"): item.get("value") for item in settings if isinstance(item, dict)}

    def get_order(self, order_id):
        return self._get(f"orders/{int(order_id)}")

    @staticmethod
    def _orders_modified_params(modified_after):
        # Newest change first: an order changed while the pages are read moves to the front, so
        # the pages after it shift back by one (one order is read twice, harmless) and never
        # forward (oldest first, the order after a page's end would move onto the page already
        # read and be missed).
        return {
            "modified_after": modified_after,
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "desc",
            "status": "any",
        }

    def iter_orders_modified_after(self, modified_after):
        """Orders modified after ``modified_after`` (ISO 8601, GMT), newest change first."""
        return self._iter_pages("orders", self._orders_modified_params(modified_after))

    def orders_modified_page(self, modified_after, page):
        """One page (100 orders) of :meth:`iter_orders_modified_after`: ``(orders, next_page or
        None, total_pages)``, the next page from ``Link: rel="next"`` or ``X-WP-TotalPages``."""
        page = max(int(page or 1), 1)
        params = {**self._orders_modified_params(modified_after), "per_page": PER_PAGE, "page": page}
        body, response = self._request("GET", "orders", params=params)
        orders = list(body or [])
        total = response.headers.get("X-WP-TotalPages")
        total_pages = int(total) if total and str(total).isdigit() else page
        next_page = _next_page_from_link(response.headers.get("Link"))
        if next_page is None and page < total_pages:
            next_page = page + 1
        if not orders or not next_page or next_page <= page:
            next_page = None
        return orders, next_page, max(total_pages, page)

    def get_refunds(self, order_id):
        return self._get(f"orders/{int(order_id)}/refunds", {"per_page": PER_PAGE}) or []

    def iter_products(self):
        return self._iter_pages("products", {})

    def iter_variations(self, product_id):
        return self._iter_pages(f"products/{int(product_id)}/variations", {})

    def list_webhooks(self):
        return list(self._iter_pages("webhooks", {}))

    # ------------------------------------------------------------------ writes

    def create_refund(self, order_id, data):
        return self._request("POST", f"orders/{int(order_id)}/refunds", data=data)[0]

    def update_order(self, order_id, data):
        return self._request("PUT", f"orders/{int(order_id)}", data=data)[0]

    def add_order_note(self, order_id, note, customer_note=True):
        return self._request(
            "POST", f"orders/{int(order_id)}/notes", data={"note": note, "customer_note": bool(customer_note)}
        )[0]

    def batch_update_products(self, updates):
        """``POST products/batch`` with at most 100 updates."""
        return self._batch("products/batch", updates)

    def batch_update_variations(self, product_id, updates):
        """``POST products/<id>/variations/batch`` with at most 100 updates."""
        return self._batch(f"products/{int(product_id)}/variations/batch", updates)

    def _batch(self, endpoint, updates):
        if len(updates) > BATCH_LIMIT:
            raise WooApiError(f"At most {BATCH_LIMIT} objects per batch call ({len(updates)} given).")
        return self._request("POST", endpoint, data={"update": list(updates)})[0] or {}

    def create_webhook(self, topic, delivery_url, secret, name=None):
        data = {
            "name": name or f"Odoo {topic}",
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret,
            "status": "active",
        }
        return self._request("POST", "webhooks", data=data)[0]

    def update_webhook(self, webhook_id, data):
        return self._request("PUT", f"webhooks/{int(webhook_id)}", data=data)[0]
