"""Shopify synchronisation decisions, free of any ``odoo`` import.

The addon's models only read and write Odoo records; what to send, what changed and
which Shopify objects a delivery touches is decided here and unit-tested without a
database:

* :func:`webhook_event_values` -- the inbox keys of a webhook delivery (or ``None`` for
  a topic the connector deliberately ignores);
* :func:`polled_order_event_values` -- the same keys for an order read by the polling
  backstop, with an idempotency key derived from the order id and its ``updated_at``;
  :func:`polled_refund_event_values` and :func:`polled_fulfillment_event_values` -- for the
  refunds and fulfillments the poll reads with it;
* :func:`plan_stock_changes`, :func:`stock_batch_key`, :func:`shopify_quantity` --
  the stock export (absolute quantities, only those that changed, a replay-safe key);
* :func:`plan_fulfillment` -- which fulfillment-order lines a delivery fulfils;
* :func:`plan_refund` -- the ``refundCreate`` arguments for a credit note made in Odoo.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from .graphql import legacy_id
from .webhook import parse_timestamp, webhook_keys

# Topics the connector subscribes to (``Register webhooks``).
WEBHOOK_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "refunds/create",
    "fulfillments/create",
    "fulfillments/update",
    "returns/process",
    "returns/close",
    "app/uninstalled",
)
# Order topics whose body is a full order (a shop may also subscribe the others by hand).
ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
)
POLL_TOPIC = "orders/polled"
REFUND_POLL_TOPIC = "refunds/polled"
FULFILLMENT_POLL_TOPIC = "fulfillments/polled"
REFUND_TOPIC = "refunds/create"
FULFILLMENT_TOPICS = ("fulfillments/create", "fulfillments/update")
UNINSTALL_TOPIC = "app/uninstalled"
# A return processed or closed: with exchange line items it is an exchange (governance).
RETURN_TOPICS = ("returns/process", "returns/close")
INBOUND_TOPICS = (*ORDER_TOPICS, REFUND_TOPIC, *FULFILLMENT_TOPICS, *RETURN_TOPICS, UNINSTALL_TOPIC)

# Outbox topics (direction ``out``).
OUT_STOCK = "inventory/set"
OUT_FULFILLMENT = "fulfillments/create"
OUT_REFUND = "refunds/create"


def webhook_event_values(headers: Mapping[str, str], payload: Any, raw_body: bytes | None = None) -> dict | None:
    """The ``omni.event`` keys of one verified webhook, or ``None`` to acknowledge and ignore it.

    ``source_ts`` is the order's ``updated_at`` (naive UTC): events of one order are
    applied in that order and an older version is skipped. ``X-Shopify-Triggered-At``
    stays in the stored trace headers.
    """
    keys = webhook_keys(headers, payload if isinstance(payload, Mapping) else None, raw_body)
    if keys["topic"] not in INBOUND_TOPICS:
        return None
    return {
        "idempotency_key": keys["idempotency_key"],
        "topic": keys["topic"],
        "resource_model": keys["resource_model"],
        "resource_key": keys["resource_key"],
        "source_ts": keys["source_timestamp"] or False,
    }


def polled_order_event_values(order: Mapping[str, Any]) -> dict:
    """Inbox keys of an order read by the polling backstop.

    The idempotency key is ``poll:<order id>:<updated_at in UTC>``: polling the same
    version twice (the overlap) stores it once; the webhook of that version has another
    key, and the order handler recognises the version it already applied.
    """
    # The GraphQL Order node the client reads (REST bodies are read the same way).
    order_id, updated = _order_keys(order)
    stamp = updated.isoformat() if updated else "unknown"
    return _polled_values(f"poll:{order_id}:{stamp}", POLL_TOPIC, "sale.order", order_id, updated)


def _polled_values(key, topic, resource_model, order_id, updated):
    """The inbox keys of something the poll read with (or as) the order ``order_id`` of version ``updated``."""
    return {
        "idempotency_key": key,
        "topic": topic,
        "resource_model": resource_model,
        "resource_key": order_id,
        "source_ts": updated or False,
    }


def _order_keys(order):
    """``(legacy order id, version)``: the order's ``updatedAt`` (else ``createdAt``), naive UTC."""
    order_id = str(legacy_id(order.get("legacyResourceId") or order["id"]))
    updated = parse_timestamp(order.get("updatedAt") or order.get("updated_at")) or parse_timestamp(
        order.get("createdAt") or order.get("created_at"))
    return order_id, updated


