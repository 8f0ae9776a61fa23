from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    shopify_content_digest = fields.Char(
        readonly=True,
        copy=False,
        help="Digest of what the Shopify order sells (lines, prices, addresses, status) as last applied. An "
        "orders/updated webhook with the same digest (tags, fulfillment status... changed) changes nothing.",
    )
    shopify_is_test = fields.Boolean(
        string="Shopify Test Order",
        readonly=True,
        copy=False,
        help="Shopify flagged this order as a test order (imported because the backend imports test orders).",
    )
