"""Governance on Shopify: orders the risk policy cancels are cancelled on Shopify (``orderCancel``).

The risk itself is read with the order's transactions (``shopify_inbound._shopify_order_payments``)
and by the poll (``mapper_graphql.map_graphql_order``); the base's policy acts on it.
"""

from odoo import models

from odoo.addons.omni_connector_base.models.omni_governance_approval import OUT_ORDER_CANCEL
from odoo.addons.omni_connector_base.pipeline.errors import StaleEvent


class OmniBackendShopifyGovernance(models.Model):
    # The Shopify connector's governance pushes, in a file of their own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    def _omni_handle_event(self, event):
        if self.channel == "shopify" and event.direction == "out" and event.topic == OUT_ORDER_CANCEL:
            return self._shopify_push_cancel(event)
        return super()._omni_handle_event(event)

    def _shopify_push_cancel(self, event):
        """Cancel the order on Shopify (reason FRAUD, refunded and restocked there); the
        ``orders/cancelled`` webhook that follows finds the order already cancelled in Odoo."""
        payload = self._shopify_payload(event)
        order_id = str(payload.get("order_id") or "")
        sale = self.env["omni.binding"]._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale or sale.state != "cancel":
            raise StaleEvent(self.env._("Order %s is not cancelled in Odoo any more; nothing cancelled on Shopify.",
                                        order_id))
        job = self._shopify_call(
            "cancel_order",
            order_id,
            reason="FRAUD" if payload.get("reason") == "fraud" else "OTHER",
            staff_note=payload.get("note") or None,
            idempotency_key=self._shopify_idempotency_key(event.idempotency_key),
        )
        sale.message_post(body=self.env._("Cancelled on Shopify (job %s).", (job or {}).get("id") or "-"))
        return sale
