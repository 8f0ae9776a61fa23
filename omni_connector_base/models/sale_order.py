from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    omni_backend_id = fields.Many2one(
        "omni.backend",
        string="Channel",
        index=True,
        readonly=True,
        copy=False,
        help="The channel account this order came from.",
    )
    omni_external_id = fields.Char(
        string="Channel Order ID", readonly=True, copy=False, help="The order's id on the channel."
    )
    omni_channel_order_name = fields.Char(
        string="Channel Order",
        readonly=True,
        copy=False,
        index="trigram",
        help="The order number the customer sees on the channel (e.g. #1042).",
    )
    omni_financial_status = fields.Char(string="Channel Payment Status", readonly=True, copy=False)
    omni_payment_gateway = fields.Char(string="Channel Gateway", readonly=True, copy=False)
    omni_payment_ids = fields.Many2many(
        "account.payment",
        "omni_sale_order_payment_rel",
        "order_id",
        "payment_id",
        string="Channel Payments",
        readonly=True,
        copy=False,
    )
    omni_content_digest = fields.Char(
        readonly=True, copy=False, help="Digest of the channel order's lines and totals last applied."
    )
    omni_event_count = fields.Integer(compute="_compute_omni_event_count", string="Channel Events")

    # One sale order per channel order, enforced by the database itself: the last line of
    # defence against duplicate orders, whatever happens above it.
    _omni_unique_channel_order = models.UniqueIndex(
        "(omni_backend_id, omni_external_id) WHERE omni_external_id IS NOT NULL",
        "This channel order was already imported.",
    )

    @api.depends("omni_backend_id", "omni_external_id")
    def _compute_omni_event_count(self):
        Event = self.env["omni.event"].sudo()
        counts = {}
        bound = self.filtered("omni_external_id")
        if bound:
            domain = [
                ("backend_id", "in", bound.omni_backend_id.ids),
                ("resource_key", "in", bound.mapped("omni_external_id")),
            ]
            for backend, key, count in Event._read_group(domain, ["backend_id", "resource_key"], ["__count"]):
                counts[(backend.id, key)] = count
        for order in self:
            order.omni_event_count = counts.get((order.omni_backend_id.id, order.omni_external_id), 0)

    def _prepare_confirmation_values(self):
        """Channel orders keep the channel's order date when confirmed (Odoo stamps "now").

        The date is when the customer ordered; the delivery's deadlines are computed from it at
        confirmation, and later changes from the channel (a lowered quantity) compute theirs from
        the same date, so Odoo lowers the open delivery instead of adding a return for goods that
        never left.
        """
        values = super()._prepare_confirmation_values()
        if self and all(order.omni_backend_id and order.date_order for order in self):
            values.pop("date_order", None)
        return values

    def action_view_omni_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_connector_base.action_omni_event")
        action["domain"] = [("backend_id", "=", self.omni_backend_id.id), ("resource_key", "=", self.omni_external_id)]
        action["context"] = {}
        return action


class AccountPayment(models.Model):
    _inherit = "account.payment"

    omni_backend_id = fields.Many2one("omni.backend", string="Channel", index=True, readonly=True, copy=False)
    omni_gateway = fields.Char(string="Channel Gateway", readonly=True, copy=False)
    omni_transaction_id = fields.Char(
        string="Channel Transaction",
        readonly=True,
        copy=False,
        index=True,
        help="The gateway's transaction id; payouts are matched on it.",
    )


class AccountMove(models.Model):
    _inherit = "account.move"

    omni_backend_id = fields.Many2one("omni.backend", string="Channel", index=True, readonly=True, copy=False)
    omni_external_id = fields.Char(string="Channel Refund ID", readonly=True, copy=False, index=True)
