"""The credit note wizard: "refund through the gateway" and restock, for WooCommerce orders."""

from odoo import fields, models


class AccountMoveReversal(models.TransientModel):
    _inherit = "account.move.reversal"

    woocommerce_refund_via_gateway = fields.Boolean(
        string="Refund Through the Gateway",
        help="WooCommerce orders: the store's payment gateway pays the customer back when the credit note is "
        "posted. Off: the refund is only recorded in WooCommerce (money returned another way).",
    )
    woocommerce_restock = fields.Boolean(
        string="Restock in WooCommerce", help="WooCommerce orders: put the refunded quantities back in its stock."
    )

    def _prepare_default_reversal(self, move):
        values = super()._prepare_default_reversal(move)
        values["woocommerce_refund_via_gateway"] = self.woocommerce_refund_via_gateway
        values["woocommerce_restock"] = self.woocommerce_restock
        return values