def polled_refund_event_values(order: Mapping[str, Any], refund: Mapping[str, Any]) -> dict:
    """Inbox keys of a ``Refund`` node read by the poll with its order.

    The key is ``poll:refund:<refund id>`` (a refund does not change): every later poll of the
    order stores nothing again, and a refund that also came by webhook is recognised by its
    binding (one credit note). ``source_ts`` is the order version it was read with, so the
    event is applied after that version of the order (which may be its first import).
    """
    order_id, updated = _order_keys(order)
    key = f"poll:refund:{legacy_id(refund['id'])}"
    return _polled_values(key, REFUND_POLL_TOPIC, "account.move", order_id, updated)


def polled_fulfillment_event_values(order: Mapping[str, Any], fulfillment: Mapping[str, Any]) -> dict:
    """Inbox keys of a ``Fulfillment`` node read by the poll: ``poll:fulfillment:<id>:<updatedAt>``
    (a new tracking number is a new version); ordered like :func:`polled_refund_event_values`."""
    order_id, updated = _order_keys(order)
    version = parse_timestamp(fulfillment.get("updatedAt") or fulfillment.get("createdAt"))
    stamp = version.isoformat() if version else "unknown"
    key = f"poll:fulfillment:{legacy_id(fulfillment['id'])}:{stamp}"
    return _polled_values(key, FULFILLMENT_POLL_TOPIC, "stock.picking", order_id, updated)


# ------------------------------------------------------------------------- stock
def shopify_quantity(free_quantity) -> int:
    """Odoo's free quantity -> the whole, non-negative number Shopify sells."""
    value = Decimal(str(free_quantity or 0)).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(value), 0)


def stock_resource_key(inventory_item_id, location_id) -> str:
    """The outbox resource key of one inventory level (coalescing unit)."""
    return f"{_tail(inventory_item_id)}@{_tail(location_id)}"


def plan_stock_changes(
    levels: Mapping[tuple[str, str], int], last_sent: Mapping[tuple[str, str], int | None]
) -> list[tuple[str, str, int, None]]:
    """Quantities to send: those that differ from what was last sent (or never sent).

    ``levels`` and ``last_sent`` are keyed by ``(inventory_item_gid, location_gid)``.
    Returns ``(item, location, quantity, None)`` tuples -- the ``None`` opts out of
    Shopify's compare-and-swap: Odoo is the stock master -- sorted for stable batches.
    """
    changes = []
    for key in sorted(levels):
        quantity = int(levels[key])
        if last_sent.get(key) != quantity:
            changes.append((key[0], key[1], quantity, None))
    return changes


def stock_batch_key(backend_id, event_ids: Iterable[int], changes) -> str:
    """Idempotency key of one stock push.

    The same events with the same quantities (a retry after a timeout) give the same
    key, so Shopify applies the push once; any new event or new quantity gives a new
    key, so a legitimate later push (5 -> 3 -> 5) is never mistaken for a replay.
    """
    material = json.dumps([sorted(int(i) for i in event_ids), [list(c[:3]) for c in changes]])
    return f"omni-stock-{backend_id}-{hashlib.sha256(material.encode()).hexdigest()[:32]}"


# ------------------------------------------------------------------ fulfillments
_OPEN_FULFILLMENT_ORDER = ("OPEN", "IN_PROGRESS")


