from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    omni_settlement_id = fields.Many2one(
        "omni.settlement", string="Payout", readonly=True, copy=False, index="btree_not_null",
        help="The payout/settlement this entry books.",
    )


class AccountPayment(models.Model):
    _inherit = "account.payment"

    # Payouts are matched on the channel transaction id, which payments registered by hand carry
    # in their Memo (or payment reference): indexed so a settlement's lookup stays an index scan.
    _omni_payment_reference_idx = models.Index("(payment_reference) WHERE payment_reference IS NOT NULL")
    _omni_memo_idx = models.Index("(memo) WHERE memo IS NOT NULL")
