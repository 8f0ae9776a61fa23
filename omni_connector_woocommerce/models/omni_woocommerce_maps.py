"""WooCommerce-only mappings of a backend: order status -> action, tax rate id -> percent."""

from odoo import fields, models

from ..lib.mapper import STATUS_ACTIONS

ACTION_LABELS = {
    "quotation": "Quotation (not confirmed)",
    "confirm": "Confirm, awaiting payment",
    "paid": "Paid: confirm (payment rules apply)",
    "cancel": "Cancel",
    "refund": "Refunded: import the refunds",
    "ignore": "Ignore (no exception)",
}


class OmniWooCommerceStatusMap(models.Model):
    """What an order in a WooCommerce status becomes in Odoo."""

    _name = "omni.woocommerce.status.map"
    _inherit = ["omni.lookup.cache.mixin"]
    _description = "WooCommerce Order Status Action"
    _order = "backend_id, status"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    status = fields.Char(
        required=True,
        help="WooCommerce order status slug without the wc- prefix: pending, processing, on-hold, completed, "
        "cancelled, refunded, failed, checkout-draft, or a custom status of the store.",
    )
    action = fields.Selection(
        [(action, ACTION_LABELS[action]) for action in STATUS_ACTIONS],
        required=True,
        help="Quotation: the sale order stays a quotation. Confirm: confirmed, waiting for the money (bank "
        "transfer, cash on delivery). Paid: the backend's payment rule for the payment method confirms, invoices "
        "and registers the payment. Cancel: the cancellation path. Refunded: the store's refunds become credit "
        "notes. Ignore: acknowledged without effect (block checkout drafts).",
    )

    _unique_status = models.Constraint("UNIQUE(backend_id, status)", "This status is already mapped.")


class OmniWooCommerceTaxRate(models.Model):
    """The percentage of a WooCommerce tax rate id, for stores whose orders omit ``rate_percent``.

    The percentage then finds the Odoo tax through the backend's Tax Mapping (or the company's
    tax with that percentage), as for every channel."""

    _name = "omni.woocommerce.tax.rate"
    _inherit = ["omni.lookup.cache.mixin"]
    _description = "WooCommerce Tax Rate"
    _order = "backend_id, rate_id"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    rate_id = fields.Integer(
        string="Rate ID", required=True, help="The rate's id in WooCommerce (Settings > Tax, tax_lines[].rate_id)."
    )
    name = fields.Char(help="The rate's label, for people (e.g. CA State Tax).")
    percent = fields.Float(
        digits=(6, 4), required=True, help="The rate in percent (8.75 for 8.75 %), used when the order omits it."
    )

    _unique_rate = models.Constraint("UNIQUE(backend_id, rate_id)", "This rate id is already mapped.")