def plan_fulfillment(
    fulfillment_orders: Iterable[Mapping[str, Any]],
    wanted: Mapping[str, int],
    preferred_location: str | None = None,
) -> tuple[list[tuple[str | None, list[dict]]], dict[str, int]]:
    """Place the shipped quantities on the order's open fulfillment-order lines.

    ``fulfillment_orders`` as :meth:`ShopifyClient.fulfillment_orders` returns them;
    ``wanted`` maps line item ids (legacy ids or gids) to shipped quantities.
    Fulfillment orders at ``preferred_location`` (the warehouse's mapped Shopify
    location) are used first. Returns ``(per_location, missing)``: one list of
    ``create_fulfillment`` groups per location (Shopify fulfils one location per call),
    and the quantities no open line could take (already fulfilled on Shopify).
    """
    remaining = {_tail(key): int(value) for key, value in wanted.items() if int(value) > 0}
    ordered = sorted(
        (fo for fo in fulfillment_orders if fo.get("status") in _OPEN_FULFILLMENT_ORDER),
        key=lambda fo: preferred_location is None or _tail(fo.get("location_id")) != _tail(preferred_location),
    )
    by_location: dict[str | None, list[dict]] = {}
    for fo in ordered:
        lines = []
        for line in fo.get("lines") or []:
            item = _tail(line.get("line_item_id"))
            take = min(remaining.get(item, 0), int(line.get("remaining_quantity") or 0))
            if take > 0:
                lines.append({"id": line["id"], "quantity": take})
                remaining[item] -= take
        if lines:
            by_location.setdefault(fo.get("location_id"), []).append({"fulfillment_order_id": fo["id"], "lines": lines})
    missing = {item: quantity for item, quantity in remaining.items() if quantity > 0}
    return list(by_location.items()), missing


# ----------------------------------------------------------------------- refunds
def plan_refund(
    lines: Iterable[Mapping[str, Any]],
    amount: Decimal,
    gateway: str | None,
    parent_transaction_id: str | None = None,
    note: str | None = None,
) -> dict:
    """``ShopifyClient.create_refund`` keyword arguments for a credit note made in Odoo.

    ``lines``: ``{'external_id', 'quantity', 'amount'}`` per credit-note line, with the
    sale line's binding suffix as ``external_id`` (``'14417890001'`` for a product line,
    ``'shipping:<id>'`` for shipping; other lines carry only money). Items are refunded
    without restocking: Odoo is the stock master and publishes the quantity itself.
    ``amount`` (what goes back to the buyer) becomes one refund transaction on
    ``gateway``, parented to the order's sale transaction when known.
    """
    quantities: dict[str, int] = {}
    shipping = Decimal(0)
    for line in lines:
        external_id = str(line.get("external_id") or "")
        if not external_id:
            continue
        if external_id.startswith("shipping:") and not external_id.endswith(":discount"):
            shipping += Decimal(str(line.get("amount") or 0))
        elif ":" not in external_id:
            quantity = int(Decimal(str(line.get("quantity") or 0)))
            if quantity > 0:
                quantities[external_id] = quantities.get(external_id, 0) + quantity
    kwargs = {
        "line_items": [
            {"line_item_id": item, "quantity": quantity, "restock_type": "NO_RESTOCK"}
            for item, quantity in quantities.items()
        ],
        "transactions": [],
        "note": note,
    }
    if shipping > 0:
        kwargs["shipping_amount"] = shipping
    amount = Decimal(str(amount))
    if amount > 0 and gateway:
        transaction = {"gateway": gateway, "amount": amount, "kind": "REFUND"}
        if parent_transaction_id:
            transaction["parent_id"] = parent_transaction_id
        kwargs["transactions"].append(transaction)
    return kwargs


def _tail(value) -> str | None:
    """``'gid://shopify/LineItem/42'`` and ``42`` -> ``'42'``; None stays None."""
    if value in (None, ""):
        return None
    return str(value).rsplit("/", 1)[-1]


__all__ = [
    "FULFILLMENT_POLL_TOPIC",
    "FULFILLMENT_TOPICS",
    "INBOUND_TOPICS",
    "ORDER_TOPICS",
    "OUT_FULFILLMENT",
    "OUT_REFUND",
    "OUT_STOCK",
    "POLL_TOPIC",
    "REFUND_POLL_TOPIC",
    "REFUND_TOPIC",
    "RETURN_TOPICS",
    "UNINSTALL_TOPIC",
    "WEBHOOK_TOPICS",
    "plan_fulfillment",
    "plan_refund",
    "plan_stock_changes",
    "polled_fulfillment_event_values",
    "polled_order_event_values",
    "polled_refund_event_values",
    "shopify_quantity",
    "stock_batch_key",
    "stock_resource_key",
    "webhook_event_values",
]
