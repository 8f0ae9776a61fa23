"""Payouts/settlements: the model, its fields, totals and exceptions.

Flow: ``imported`` (the lines add up to the deposit) → ``matched`` (every sale and refund
is linked to its Odoo payment/invoice/order, or accepted) → ``posted`` (one journal entry
clears the order-time payments and books fees & co.) → ``reconciled`` (the deposit's bank
statement line is reconciled with the entry's net). Anything a person must look at puts
the settlement in ``exception`` (with the reason) and opens an ``omni.exception``.

Matching and posting work on whole settlements with a bounded number of queries (the
candidate records of all lines are fetched at once, never per line), so a 100,000-line
settlement costs the same per line as a 1,000-line one.

The model spans several files of ``omni.settlement``, one per role: ``omni_settlement_import.py``
(storing a canonical payout and its lines), ``omni_settlement_matching.py`` (lines → Odoo records),
``omni_settlement_posting.py`` (the journal entry), ``omni_settlement_bank.py`` (the bank deposit)
and ``omni_settlement_actions.py`` (buttons and crons).
"""

from datetime import timezone
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.money import quantize

from .omni_settlement_account import SOURCES
from .omni_settlement_line import BLOCKING_KINDS, OPEN_MATCH_STATES

STATES = [
    ("imported", "Imported"),
    ("matched", "Matched"),
    ("posted", "Posted"),
    ("reconciled", "Reconciled"),
    ("exception", "Exception"),
]
BLOCK_REASONS = [
    ("balance", "Lines do not add up to the payout"),
    ("currency", "No exchange rate"),
    ("unmatched", "Unmatched lines"),
    ("posting", "Processing failed"),
]
# Breakdown columns: kind -> total field (line gross); every line's fee goes to fees_total.
TOTAL_FIELDS = {
    "sale": "sales_total",
    "refund": "refunds_total",
    "refund_failure": "refunds_total",
    "fee": "fees_total",
    "commission": "commissions_total",
    "chargeback": "chargebacks_total",
    "chargeback_reversal": "chargebacks_total",
    "dispute_fee": "chargebacks_total",
    "reserve": "reserves_total",
    "withheld_tax": "withheld_taxes_total",
}
ALL_TOTAL_FIELDS = ("sales_total", "refunds_total", "fees_total", "commissions_total", "chargebacks_total",
                    "reserves_total", "withheld_taxes_total", "adjustments_total")
SQL_BATCH = 10000
# Who may book payouts: posting, resetting and bank-matching create, cancel and reconcile journal entries
# (as superuser, the entries belong to the payout, not to the user), so they need accounting rights.
ACCOUNTING_GROUP = "account.group_account_invoice"  # Invoicing / Billing, and everyone above it


def _dec(value):
    """A numeric read as text (exact) → Decimal; None → None."""
    return None if value is None else Decimal(value)


def _naive_utc(value):
    if value is None:
        return False
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _fmt(amount, currency):
    """``54.0, USD`` → ``'54.00 USD'`` (the currency's own decimals, for messages)."""
    return f"{amount:.{currency.decimal_places}f} {currency.name}"



