"""Accounting -> Reporting -> Payouts in Transit: payouts posted to the transit account, no bank line yet."""

from odoo import fields, models, tools
from odoo.tools import SQL


class OmniPayoutTransitReport(models.Model):
    _name = "omni.payout.transit.report"
    _description = "Payouts in Transit"
    _auto = False
    _order = "payout_date, id"
    _depends = {
        "omni.settlement": ["state", "statement_line_id", "payout_account_id", "company_id", "currency_id",
                            "expected_amount", "payout_date", "move_id"],
        "omni.settlement.account": ["bank_journal_id"],
    }

    settlement_id = fields.Many2one("omni.settlement", string="Payout", readonly=True)
    payout_account_id = fields.Many2one("omni.settlement.account", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(string="In Transit", readonly=True, help="The deposit expected on the bank account.")
    payout_date = fields.Date(readonly=True, help="Date the deposit should reach the bank.")
    days_in_transit = fields.Integer(readonly=True, help="Days since the payout date (negative: not due yet).")
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True)
    bank_journal_id = fields.Many2one("account.journal", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL(
            """
            CREATE VIEW %s AS (
                SELECT s.id, s.id AS settlement_id, s.payout_account_id, s.company_id, s.currency_id,
                       s.expected_amount AS amount, s.payout_date,
                       (CURRENT_DATE - s.payout_date) AS days_in_transit, s.move_id, a.bank_journal_id
                  FROM omni_settlement s JOIN omni_settlement_account a ON a.id = s.payout_account_id
                 WHERE s.state = 'posted' AND s.statement_line_id IS NULL
            )
            """, SQL.identifier(self._table)))
