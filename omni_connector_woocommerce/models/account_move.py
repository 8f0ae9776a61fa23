"""Refunds made in Odoo on WooCommerce orders: the choice "refund through the gateway" and the export."""

from odoo import fields, models

from .omni_backend import OUT_REFUND


class AccountMove(models.Model):
    _inherit = "account.move"

    woocommerce_refund_via_gateway = fields.Boolean(
        string="Refund Through the Gateway",
        copy=False,
        help="For a credit note on a WooCommerce order: when posted, WooCommerce asks the order's payment gateway "
        "(Stripe, PayPal...) to pay the customer back (api_refund). Off: the refund is only recorded in "
        "WooCommerce, for money returned another way (cash, bank transfer).",
    )
    woocommerce_restock = fields.Boolean(
        string="Restock in WooCommerce",
        copy=False,
        help="Ask WooCommerce to add the refunded quantities back to its stock (api_restock). Odoo's own stock "
        "export overwrites WooCommerce's quantity anyway; use it when Odoo does not export stock.",
    )
    woocommerce_order = fields.Boolean(
        compute="_compute_woocommerce_order", help="Whether this credit note is on a WooCommerce order."
    )

    def _compute_woocommerce_order(self):
        for move in self:
            move.woocommerce_order = move.move_type == "out_refund" and any(
                order.omni_backend_id.channel == "woocommerce"
                for order in move.sudo().invoice_line_ids.sale_line_ids.order_id
            )

    def _post(self, soft=True):
        posted = super()._post(soft)
        if not self.env.context.get("omni_woocommerce_no_export"):
            posted._woocommerce_enqueue_refund_export()
        return posted

    def _omni_export_refund(self):
        """An approved refund (governance): queue its push to WooCommerce."""
        self._woocommerce_enqueue_refund_export()
        return super()._omni_export_refund()

    def _woocommerce_enqueue_refund_export(self):
        """Queue the WooCommerce refund of credit notes made in Odoo (backend option). Credit notes
        imported from WooCommerce carry the refund id (``omni_external_id``) and are never sent back;
        one above the channel's refund approval threshold is pushed once approved (governance)."""
        Event = self.env["omni.event"].sudo()
        for move in self.filtered(
            lambda m: m.move_type == "out_refund" and m.state == "posted" and not m.omni_external_id
            and not m._omni_refund_waits()
        ):
            sale = move.sudo().invoice_line_ids.sale_line_ids.order_id.filtered(
                lambda s: (
                    s.omni_backend_id.channel == "woocommerce"
                    and s.omni_external_id
                    and s.omni_backend_id.woocommerce_export_refunds
                    and s.omni_backend_id.active
                )
            )[:1]
            if not sale:
                continue
            key = f"refund:{move.id}"
            if Event.search_count([("backend_id", "=", sale.omni_backend_id.id), ("idempotency_key", "=", key)],
                                  limit=1):
                continue
            Event._omni_enqueue_outgoing(
                sale.omni_backend_id, OUT_REFUND, {"move_id": move.id},
                resource_model="account.move", resource_key=sale.omni_external_id, idempotency_key=key,
            )