class OmniSettlement(models.Model):
    _name = "omni.settlement"
    _description = "Payout / Settlement"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "payout_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True, help="Source and payout id.")
    payout_account_id = fields.Many2one(
        "omni.settlement.account", required=True, ondelete="restrict", index=True,
        check_company=True, tracking=True, help="The processor/marketplace account that paid out.")
    source = fields.Selection(related="payout_account_id.source", store=True, help="Where the payout comes from.")
    company_id = fields.Many2one("res.company", required=True, index=True, help="Company receiving the payout.")
    backend_id = fields.Many2one(related="payout_account_id.backend_id", help="Channel of the payout account.")
    external_id = fields.Char(string="Payout ID", required=True, index=True,
                              help="Payout/settlement id at the source, unique per payout account.")
    status = fields.Char(string="Source Status", help="The payout's status at the source (paid, in_transit...).")
    currency_id = fields.Many2one("res.currency", required=True, help="Currency of the payout.")
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    company_rate = fields.Float(
        string="Rate to Company Currency", digits=(16, 10), default=1.0, tracking=True,
        help="Company currency units per unit of the payout currency, used for the whole entry. Taken "
        "from Odoo's rates on the payout date at import; set the bank's rate here before posting if it differs.")
    period_start = fields.Datetime(help="First transaction of the payout.")
    period_end = fields.Datetime(help="Last transaction of the payout.")
    payout_date = fields.Date(index=True, help="Date the deposit reaches the bank.")
    expected_amount = fields.Monetary(string="Deposit", tracking=True,
                                      help="Amount paid to the bank (negative when the source debits it).")
    lines_total = fields.Monetary(help="Sum of the lines' nets; equals the deposit when the payout adds up.")
    balance_difference = fields.Monetary(string="Difference", help="Lines total minus deposit.")
    sales_total = fields.Monetary(string="Sales", help="Gross of the charges.")
    refunds_total = fields.Monetary(string="Refunds", help="Refunds paid back to customers.")
    fees_total = fields.Monetary(string="Fees", help="Processing fees deducted from lines and fee lines.")
    commissions_total = fields.Monetary(string="Commissions", help="Marketplace commissions.")
    chargebacks_total = fields.Monetary(string="Chargebacks",
                                        help="Disputes withdrawn, dispute fees, and funds reinstated.")
    reserves_total = fields.Monetary(string="Reserves", help="Funds held back (-) or released (+).")
    withheld_taxes_total = fields.Monetary(string="Withheld Taxes", help="Taxes kept by the marketplace.")
    adjustments_total = fields.Monetary(string="Adjustments & Other",
                                        help="Adjustments, shipping charges, promotions, failed payouts, other.")
    state = fields.Selection(STATES, required=True, default="imported", index=True, tracking=True,
                             help="Imported → Matched → Posted → Reconciled; Exception when a person must act.")
    block_reason = fields.Selection(BLOCK_REASONS, tracking=True, help="Why the payout is in exception.")
    state_message = fields.Text(string="Problem", help="What stops the payout, in words.")
    line_ids = fields.One2many("omni.settlement.line", "settlement_id", string="Lines")
    line_count = fields.Integer(help="Number of lines.")
    unmatched_count = fields.Integer(string="Unmatched", index=True,
                                     help="Sales and refunds not matched yet (unmatched, suggested, differing).")
    suggested_count = fields.Integer(string="Suggested", help="Lines with proposals waiting for a person.")
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True, copy=False, index="btree_not_null",
                              help="The entry booking the payout.")
    net_move_line_id = fields.Many2one("account.move.line", readonly=True, copy=False,
                                       help="The entry's net line, reconciled with the bank deposit.")
    clearing_pending = fields.Boolean(
        readonly=True, copy=False, index=True,
        help="The entry is posted but some order-time payments it clears are not reconciled yet: a large payout is "
        "cleared 1,000 payments per transaction (system parameter omni_reconciliation.clearing_chunk_size) by the "
        "match-and-post cron, which resumes where it stopped.")
    statement_line_id = fields.Many2one("account.bank.statement.line", string="Bank Statement Line", readonly=True,
                                        copy=False, index="btree_not_null",
                                        help="The bank line of the deposit, reconciled with the entry.")
    bank_match_method = fields.Selection([("label", "Payout id in the label"), ("amount_date", "Amount and date")],
                                         readonly=True,
                                         help="How the bank line was found.")
    payload_digest = fields.Char(readonly=True, copy=False,
                                 help="Fingerprint of the imported content: the same payout again changes nothing.")
    raw_data = fields.Json(string="Source Data", readonly=True, help="The payout as the source sent it.")
    imported_at = fields.Datetime(readonly=True, help="When the payout was imported.")
    matched_at = fields.Datetime(readonly=True, help="When the lines were last matched.")
    posted_at = fields.Datetime(readonly=True, help="When the entry was posted.")
    reconciled_at = fields.Datetime(readonly=True, help="When the bank line was reconciled.")
    exception_count = fields.Integer(compute="_compute_exception_count", string="Open Exceptions")
    move_count = fields.Integer(compute="_compute_move_count", string="Journal Entries",
                                help="The payout's entry and, for large payouts, its clearing entries.")

    _uniq_external = models.Constraint(
        "UNIQUE(payout_account_id, external_id)", "This payout was already imported for this payout account.")

    @api.depends("payout_account_id.source", "external_id")
    def _compute_name(self):
        labels = dict(SOURCES)
        for settlement in self:
            label = labels.get(settlement.payout_account_id.source, settlement.payout_account_id.source or "")
            settlement.name = f"{label} {settlement.external_id or ''}".strip()

    def _compute_exception_count(self):
        counts = dict(self.env["omni.exception"].sudo()._read_group(
            [("res_model", "=", self._name), ("res_id", "in", self.ids), ("state", "in", ("open", "assigned"))],
            ["res_id"], ["__count"]))
        for settlement in self:
            settlement.exception_count = counts.get(settlement.id, 0)

    def _compute_move_count(self):
        counts = dict(self.env["account.move"].sudo()._read_group(
            [("omni_settlement_id", "in", self.ids), ("state", "=", "posted")], ["omni_settlement_id"], ["__count"]))
        for settlement in self:
            settlement.move_count = counts.get(settlement, 0)

    def _omni_update_totals(self):
        """Breakdown and counts from the stored lines (one grouped query per settlement)."""
        self.env["omni.settlement.line"].flush_model()
        for settlement in self:
            self.env.cr.execute(SQL(
                """SELECT kind, match_state, count(*), SUM(gross)::text, SUM(fee)::text, SUM(net)::text
                     FROM omni_settlement_line WHERE settlement_id = %s GROUP BY kind, match_state""",
                settlement.id))
            totals = dict.fromkeys(ALL_TOTAL_FIELDS, Decimal(0))
            lines_total = Decimal(0)
            count = unmatched = suggested = 0
            for kind, match_state, number, gross_text, fee_text, net_text in self.env.cr.fetchall():
                totals[TOTAL_FIELDS.get(kind, "adjustments_total")] += Decimal(gross_text or 0)
                totals["fees_total"] -= Decimal(fee_text or 0)
                lines_total += Decimal(net_text or 0)
                count += number
                if kind in BLOCKING_KINDS and match_state in OPEN_MATCH_STATES:
                    unmatched += number
                if match_state == "suggested":
                    suggested += number
            currency = settlement.currency_id.name
            values = {name: float(quantize(value, currency)) for name, value in totals.items()}
            values.update(lines_total=float(quantize(lines_total, currency)),
                          balance_difference=float(quantize(lines_total - _dec(repr(settlement.expected_amount)),
                                                            currency)),
                          line_count=count, unmatched_count=unmatched, suggested_count=suggested)
            settlement.write(values)


    def _omni_after_line_change(self):
        """A person changed matches: totals, state and the lines' exceptions follow."""
        self._omni_update_totals()
        self._omni_refresh_state()

    # ============================================================== exceptions

    def _omni_check_rights(self, action, groups=(ACCOUNTING_GROUP,)):
        """Refuse ``action`` to a user without every group of ``groups``, whatever the client (button,
        JSON-RPC, JSON-2): the methods behind it book as superuser. Code running as superuser (the crons)
        passes."""
        if self.env.su:
            return
        missing = [group for group in groups if not self.env.user.has_group(group)]
        if missing:
            names = ", ".join(self.env.ref(group).sudo().display_name for group in missing)
            raise AccessError(self.env._(
                "%(action)s needs the rights %(groups)s, which %(user)s does not have.", action=action, groups=names,
                user=self.env.user.name))

    def _omni_key(self, key):
        self.ensure_one()
        return f"{self.source}:{self.external_id}:{key}"

    def _omni_raise(self, message, key, severity="warning"):
        self.ensure_one()
        return self.env["omni.exception"]._omni_raise(
            message, backend=self.payout_account_id.backend_id or None, category="reconciliation", severity=severity,
            record=self, resource_key=self._omni_key(key))

    def _omni_block(self, reason, message, severity="warning", raise_exception=True):
        """Put the settlement in exception for ``reason`` and tell a person."""
        self.ensure_one()
        self.write({"state": "exception", "block_reason": reason, "state_message": message})
        if raise_exception:
            self._omni_raise(message, reason, severity=severity)

    def _omni_resolve_exceptions(self, keys):
        for settlement in self:
            exceptions = self.env["omni.exception"].sudo().search([
                ("res_model", "=", self._name), ("res_id", "=", settlement.id), ("state", "in", ("open", "assigned")),
                ("resource_key", "in", [settlement._omni_key(key) for key in keys])])
            exceptions._omni_resolve_with(self.env._("Resolved: payout %s went on.", settlement.external_id))
