"""Settlement lines: one economic event of a payout (a charge, a refund, a fee...).

Amounts follow the settlement sign convention of ``lib.settlement``: money received by
the merchant is positive, ``net = gross - fee``.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

from .omni_settlement_account import KIND_SELECTION

MATCH_STATES = [
    ("not_applicable", "Not applicable"),
    ("unmatched", "Unmatched"),
    ("suggested", "Suggested"),
    ("difference", "Amount differs"),
    ("matched", "Matched"),
    ("accepted", "Accepted"),
]
MATCH_METHODS = [
    ("reference", "Reference"),
    ("order", "Order id"),
    ("amount_date", "Amount and date"),
    ("manual", "Confirmed by a person"),
]
# Lines whose booking depends on what they match: the order-time payment they clear.
BLOCKING_KINDS = ("sale", "refund")
OPEN_MATCH_STATES = ("unmatched", "suggested", "difference")


class OmniSettlementLine(models.Model):
    _name = "omni.settlement.line"
    _description = "Payout Line"
    _order = "settlement_id, sequence, id"
    _check_company_auto = True

    settlement_id = fields.Many2one("omni.settlement", required=True, ondelete="cascade", index=True,
                                    help="The payout this line belongs to.")
    sequence = fields.Integer(default=10, help="Position of the line in the payout, as the source listed it.")
    company_id = fields.Many2one("res.company", required=True, index=True, help="Company of the payout.")
    currency_id = fields.Many2one("res.currency", required=True,
                                  help="Currency of the amounts (the payout's currency).")
    kind = fields.Selection(KIND_SELECTION, required=True, index=True,
                            help="What the line is: a sale, a refund, a fee, a commission, a chargeback...")
    external_id = fields.Char(required=True, help="The line's id at the source (balance transaction id...).")
    description = fields.Char(help="Description given by the source.")
    gross = fields.Monetary(help="Amount of the event, + when money came in, - when it went out.")
    fee = fields.Monetary(help="What the source deducted from this line's gross (+ when charged).")
    net = fields.Monetary(help="Gross minus fee: what the line adds to the deposit.")
    fee_type = fields.Char(index=True, help="Type of the fee, for fee lines and fee analysis (stripe_fee, FBA...).")
    fee_breakdown = fields.Json(help="The fee itemised by type, as the source gave it.")
    components = fields.Json(help="Signed amounts making up the gross by the source's label (Principal, Tax...).")
    original_currency_id = fields.Many2one(
        "res.currency", help="Currency the customer paid in, when it differs from the payout currency.")
    original_amount = fields.Monetary(currency_field="original_currency_id",
                                      help="Amount in the customer's currency.")
    exchange_rate = fields.Float(digits=(16, 10),
                                 help="Rate the source applied from the original to the payout currency.")
    transaction_ref = fields.Char(index="btree_not_null",
                                  help="Charge / order transaction id at the source (ch_..., 7301000001).")
    order_ref = fields.Char(index="btree_not_null", help="The channel order id the line belongs to.")
    refund_ref = fields.Char(help="Refund id at the source (re_..., Amazon adjustment id).")
    dispute_ref = fields.Char(index="btree_not_null", help="Dispute / chargeback id at the source (dp_...).")
    extra_refs = fields.Char(help="Further ids of the same money movement (PaymentIntent), space separated.")
    sku = fields.Char(string="SKU", help="Product SKU (marketplace settlements).")
    quantity = fields.Integer(help="Quantity sold (marketplace settlements).")
    occurred_at = fields.Datetime(help="When the event happened at the source.")
    line_date = fields.Date(index=True, help="Date of the event (for grouping and the matching window).")
    # -- matching
    match_state = fields.Selection(MATCH_STATES, required=True, default="unmatched", index=True,
                                   help="Matched: linked to its Odoo records. Suggested: candidates by amount "
                                   "and date wait for a person. Amount differs: linked but the amounts differ "
                                   "beyond the tolerance. Accepted: a person let it post to the clearing account.")
    match_method = fields.Selection(MATCH_METHODS, help="How the line was matched.")
    match_difference = fields.Float(digits=(16, 4),
                                    help="Line amount minus matched record amount, in the record's currency.")
    payment_id = fields.Many2one("account.payment", index="btree_not_null", check_company=True,
                                 help="The order-time payment (or refund payment) this line clears.")
    invoice_id = fields.Many2one("account.move", index="btree_not_null", check_company=True,
                                 help="The customer invoice of the line.")
    credit_note_id = fields.Many2one("account.move", index="btree_not_null", check_company=True,
                                     help="The credit note of a refund line.")
    order_id = fields.Many2one("sale.order", index="btree_not_null", check_company=True,
                               help="The sale order of the line.")
    partner_id = fields.Many2one("res.partner", help="The customer, when known.")
    suggested_payment_ids = fields.Many2many(
        "account.payment", "omni_settlement_line_suggestion_rel", "line_id", "payment_id",
        string="Suggested Payments", help="Payments of the same amount within the date window: confirm one.")
    reversed_line_id = fields.Many2one("omni.settlement.line", index="btree_not_null",
                                       help="For a won dispute: the chargeback line it reverses.")
    # -- posting
    account_id = fields.Many2one("account.account", string="Posted To", readonly=True,
                                 help="Account the line's gross was booked to.")
    move_line_id = fields.Many2one("account.move.line", string="Journal Item", readonly=True,
                                   help="Journal item carrying the line's gross (shared in summary mode).")
    settlement_state = fields.Selection(related="settlement_id.state", string="Payout State")
    payout_date = fields.Date(related="settlement_id.payout_date")
    source = fields.Selection(related="settlement_id.source")

    _uniq_external = models.Constraint(
        "UNIQUE(settlement_id, external_id)", "A payout line appears once in its payout.")

    @api.depends("settlement_id.name", "external_id")
    def _compute_display_name(self):
        for line in self:
            line.display_name = f"{line.settlement_id.name or ''} / {line.external_id or ''}"

    # ---------------------------------------------------------------- actions

    def _omni_check_editable(self):
        if self.settlement_id.filtered(lambda s: s.state in ("posted", "reconciled")):
            raise UserError(self.env._("The payout is already posted: reset it before changing its matches."))

    def action_confirm_match(self):
        """Confirm the chosen payment (or the only suggestion) as this line's match."""
        self._omni_check_editable()
        for line in self:
            payment = line.payment_id or (line.suggested_payment_ids if len(line.suggested_payment_ids) == 1
                                          else self.env["account.payment"])
            if not payment and not (line.order_id or line.invoice_id or line.credit_note_id):
                raise UserError(self.env._("Choose the payment of line %s first.", line.external_id))
            values = {"match_state": "matched", "match_method": "manual", "suggested_payment_ids": [(5,)]}
            if payment:
                values.update(payment_id=payment.id, partner_id=payment.partner_id.id,
                              match_difference=line._omni_difference_with(payment))
            line.write(values)
        self.settlement_id._omni_after_line_change()
        return True

    def action_accept(self):
        """Let the line post as it is: unmatched sales/refunds to the clearing account, a matched line
        with an amount difference against its payment (partial reconciliation)."""
        self._omni_check_editable()
        self.write({"match_state": "accepted"})
        for line in self:
            line.settlement_id.message_post(body=self.env._("Line %(line)s accepted by %(user)s.",
                                                            line=line.external_id, user=self.env.user.name))
        self.settlement_id._omni_after_line_change()
        return True

    def action_unmatch(self):
        self._omni_check_editable()
        self.write({"match_state": "unmatched", "match_method": False, "payment_id": False, "invoice_id": False,
                    "credit_note_id": False, "order_id": False, "match_difference": 0.0})
        self.settlement_id._omni_after_line_change()
        return True

    def _omni_difference_with(self, payment):
        self.ensure_one()
        amount = self.original_amount if self.original_currency_id else self.gross
        if self.kind == "refund_failure":
            amount = -amount  # reverses its refund: matched against the refund's (outbound) payment
        signed = payment.amount if payment.payment_type == "inbound" else -payment.amount
        return payment.currency_id.round(amount - signed)

    def action_open_settlement(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.settlement", "res_id": self.settlement_id.id,
                "view_mode": "form", "target": "current"}
