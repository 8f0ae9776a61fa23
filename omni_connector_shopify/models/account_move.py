from odoo import models

from ..lib.sync import OUT_REFUND


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft)
        if not self.env.context.get("omni_shopify_no_export"):
            posted._shopify_enqueue_refund_export()
        return posted

    def _omni_export_refund(self):
        """An approved refund (governance): queue its push to Shopify."""
        self._shopify_enqueue_refund_export()
        return super()._omni_export_refund()

    def _shopify_enqueue_refund_export(self):
        """Queue the Shopify refund of credit notes made in Odoo on Shopify orders (backend option).

        Credit notes imported from Shopify carry the refund's id (``omni_external_id``) and
        are never sent back.
        """
        Event = self.env["omni.event"].sudo()
        for move in self.filtered(
            lambda m: m.move_type == "out_refund" and m.state == "posted" and not m.omni_external_id
            and not m._omni_refund_waits()  # above the approval threshold: pushed once approved
        ):
            sales = move.sudo().invoice_line_ids.sale_line_ids.order_id
            sale = sales.filtered(
                lambda s: (
                    s.omni_backend_id.channel == "shopify"
                    and s.omni_external_id
                    and s.omni_backend_id.shopify_export_refunds
                    and s.omni_backend_id.active
                )
            )[:1]
            if not sale:
                continue
            key = f"refund:{move.id}"
            if Event.search_count(
                [("backend_id", "=", sale.omni_backend_id.id), ("idempotency_key", "=", key)], limit=1
            ):
                continue
            Event._omni_enqueue_outgoing(
                sale.omni_backend_id,
                OUT_REFUND,
                {"move_id": move.id},
                resource_model="account.move",
                resource_key=sale.omni_external_id,
                idempotency_key=key,
            )
