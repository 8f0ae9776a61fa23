"""Fees by type and month: every fee line and every itemised per-line fee of the payouts."""

from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.omni_settlement_account import KIND_SELECTION, SOURCES

FEE_KINDS = ("fee", "commission", "dispute_fee", "shipping")


class OmniSettlementFeeReport(models.Model):
    _name = "omni.settlement.fee.report"
    _description = "Payout Fees Analysis"
    _auto = False
    _order = "date desc"

    date = fields.Date(readonly=True, help="Date of the fee (of its line, else of the payout).")
    settlement_id = fields.Many2one("omni.settlement", string="Payout", readonly=True)
    line_id = fields.Many2one("omni.settlement.line", string="Payout Line", readonly=True)
    payout_account_id = fields.Many2one("omni.settlement.account", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    source = fields.Selection(SOURCES, readonly=True)
    kind = fields.Selection(KIND_SELECTION, readonly=True, help="Line kind the fee comes from.")
    fee_type = fields.Char(readonly=True, help="Fee type (stripe_fee, Commission, FBA fulfilment...).")
    currency_id = fields.Many2one("res.currency", readonly=True)
    company_currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(readonly=True, help="Fee charged (positive), in the payout currency.")
    amount_company = fields.Monetary(currency_field="company_currency_id", string="Amount (Company Currency)",
                                     readonly=True, help="Fee converted at the payout's rate.")

    def _query(self):
        return SQL(
            """
            SELECT row_number() OVER (ORDER BY f.line_id, f.fee_type) AS id, f.*,
                   f.amount * s.company_rate AS amount_company, c.currency_id AS company_currency_id,
                   s.payout_account_id, s.source
              FROM (
                    SELECT l.id AS line_id, l.settlement_id, l.company_id, l.currency_id, l.kind,
                           COALESCE(l.line_date, s.payout_date) AS date,
                           COALESCE(NULLIF(l.fee_type, ''), l.kind) AS fee_type, -l.gross AS amount
                      FROM omni_settlement_line l JOIN omni_settlement s ON s.id = l.settlement_id
                     WHERE l.kind IN %(kinds)s
                 UNION ALL
                    SELECT l.id, l.settlement_id, l.company_id, l.currency_id, l.kind,
                           COALESCE(l.line_date, s.payout_date), b.key, b.value::numeric
                      FROM omni_settlement_line l JOIN omni_settlement s ON s.id = l.settlement_id,
                           jsonb_each_text(l.fee_breakdown) b
                     WHERE l.fee != 0 AND l.fee_breakdown IS NOT NULL AND jsonb_typeof(l.fee_breakdown) = 'object'
                 UNION ALL
                    -- what a partial breakdown leaves out: booked as type 'fee' (lib.posting.split_fee)
                    SELECT l.id, l.settlement_id, l.company_id, l.currency_id, l.kind,
                           COALESCE(l.line_date, s.payout_date), 'fee', l.fee - itemised.amount
                      FROM omni_settlement_line l JOIN omni_settlement s ON s.id = l.settlement_id,
                           LATERAL (SELECT COALESCE(SUM(b.value::numeric), 0) AS amount
                                      FROM jsonb_each_text(l.fee_breakdown) b) itemised
                     WHERE l.fee != 0 AND l.fee_breakdown IS NOT NULL AND jsonb_typeof(l.fee_breakdown) = 'object'
                       AND l.fee != itemised.amount
                 UNION ALL
                    SELECT l.id, l.settlement_id, l.company_id, l.currency_id, l.kind,
                           COALESCE(l.line_date, s.payout_date), 'fee', l.fee
                      FROM omni_settlement_line l JOIN omni_settlement s ON s.id = l.settlement_id
                     WHERE l.fee != 0 AND (l.fee_breakdown IS NULL OR jsonb_typeof(l.fee_breakdown) != 'object')
                   ) f
              JOIN omni_settlement s ON s.id = f.settlement_id
              JOIN res_company c ON c.id = f.company_id
            """,
            kinds=FEE_KINDS,
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query()))
