"""The governance calls of the Shopify client (a mixin of ``ShopifyClient``): the order's risk
assessment, read with its transactions, the cancellation of an order the risk policy rejects, and
the returns with exchange line items. No ``odoo`` import."""

import uuid

from .graphql import M_ORDER_CANCEL, Q_ORDER_TRANSACTIONS, Q_RETURN, _gql_string, gid

CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")


class ShopifyGovernanceCalls:
    """Needs ``self.graphql`` (``ShopifyClient``)."""

    def get_order_transactions_and_risk(self, order_gid):
        """The order's node with its ``transactions`` and its ``risk`` (``OrderRiskSummary``:
        ``mapper_common.shopify_risk_level`` reads it), in one cheap request; None when Shopify
        has no such order."""
        data = self.graphql(Q_ORDER_TRANSACTIONS, {"id": gid("Order", order_gid)}, cost=12)
        return data.get("order") or None

    def get_return(self, return_gid):
        """The ``Return`` node (its returned and exchange line items, its order's currency), or None
        when Shopify has no such return."""
        data = self.graphql(Q_RETURN, {"id": gid("Return", return_gid)}, cost=160)
        return data.get("return") or None

    def cancel_order(self, order_gid, *, reason="FRAUD", staff_note=None, refund=True, restock=True,
                     idempotency_key=None):
        """Cancel the order on Shopify (``orderCancel``: an asynchronous job; Shopify refunds and
        restocks as asked). Returns the job node; user errors raise ``ShopifyApiError``."""
        if reason not in CANCEL_REASONS:
            raise ValueError(f"reason must be one of {CANCEL_REASONS}")
        key = idempotency_key or f"omni-{uuid.uuid4()}"
        variables = {
            "orderId": gid("Order", order_gid),
            "reason": reason,
            "refund": bool(refund),
            "restock": bool(restock),
            "notifyCustomer": False,
            "staffNote": (staff_note or "")[:255] or None,
        }
        data = self.graphql(M_ORDER_CANCEL % _gql_string(key), variables, cost=10)
        return (data.get("orderCancel") or {}).get("job")
