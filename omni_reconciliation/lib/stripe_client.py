"""Stripe client: payouts and their balance transactions through the official ``stripe`` library.

The network side of the Stripe source: the client (API key, base URL for the local simulator,
retries), pagination (``auto_paging_iter``) and the library's errors (``stripe.StripeError`` and
subclasses, raised to the caller: the payout account's import turns them into an exception for a
person). What the payloads mean is ``stripe_mapper.py``'s concern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import stripe

from .stripe_mapper import plain, settlement_from_stripe

try:
    from odoo.addons.omni_connector_base.canonical.settlement import SettlementData
    from odoo.addons.omni_connector_base.pipeline import call_metrics
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.settlement import SettlementData
    from omni_connector_base.pipeline import call_metrics

PAGE_SIZE = 100  # Stripe's maximum page size


def make_client(
    api_key: str,
    base_url: str | None = None,
    *,
    max_network_retries: int = 2,
    stripe_version: str | None = None,
) -> stripe.StripeClient:
    """A ``StripeClient``; ``base_url`` only for tests (the local simulator)."""
    kwargs: dict[str, Any] = {"max_network_retries": max_network_retries, "http_client": _metered_http_client()}
    if base_url:
        kwargs["base_addresses"] = {"api": base_url}
    if stripe_version:
        kwargs["stripe_version"] = stripe_version
    return stripe.StripeClient(api_key, **kwargs)


def list_payouts(
    client: stripe.StripeClient,
    since: datetime | None = None,
    status: str | None = "paid",
    *,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """All payouts arriving at or after ``since`` (every page), newest first, as dicts.

    Filtered on ``arrival_date``, not ``created``: a payout is created days before it is paid,
    so a payout created before the previous import and paid since would be missed by a filter on
    its creation date.
    """
    params: dict[str, Any] = {"limit": page_size}
    if status:
        params["status"] = status
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        params["arrival_date"] = {"gte": int(since.timestamp())}
    page = client.v1.payouts.list(params=params)  # type: ignore[arg-type]
    return [plain(payout) for payout in page.auto_paging_iter()]


def iter_balance_transactions(
    client: stripe.StripeClient, payout_id: str, *, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every balance transaction of a payout, sources expanded, page after page."""
    page = client.v1.balance_transactions.list(
        params={"payout": payout_id, "expand": ["data.source"], "limit": page_size}  # type: ignore[arg-type]
    )
    for txn in page.auto_paging_iter():
        yield plain(txn)


def fetch_settlement(
    client: stripe.StripeClient,
    payout_id_or_obj: str | Mapping[str, Any] | Any,
    *,
    page_size: int = PAGE_SIZE,
) -> SettlementData:
    """Download one payout and all its balance transactions and map them."""
    if isinstance(payout_id_or_obj, str):
        payout = plain(client.v1.payouts.retrieve(payout_id_or_obj))
    else:
        payout = plain(payout_id_or_obj)
    txns = iter_balance_transactions(client, payout["id"], page_size=page_size)
    return settlement_from_stripe(payout, txns)


_STRIPE_ID = re.compile(r"^[a-z]{1,8}_(?=[A-Za-z0-9]*[0-9A-Z])[A-Za-z0-9]+$")  # po_1Nx..., txn_3...


def stripe_operation(method: str, url: str) -> str:
    """``GET /v1/payouts/{id}``: the request's method and path, object ids replaced (few label values)."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "").split("?", 1)[0]
    parts = ["{id}" if _STRIPE_ID.match(part) else part for part in path.split("/")]
    return f"{method.upper()} {'/'.join(parts)}"


def _metered_http_client():
    """The library's default HTTP client, each request (every network retry too) recorded in the API
    call metrics of ``omni_connector_base`` (``pipeline.call_metrics``)."""
    http_client = stripe.new_default_http_client()
    send = http_client.request

    def request(method, url, headers, post_data=None, **kwargs):
        with call_metrics.timed(stripe_operation(method, url)) as call:
            content, status, response_headers = send(method, url, headers, post_data, **kwargs)
            call.status = status
        return content, status, response_headers

    http_client.request = request
    return http_client
