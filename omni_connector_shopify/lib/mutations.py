"""The business mutations of the Shopify client (a mixin of ``ShopifyClient``): inventory
quantities, fulfillments, refunds. Each one is idempotent on Shopify's side (the
``@idempotent`` directive with the caller's key) or safe to repeat, and raises the client's
classified errors (``ShopifyTransientError`` with ``retry_after``, ``ShopifyApiError``).
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .governance import ShopifyGovernanceCalls
from .graphql import (
    M_FULFILLMENT_CREATE,
    M_INVENTORY_SET,
    M_REFUND_CREATE,
    Q_FULFILLMENT_ORDERS,
    _gql_string,
    gid,
)

INVENTORY_BATCH_SIZE = 250  # inventorySetQuantities accepts at most 250 quantities


class ShopifyMutations(ShopifyGovernanceCalls):
    """Needs ``self.graphql`` (``ShopifyClient``). The governance calls (risk, cancellation)
    come from ``governance.py``."""

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


def _batch_key(base_key, index, several):
    key = f"{base_key}-{index}" if several else str(base_key)
    if len(key) > 200:  # keep keys short whatever the caller passes
        key = hashlib.sha256(key.encode()).hexdigest()
    return key
