"""Payouts/settlements: import, matching, posting and bank matching.

Flow: ``imported`` (the lines add up to the deposit) → ``matched`` (every sale and refund
is linked to its Odoo payment/invoice/order, or accepted) → ``posted`` (one journal entry
clears the order-time payments and books fees & co.) → ``reconciled`` (the deposit's bank
statement line is reconciled with the entry's net). Anything a person must look at puts
the settlement in ``exception`` (with the reason) and opens an ``omni.exception``.

Matching and posting work on whole settlements with a bounded number of queries (the
candidate records of all lines are fetched at once, never per line), so a 100,000-line
settlement costs the same per line as a 1,000-line one.
"""

import json
import logging
from datetime import date, timedelta, timezone
from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.settlement import SettlementLineData, check_balance, settlement_digest

from ..lib.matching import (
    SUGGESTABLE_KINDS,
    MatchResult,
    StatementLine,
    bank_match,
    match_lines,
)
from ..lib.money import normalize_currency, quantize
from ..lib.posting import DEFAULT_CHUNK_SIZE, Part, build_entry, split_clearing, split_fee
from .omni_settlement_account import SOURCES
from .omni_settlement_line import BLOCKING_KINDS, OPEN_MATCH_STATES
from .settlement_candidates import CLEARED_STATES, CLEARING_KINDS, DISPUTE_KINDS, CandidateIndex

_logger = logging.getLogger(__name__)

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
# Columns written by the bulk insert of lines (name, PostgreSQL type of the unnest array).
LINE_COLUMNS = (
    ("settlement_id", "int4"), ("sequence", "int4"), ("company_id", "int4"), ("currency_id", "int4"),
    ("kind", "varchar"), ("external_id", "varchar"), ("description", "varchar"), ("gross", "numeric"),
    ("fee", "numeric"), ("net", "numeric"), ("fee_type", "varchar"), ("fee_breakdown", "text"),
    ("components", "text"), ("original_currency_id", "int4"), ("original_amount", "numeric"),
    ("exchange_rate", "numeric"), ("transaction_ref", "varchar"), ("order_ref", "varchar"),
    ("refund_ref", "varchar"), ("dispute_ref", "varchar"), ("extra_refs", "varchar"), ("sku", "varchar"),
    ("quantity", "int4"), ("occurred_at", "timestamp"), ("line_date", "date"), ("match_state", "varchar"),
)
JSON_COLUMNS = frozenset({"fee_breakdown", "components"})
SQL_BATCH = 10000
MAX_LINE_EXCEPTIONS = 20


def _dec(value):
    """A numeric read as text (exact) → Decimal; None → None."""
    return None if value is None else Decimal(value)


def _naive_utc(value):
    if value is None:
        return False
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class OmniSettlement(models.Model):
    _name = "omni.settlement"
    _description = "Payout / Settlement"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "payout_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True, help="Source and payout id.")
    account_id = fields.Many2one("omni.settlement.account", string="Payout Account", required=True,
                                 ondelete="restrict", index=True, check_company=True, tracking=True,
                                 help="The processor/marketplace account that paid out.")
    source = fields.Selection(related="account_id.source", store=True, help="Where the payout comes from.")
    company_id = fields.Many2one("res.company", required=True, index=True, help="Company receiving the payout.")
    backend_id = fields.Many2one(related="account_id.backend_id", help="Channel of the payout account.")
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
    statement_line_id = fields.Many2one("account.bank.statement.line", string="Bank Statement Line", readonly=True,
                                        copy=False, index="btree_not_null",
                                        help="The bank line of the deposit, reconciled with the entry.")
    bank_match_method = fields.Selection([("label", "Payout id in the label"), ("amount_date", "Amount and date"),
                                          ("manual", "Chosen by a person")], readonly=True,
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
        "UNIQUE(account_id, external_id)", "This payout was already imported for this payout account.")

    @api.depends("account_id.source", "external_id")
    def _compute_name(self):
        labels = dict(SOURCES)
        for settlement in self:
            label = labels.get(settlement.account_id.source, settlement.account_id.source or "")
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

    # ================================================================== import

    @api.model
    def _omni_store(self, account, data):
        """Create the settlement of ``data`` once; the same payout again is a no-op.

        A payout whose content changed at the source is re-imported while it is not
        posted; once posted, the change opens an exception instead.
        """
        digest = settlement_digest(data)
        existing = self.search([("account_id", "=", account.id), ("external_id", "=", data.external_id)], limit=1)
        if existing:
            if existing.payload_digest == digest:
                return existing
            if existing.state in ("posted", "reconciled"):
                existing._omni_raise(
                    self.env._("Payout %(payout)s of %(account)s changed at the source after it was posted: reset it "
                               "and import it again to book the new content.", payout=data.external_id,
                               account=account.name), "changed", severity="error")
                return existing
            existing.line_ids.unlink()
            existing.write(existing._omni_header_values(account, data, digest))
            existing._omni_create_lines(data.lines)
            existing.message_post(body=self.env._("The payout changed at the source and was imported again."))
            existing._omni_check_import(data)
            return existing
        settlement = self.create(self._omni_header_values(account, data, digest))
        settlement._omni_create_lines(data.lines)
        settlement._omni_check_import(data)
        return settlement

    @api.model
    def _omni_header_values(self, account, data, digest):
        company = account.company_id
        currency = self._omni_currency(data.currency)
        when = data.payout_date or (data.period_end.date() if data.period_end else fields.Date.context_today(self))
        return {
            "account_id": account.id,
            "company_id": company.id,
            "external_id": data.external_id,
            "status": data.status or False,
            "currency_id": currency.id,
            "company_rate": self._omni_company_rate(currency, company, when),
            "period_start": _naive_utc(data.period_start),
            "period_end": _naive_utc(data.period_end),
            "payout_date": when,
            "expected_amount": float(data.expected_amount),
            "payload_digest": digest,
            "raw_data": _jsonable(data.raw),
            "imported_at": fields.Datetime.now(),
            "state": "imported",
            "block_reason": False,
            "state_message": False,
            "matched_at": False,
        }

    @api.model
    def _omni_currency(self, code):
        code = normalize_currency(code)
        currency = self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)
        if not currency:
            raise UserError(self.env._("Currency %s is unknown to Odoo.", code))
        return currency

    @api.model
    def _omni_company_rate(self, currency, company, when):
        """Company currency per unit of ``currency`` on ``when`` (Odoo's rates); 0 when Odoo has none."""
        if currency == company.currency_id:
            return 1.0
        has_rate = self.env["res.currency.rate"].sudo().search_count(
            [("currency_id", "=", currency.id), ("company_id", "in", (False, company.root_id.id, company.id))],
            limit=1)
        if not has_rate:
            return 0.0
        return self.env["res.currency"]._get_conversion_rate(currency, company.currency_id, company, when)

    def _omni_create_lines(self, lines):
        """Insert the lines with one ``INSERT … SELECT unnest(…)`` per batch.

        A payout can hold 100,000 lines; the ORM's ``create`` costs ~0.5 ms per line (value
        conversion, defaults, cache), this costs a few microseconds. The columns are plain stored
        fields (no computed stored field, no related one) and every value is prepared here exactly
        as the ORM would store it; the model's cache is invalidated afterwards.
        """
        self.ensure_one()
        currencies = {self.currency_id.name: self.currency_id.id}
        common = {"settlement_id": self.id, "company_id": self.company_id.id, "currency_id": self.currency_id.id,
                  "currency": self.currency_id.name}
        batch = []
        for sequence, line in enumerate(lines, start=1):
            batch.append(self._omni_line_values(line, sequence, currencies, common))
            if len(batch) >= SQL_BATCH:
                self._omni_insert_lines(batch)
                batch = []
        if batch:
            self._omni_insert_lines(batch)
        self.env["omni.settlement.line"].invalidate_model()
        self.invalidate_recordset(["line_ids"])

    def _omni_insert_lines(self, rows):
        columns = LINE_COLUMNS
        arrays = [SQL("%s::" + type_ + "[]", [row[name] for row in rows]) for name, type_ in columns]
        select = [SQL("u.%s" + ("::jsonb" if name in JSON_COLUMNS else ""), SQL.identifier(name))
                  for name, _type in columns]
        self.env.cr.execute(SQL(
            """INSERT INTO omni_settlement_line (%s, create_uid, write_uid, create_date, write_date)
               SELECT %s, %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                 FROM unnest(%s) AS u(%s)""",
            SQL(", ").join(SQL.identifier(name) for name, _type in columns), SQL(", ").join(select),
            self.env.uid, self.env.uid, SQL(", ").join(arrays),
            SQL(", ").join(SQL.identifier(name) for name, _type in columns)))

    def _omni_line_values(self, line, sequence, currencies, common):
        """Column values of one line (money as Decimal, JSON as text, naive UTC datetimes)."""
        original = None
        if line.original_currency and line.original_currency != common["currency"]:
            if line.original_currency not in currencies:
                currencies[line.original_currency] = self._omni_currency(line.original_currency).id
            original = currencies[line.original_currency]
        if line.currency != common["currency"]:
            raise UserError(self.env._("Line %(line)s is in %(line_currency)s but the payout is in %(currency)s.",
                                       line=line.external_id, line_currency=line.currency, currency=common["currency"]))
        return {
            "settlement_id": common["settlement_id"],
            "sequence": sequence,
            "company_id": common["company_id"],
            "currency_id": common["currency_id"],
            "kind": line.kind,
            "external_id": line.external_id,
            "description": (line.description or "")[:250] or None,
            "gross": line.gross,
            "fee": line.fee,
            "net": line.net,
            "fee_type": _fee_type(line) or None,
            "fee_breakdown": json.dumps({key: str(value) for key, value in line.fee_breakdown.items()})
            if line.fee_breakdown else None,
            "components": json.dumps({key: str(value) for key, value in line.components.items()})
            if line.components else None,
            "original_currency_id": original,
            "original_amount": line.original_amount if original and line.original_amount is not None else None,
            "exchange_rate": line.exchange_rate,
            "transaction_ref": line.transaction_ref or None,
            "order_ref": line.order_ref or None,
            "refund_ref": line.refund_ref or None,
            "dispute_ref": line.dispute_ref or None,
            "extra_refs": " ".join(line.extra_refs) or None,
            "sku": line.sku or None,
            "quantity": line.quantity or None,
            "occurred_at": _naive_utc(line.occurred_at) or None,
            "line_date": line.occurred_at.date() if line.occurred_at else None,
            "match_state": "unmatched" if line.kind in _MATCHABLE else "not_applicable",
        }

    def _omni_check_import(self, data):
        """Totals from the lines; a payout that does not add up, or has no rate, stops here."""
        self.ensure_one()
        self._omni_update_totals()
        check = check_balance(data)
        currency = self.currency_id.name
        if not check.ok:
            self._omni_block("balance", self.env._(
                "Payout %(payout)s (%(account)s): the lines add up to %(lines)s %(currency)s but the payout is "
                "%(expected)s %(currency)s (difference %(difference)s %(currency)s). Check the payout at the "
                "source; add a balancing adjustment line only if the source confirms the deposit.",
                payout=self.external_id, account=self.account_id.name, lines=check.lines_total,
                expected=check.expected, difference=check.difference, currency=currency), severity="error")
        elif not self.company_rate:
            self._omni_block("currency", self.env._(
                "Payout %(payout)s is in %(currency)s and Odoo has no rate for it: enter the rate to %(company)s "
                "on the payout (or activate the currency's rates), then match it again.",
                payout=self.external_id, currency=currency, company=self.company_currency_id.name))
        self.message_post(body=self.env._("Imported %(count)s lines; %(check)s.", count=len(data.lines),
                                          check=str(check)))
        cron = self.env.ref("omni_reconciliation.cron_omni_settlement_match_post", raise_if_not_found=False)
        if cron and not self.env.context.get("omni_no_trigger"):
            cron.sudo()._trigger()

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

    # ================================================================ matching

    def _omni_match(self):
        """Match the open lines of these settlements to Odoo records (see ``lib.matching``)."""
        for settlement in self:
            settlement.with_company(settlement.company_id)._omni_match_one()
        return True

    def _omni_match_one(self):
        self.ensure_one()
        if self.state in ("posted", "reconciled") or self.block_reason in ("balance", "currency"):
            return False
        self.env.flush_all()
        rows = self._omni_open_line_rows()
        datas = [_line_data(row, self.currency_id.name) for row in rows]
        ids = [row["id"] for row in rows]
        if datas:
            index = CandidateIndex(self)
            index.load(datas)
            # disputes are not matched like sales: they are linked to the disputed charge or the earlier
            # chargeback in ``resolve`` and always booked to the chargeback account
            engine = [i for i, data in enumerate(datas) if data.kind not in DISPUTE_KINDS]
            results = [MatchResult(i, "unmatched") for i in range(len(datas))]
            found = match_lines([datas[i] for i in engine], index.candidates(), self.account_id.date_window_days,
                                self.account_id._omni_tolerance(self.currency_id.name))
            for position, result in zip(engine, found, strict=True):
                result.line_index = position
                results[position] = result
            pending = [r for r in results if r.state == "unmatched" and datas[r.line_index].kind in SUGGESTABLE_KINDS]
            if pending:
                used = {r.candidate.record_id for r in results if r.candidate and r.candidate.kind == "payment"}
                extra = index.amount_date_candidates([datas[r.line_index] for r in pending], used)
                if extra:
                    subset = [datas[r.line_index] for r in pending]
                    for result, sub in zip(pending, match_lines(subset, extra, self.account_id.date_window_days,
                                                                 self.account_id._omni_tolerance(
                                                                     self.currency_id.name)), strict=True):
                        if sub.state == "suggested":
                            result.state, result.method, result.suggestions = sub.state, sub.method, sub.suggestions
            updates, suggestions = index.resolve(ids, datas, results)
            self._omni_write_matches(updates)
            self.env.cr.execute(SQL("DELETE FROM omni_settlement_line_suggestion_rel WHERE line_id = ANY(%s)", ids))
            Line = self.env["omni.settlement.line"]
            Line.invalidate_model(["suggested_payment_ids"])
            for line_id, payment_ids in suggestions.items():
                Line.browse(line_id).suggested_payment_ids = [Command.set(payment_ids)]
            self._omni_dispute_exceptions(ids, datas, updates)
        self.matched_at = fields.Datetime.now()
        self._omni_update_totals()
        self._omni_refresh_state()
        return True

    def _omni_open_line_rows(self):
        self.env.cr.execute(SQL(
            """SELECT l.id, l.kind, l.external_id, l.gross::text AS gross, l.fee::text AS fee, l.net::text AS net,
                      oc.name AS original_currency, l.original_amount::text AS original_amount,
                      l.transaction_ref, l.order_ref, l.refund_ref, l.dispute_ref, l.extra_refs, l.occurred_at
                 FROM omni_settlement_line l
            LEFT JOIN res_currency oc ON oc.id = l.original_currency_id
                WHERE l.settlement_id = %s AND l.match_state IN ('unmatched', 'suggested')
             ORDER BY l.sequence, l.id""", self.id))
        return self.env.cr.dictfetchall()

    def _omni_write_matches(self, updates):
        """Write match results with one UPDATE per batch of lines (unnest of arrays)."""
        columns = ("match_state", "match_method", "payment_id", "invoice_id", "credit_note_id", "order_id",
                   "partner_id", "match_difference", "reversed_line_id")
        types = ("varchar", "varchar", "int4", "int4", "int4", "int4", "int4", "numeric", "int4")
        for start in range(0, len(updates), SQL_BATCH):
            chunk = updates[start:start + SQL_BATCH]
            arrays = [[row["id"] for row in chunk]] + [[row.get(column) for row in chunk] for column in columns]
            self.env.cr.execute(SQL(
                """UPDATE omni_settlement_line AS l
                      SET match_state = v.match_state, match_method = v.match_method, payment_id = v.payment_id,
                          invoice_id = v.invoice_id, credit_note_id = v.credit_note_id, order_id = v.order_id,
                          partner_id = v.partner_id, match_difference = v.match_difference,
                          reversed_line_id = v.reversed_line_id, write_date = now() AT TIME ZONE 'UTC',
                          write_uid = %s
                     FROM unnest(%s::int4[], %s) AS v(id, %s)
                    WHERE l.id = v.id""",
                self.env.uid, arrays[0],
                SQL(", ").join(SQL("%s::" + type_ + "[]", array) for array, type_ in zip(arrays[1:], types,
                                                                                          strict=True)),
                SQL(", ").join(SQL.identifier(column) for column in columns)))
        self.env["omni.settlement.line"].invalidate_model(list(columns))

    def _omni_refresh_state(self):
        """Matched when no sale/refund waits for a person (or the account posts them anyway)."""
        for settlement in self:
            if settlement.state in ("posted", "reconciled") or settlement.block_reason in ("balance", "currency"):
                continue
            open_lines = self.env["omni.settlement.line"].search([
                ("settlement_id", "=", settlement.id), ("kind", "in", BLOCKING_KINDS),
                ("match_state", "in", OPEN_MATCH_STATES)])
            settlement._omni_line_exceptions(open_lines)
            if open_lines and not settlement.account_id.post_unmatched:
                settlement._omni_block("unmatched", self.env._(
                    "%(count)s sale/refund line(s) of payout %(payout)s are not matched: confirm the suggestions "
                    "or accept the lines on the payout.", count=len(open_lines), payout=settlement.external_id),
                    raise_exception=False)
            else:
                settlement.write({"state": "matched", "block_reason": False, "state_message": False})
                settlement._omni_resolve_exceptions(["unmatched", "posting"])

    def _omni_line_exceptions(self, open_lines):
        """One exception per open sale/refund line (the first few, then one summary)."""
        self.ensure_one()
        open_keys = set()
        for line in open_lines[:MAX_LINE_EXCEPTIONS]:
            key = f"line:{line.external_id}"
            open_keys.add(key)
            amount = _fmt(line.gross, line.currency_id)
            what = dict(line._fields["kind"].selection).get(line.kind)
            ref = line.transaction_ref or line.refund_ref or line.order_ref or line.external_id
            if line.match_state == "suggested":
                message = self.env._("%(what)s %(ref)s of %(amount)s in payout %(payout)s has no reference match; "
                                     "%(count)s payment(s) of the same amount are proposed: confirm one on the line.",
                                     what=what, ref=ref, amount=amount, payout=self.external_id,
                                     count=len(line.suggested_payment_ids))
            elif line.match_state == "difference":
                message = self.env._(
                    "%(what)s %(ref)s of %(amount)s in payout %(payout)s matches payment %(payment)s but the amounts "
                    "differ by %(difference)s: accept the difference or correct the match.",
                    what=what, ref=ref, amount=amount, payout=self.external_id, payment=line.payment_id.display_name,
                    difference=_fmt(line.match_difference, line.payment_id.currency_id))
            else:
                message = self.env._(
                    "%(what)s %(ref)s of %(amount)s in payout %(payout)s matches no Odoo payment, invoice or order "
                    "(order reference: %(order)s). Import the order, choose its payment on the line, or accept the "
                    "line to post it to the clearing account.",
                    what=what, ref=ref, amount=amount, payout=self.external_id,
                    order=line.order_ref or self.env._("none"))
            self._omni_raise(message, key, severity="warning")
        if len(open_lines) > MAX_LINE_EXCEPTIONS:
            open_keys.add("lines:more")
            self._omni_raise(self.env._("%(count)s more lines of payout %(payout)s are not matched (see the payout).",
                                        count=len(open_lines) - MAX_LINE_EXCEPTIONS, payout=self.external_id),
                             "lines:more")
        # lines matched since the last pass: their exceptions are resolved
        prefix = self._omni_key("line:")
        stale = self.env["omni.exception"].sudo().search([
            ("res_model", "=", self._name), ("res_id", "=", self.id), ("state", "in", ("open", "assigned")),
            ("resource_key", "=like", f"{prefix}%"),
            ("resource_key", "not in", [self._omni_key(key) for key in open_keys])])
        stale._omni_resolve_with(self.env._("The line is matched now."))
        if "lines:more" not in open_keys:
            self._omni_resolve_exceptions(["lines:more"])

    def _omni_dispute_exceptions(self, ids, datas, updates):
        """Disputes always reach a person; a won dispute resolves the chargeback's exception."""
        by_id = {row["id"]: row for row in updates}
        for line_id, data in zip(ids, datas, strict=True):
            if data.kind not in ("chargeback", "chargeback_reversal") or not data.dispute_ref:
                continue
            key = f"{self.source}:dispute:{data.dispute_ref}"
            row = by_id.get(line_id, {})
            order = self.env["sale.order"].browse(row["order_id"]) if row.get("order_id") else None
            Exception_ = self.env["omni.exception"].sudo()
            if data.kind == "chargeback":
                if Exception_.search_count([("resource_key", "=", key)], limit=1):
                    continue  # raised once; re-matching must not count it again
                Exception_._omni_raise(
                    self.env._("Dispute %(dispute)s in payout %(payout)s withdrew %(amount)s %(currency)s for "
                               "charge %(charge)s%(order)s. Answer it at the source; if it is won, the reinstated "
                               "funds are booked automatically.", dispute=data.dispute_ref, payout=self.external_id,
                               amount=-data.gross, currency=data.currency,
                               charge=data.transaction_ref or self.env._("(unknown)"),
                               order=self.env._(" (order %s)", order.name) if order else ""),
                    backend=self.account_id.backend_id or None, category="reconciliation", severity="warning",
                    record=self, resource_key=key)
            else:
                opened = Exception_.search([("resource_key", "=", key), ("state", "in", ("open", "assigned"))])
                opened._omni_resolve_with(self.env._(
                    "Dispute won: %(amount)s %(currency)s reinstated in payout %(payout)s.",
                    amount=data.gross, currency=data.currency, payout=self.external_id))

    # ================================================================= posting

    def _omni_post(self):
        for settlement in self:
            settlement.with_company(settlement.company_id)._omni_post_one()
        return True

    def _omni_post_one(self):
        self.ensure_one()
        if self.state != "matched":
            raise UserError(self.env._("Payout %(payout)s cannot be posted while it is %(state)s.",
                                       payout=self.external_id, state=dict(STATES)[self.state]))
        if not self.company_rate:
            raise UserError(self.env._("Payout %s has no rate to the company currency.", self.external_id))
        account = self.account_id
        self.env.flush_all()
        rows = self._omni_posting_rows()
        currency = self.currency_id.name
        company_currency = self.company_currency_id.name
        rate = Decimal(repr(self.company_rate))
        items = self._omni_open_items(rows)
        parts = []
        kind_labels = dict(self.env["omni.settlement.line"]._fields["kind"].selection)
        account_cache = {}

        def kind_account(kind, fee_type=None):
            key = (kind, fee_type)
            if key not in account_cache:
                account_cache[key] = account._omni_kind_account(kind, fee_type).id
            return account_cache[key]

        tolerance = account._omni_tolerance(currency)
        for row in rows:
            parts.extend(self._omni_line_parts(row, items, kind_account, kind_labels, tolerance))
        chunk_size = self.env.context.get("omni_clearing_chunk") or DEFAULT_CHUNK_SIZE
        entry = build_entry(
            parts, settlement_currency=currency, company_currency=company_currency, rate=rate,
            net_account=account.transit_account_id.id, deposit=_dec(repr(self.expected_amount)),
            detailed=account.posting_mode == "detailed", net_label=self.env._("%s: deposit", self.name),
            chunk_size=chunk_size)
        if entry.total_balance():
            raise UserError(self.env._("The entry of payout %s does not balance.", self.external_id))
        entries = split_clearing(entry, account.transit_account_id.id, chunk_size)
        moves = self._omni_create_moves(entries)
        pairs = [(entry_line, line_id) for one, move in zip(entries, moves, strict=True)
                 for entry_line, line_id in zip(one.lines, move.line_ids.sorted("id").ids, strict=True)]
        self._omni_write_posting(pairs)
        main = moves[0]
        self.write({"move_id": main.id, "net_move_line_id": pairs[len(entries[0].lines) - 1][1], "state": "posted",
                    "block_reason": False, "state_message": False, "posted_at": fields.Datetime.now()})
        self._omni_reconcile_entry(pairs)
        self._omni_resolve_exceptions(["posting"])
        if len(moves) > 1:
            body = self.env._("Posted as %(move)s, the payments cleared by %(count)s clearing entries of up to "
                              "%(size)s payments each.", move=main.name, count=len(moves) - 1, size=chunk_size)
        else:
            body = self.env._("Posted as %(move)s (%(count)s journal items).", move=main.name,
                              count=len(entry.lines))
        self.message_post(body=body)
        return main

    def _omni_posting_rows(self):
        self.env.cr.execute(SQL(
            """SELECT l.id, l.kind, l.external_id, l.description, l.gross::text AS gross, l.fee::text AS fee,
                      l.fee_breakdown, l.fee_type, oc.name AS original_currency,
                      l.original_amount::text AS original_amount, l.match_state, l.payment_id, l.invoice_id,
                      l.credit_note_id, l.order_id, l.partner_id, l.match_difference::text AS match_difference
                 FROM omni_settlement_line l
            LEFT JOIN res_currency oc ON oc.id = l.original_currency_id
                WHERE l.settlement_id = %s
             ORDER BY l.sequence, l.id""", self.id))
        return self.env.cr.dictfetchall()

    def _omni_open_items(self, rows):
        """Open journal items the lines clear: the payments' clearing items and the invoices'/credit
        notes' receivables, two queries for the whole settlement."""
        clearing = [row for row in rows if row["kind"] in CLEARING_KINDS and row["match_state"] in CLEARED_STATES]
        payment_ids = sorted({row["payment_id"] for row in clearing if row["payment_id"]})
        move_ids = sorted({row["invoice_id"] or row["credit_note_id"] for row in clearing
                           if not row["payment_id"] and (row["invoice_id"] or row["credit_note_id"])})
        items = {}
        if payment_ids:
            self.env.cr.execute(SQL(
                """SELECT p.id, aml.id, aml.account_id
                     FROM account_payment p
                     JOIN account_move_line aml ON aml.move_id = p.move_id AND aml.account_id = p.outstanding_account_id
                    WHERE p.id = ANY(%s) AND NOT aml.reconciled""", payment_ids))
            for payment_id, line_id, account_id in self.env.cr.fetchall():
                items[("payment", payment_id)] = (line_id, account_id)
        if move_ids:
            self.env.cr.execute(SQL(
                """SELECT aml.move_id, aml.id, aml.account_id
                     FROM account_move_line aml
                    WHERE aml.move_id = ANY(%s) AND aml.display_type = 'payment_term' AND NOT aml.reconciled""",
                move_ids))
            for move_id, line_id, account_id in self.env.cr.fetchall():
                items.setdefault(("move", move_id), (line_id, account_id))
        return items

    def _omni_line_parts(self, row, items, kind_account, kind_labels, tolerance):
        """The parts of one line: its gross where the match says, its fee by fee type."""
        currency = self.currency_id.name
        gross, fee = Decimal(row["gross"]), Decimal(row["fee"])
        kind = row["kind"]
        label = f"{self.name}: {kind_labels.get(kind, kind)}"
        original = row["original_currency"]
        original_amount = _dec(row["original_amount"]) if original else None
        parts = []
        cleared = kind in CLEARING_KINDS and row["match_state"] in CLEARED_STATES
        item = None
        if cleared and row["payment_id"]:
            item = items.get(("payment", row["payment_id"]))
            if item is None:
                raise UserError(self.env._(
                    "Line %(line)s: payment %(payment)s is no longer open (already reconciled?). Unmatch the line or "
                    "undo that reconciliation.", line=row["external_id"],
                    payment=self.env["account.payment"].browse(row["payment_id"]).display_name))
        elif cleared and (row["invoice_id"] or row["credit_note_id"]):
            item = items.get(("move", row["invoice_id"] or row["credit_note_id"]))
        if gross:
            currency_kw = {}
            if original and original_amount is not None:
                currency_kw = {"currency": original, "amount_currency": original_amount}
            if item is not None:
                difference = _dec(row["match_difference"]) or Decimal(0)
                if (row["match_state"] == "matched" and difference and abs(difference) <= tolerance
                        and not currency_kw):
                    tolerance_label = self.env._("%s: differences within tolerance", self.name)
                    parts.append(Part(row["id"], kind_account("adjustment", "rounding"), difference,
                                      label=tolerance_label, group=tolerance_label))
                    gross -= difference
                parts.append(Part(row["id"], item[1], gross, label=f"{label} {row['external_id']}",
                                  partner=row["partner_id"], reconcile=item[0], group=label, **currency_kw))
            else:
                fee_type = row["fee_type"] if kind not in CLEARING_KINDS else None
                parts.append(Part(row["id"], kind_account(kind, fee_type), gross,
                                  label=f"{label} {row['external_id']}", partner=row["partner_id"], group=label,
                                  **currency_kw))
        breakdown = {key: Decimal(value) for key, value in (row["fee_breakdown"] or {}).items()}
        for fee_type, amount in split_fee(fee, breakdown):
            fee_label = self.env._("%(name)s: fees (%(type)s)", name=self.name, type=fee_type)
            parts.append(Part(row["id"], kind_account("fee", fee_type), quantize(-amount, currency), label=fee_label,
                              group=fee_label))
        return parts

    def _omni_create_moves(self, entries):
        """One posted journal entry per :class:`lib.posting.Entry` (the first is the payout's entry)."""
        currency_ids = {}
        for code in {line.currency for one in entries for line in one.lines}:
            currency_ids[code] = self._omni_currency(code).id
        date = self.payout_date or fields.Date.context_today(self)
        values = []
        for position, one in enumerate(entries):
            values.append({
                "move_type": "entry",
                "journal_id": self.account_id.journal_id.id,
                "company_id": self.company_id.id,
                "date": date,
                "ref": self.name if not position else self.env._("%(name)s: clearing %(part)s/%(parts)s",
                                                                 name=self.name, part=position,
                                                                 parts=len(entries) - 1),
                "omni_settlement_id": self.id,
                "line_ids": [Command.create({
                    "name": line.label or self.name,
                    "account_id": line.account,
                    "partner_id": line.partner or False,
                    "currency_id": currency_ids[line.currency],
                    "amount_currency": float(line.amount_currency),
                    "balance": float(line.balance),
                }) for line in one.lines],
            })
        moves = self.env["account.move"].sudo().create(values)
        moves.action_post()
        return moves

    def _omni_reconcile_entry(self, pairs):
        """Reconcile each clearing line with the open items it clears (payments, invoices, credit notes)."""
        # Clearing a payment moves it to 'paid': tracked on each payment, that is one chatter message per
        # payment; the payout's own chatter records the posting instead.
        Move_line = self.env["account.move.line"].sudo().with_context(mail_notrack=True)
        for entry_line, move_line_id in pairs:
            if entry_line.reconcile:
                Move_line.browse([move_line_id, *entry_line.reconcile]).reconcile()
                # The payments' states are recomputed at flush: flush here, still without tracking. Then
                # drop the cache: 100 chunks of 1,000 payments would otherwise pile up in memory.
                Move_line.env.flush_all()
                Move_line.env.invalidate_all()

    def _omni_write_posting(self, pairs):
        """Store on each settlement line the journal item (and account) carrying its gross."""
        account_of = dict(self.env["account.move.line"].sudo().browse([line_id for _e, line_id in pairs])
                          .mapped(lambda aml: (aml.id, aml.account_id.id)))
        line_ids, move_line_ids, account_ids = [], [], []
        seen = set()
        # a line's gross comes before its fee in an entry; clearing lines may sit in later entries: first
        for entry_line, move_line_id in sorted(pairs, key=lambda pair: not pair[0].reconcile):
            for line_id in entry_line.line_ids:
                if line_id in seen:
                    continue  # the gross's line wins over the fee's
                seen.add(line_id)
                line_ids.append(line_id)
                move_line_ids.append(move_line_id)
                account_ids.append(account_of[move_line_id])
        for start in range(0, len(line_ids), SQL_BATCH):
            self.env.cr.execute(SQL(
                """UPDATE omni_settlement_line AS l SET move_line_id = v.move_line_id, account_id = v.account_id
                     FROM unnest(%s::int4[], %s::int4[], %s::int4[]) AS v(id, move_line_id, account_id)
                    WHERE l.id = v.id""",
                line_ids[start:start + SQL_BATCH], move_line_ids[start:start + SQL_BATCH],
                account_ids[start:start + SQL_BATCH]))
        self.env["omni.settlement.line"].invalidate_model(["move_line_id", "account_id"])

    # ==================================================================== bank

    def _omni_bank_match(self):
        for settlement in self:
            settlement.with_company(settlement.company_id)._omni_bank_match_one()
        return True

    def _omni_bank_match_one(self, statement_line=None):
        """Find the deposit on the bank journal and reconcile it with the entry's net line."""
        self.ensure_one()
        if self.state != "posted":
            return False
        account = self.account_id
        journal = account.bank_journal_id
        if not journal:
            return False
        payout_date = self.payout_date or fields.Date.context_today(self)
        window = account.bank_window_days
        currency = self.currency_id
        match = None
        if statement_line is None:
            domain = [("journal_id", "=", journal.id), ("is_reconciled", "=", False),
                      ("date", ">=", payout_date - timedelta(days=window)),
                      ("date", "<=", payout_date + timedelta(days=window)), ("company_id", "=", self.company_id.id)]
            candidates = []
            for st_line in self.env["account.bank.statement.line"].sudo().search(domain, order="date, id"):
                amount = _statement_amount(st_line, currency)
                if amount is None:
                    continue
                label = " ".join(filter(None, (st_line.payment_ref, st_line.ref)))
                candidates.append(StatementLine(st_line.id, quantize(amount, currency.name), st_line.date, label))
            expected = quantize(_dec(repr(self.expected_amount)), currency.name)
            match = bank_match(expected, payout_date, self.external_id, candidates, window)
            if match is None:
                if fields.Date.context_today(self) > payout_date + timedelta(days=window):
                    self._omni_raise(self.env._(
                        "No bank statement line of %(amount)s %(currency)s on %(journal)s within %(days)s days of "
                        "%(date)s for payout %(payout)s. Import the bank statement, or reconcile the deposit by hand "
                        "(it may have arrived later or in another amount).", amount=expected, currency=currency.name,
                        journal=journal.name, days=window, date=payout_date, payout=self.external_id), "bank")
                return False
            if match.difference:
                self._omni_raise(self.env._(
                    "Bank line %(line)s names payout %(payout)s but is %(amount)s %(currency)s instead of "
                    "%(expected)s (difference %(difference)s): check the deposit.", line=match.line.label,
                    payout=self.external_id, amount=match.line.amount, expected=expected,
                    difference=match.difference, currency=currency.name), "bank", severity="error")
                return False
            statement_line = self.env["account.bank.statement.line"].sudo().browse(match.line.id)
        self._omni_reconcile_statement_line(statement_line)
        self.write({"statement_line_id": statement_line.id, "state": "reconciled",
                    "bank_match_method": match.method if match else "manual",
                    "reconciled_at": fields.Datetime.now()})
        self._omni_resolve_exceptions(["bank"])
        self.message_post(body=self.env._("Deposit reconciled with bank line %s.", statement_line.display_name))
        return True

    def _omni_reconcile_statement_line(self, statement_line):
        """Community reconciliation of a statement line: its suspense item goes to the transit account and
        is reconciled with the payout's transit lines (what the bank reconciliation widget does). The transit
        lines are the entry's net line, plus the clearing entries' lines for a payout cleared in several."""
        transit = self.account_id.transit_account_id
        transit_lines = self.env["account.move.line"].sudo().search([
            ("move_id.omni_settlement_id", "=", self.id), ("account_id", "=", transit.id),
            ("parent_state", "=", "posted"), ("reconciled", "=", False)])
        if not transit_lines:
            raise UserError(self.env._("The entry of payout %s has no open line on the transit account.",
                                       self.external_id))
        _liquidity, suspense, _other = statement_line.with_context(
            skip_account_move_synchronization=True)._seek_for_lines()
        if not suspense:
            raise UserError(self.env._("Bank line %s is already reconciled.", statement_line.display_name))
        suspense.with_context(skip_account_move_synchronization=True).write({"account_id": transit.id})
        (suspense | transit_lines).reconcile()

    # =================================================================== crons

    @api.model
    def _omni_commit_progress(self, processed=0, remaining=None):
        """Commit and report progress when running as a cron; otherwise leave the transaction to the
        caller (a button, a test) and report an unlimited time budget."""
        if not self.env.context.get("ir_cron_progress_id"):
            return float("inf")
        return self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    def _omni_safely(self, step, reason):
        """Run ``step(settlement)`` in a savepoint: a failure rolls back that settlement only and opens an
        exception; the others go on."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                step(self)
            return True
        except UserError as error:
            message = error.args[0] if error.args else str(error)
        except Exception as error:  # a bug in one payout must not stop the others
            _logger.exception("Payout %s (id %s) failed", self.external_id, self.id)
            message = f"{type(error).__name__}: {error}"
        self._omni_block(reason, self.env._("Payout %(payout)s could not be processed: %(error)s",
                                            payout=self.external_id, error=message), severity="error")
        return False

    def _omni_try_lock(self):
        """Lock the settlement's row for this transaction, or say it is locked by another one (a person
        posting it, another worker): crons skip it instead of waiting."""
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT id FROM omni_settlement WHERE id = %s FOR UPDATE SKIP LOCKED", self.id))
        return bool(self.env.cr.fetchone())

    @api.model
    def _cron_match_and_post(self, limit=None):
        """Hourly: match imported payouts (and those waiting for matches), post the matched ones."""
        settlements = self.search([
            "|", ("state", "in", ("imported", "matched")),
            "&", ("state", "=", "exception"), ("block_reason", "in", ("unmatched", "posting")),
        ], order="payout_date, id", limit=limit)
        self._omni_commit_progress(remaining=len(settlements))
        for settlement in settlements:
            if not settlement._omni_try_lock():
                self._omni_commit_progress(1)
                continue  # someone is working on it right now; the next run takes it
            if settlement.state != "matched":
                settlement._omni_safely(lambda s: s._omni_match(), "posting")
            if settlement.state == "matched":
                settlement._omni_safely(lambda s: s._omni_post(), "posting")
            if self.env["omni.event"]._omni_cron_budget_spent(self._omni_commit_progress(1)):
                self.env.ref("omni_reconciliation.cron_omni_settlement_match_post")._trigger()
                break
        return settlements

    @api.model
    def _cron_bank_match(self, limit=None):
        """Hourly: reconcile posted payouts with their bank deposits."""
        settlements = self.search([("state", "=", "posted")], order="payout_date, id", limit=limit)
        self._omni_commit_progress(remaining=len(settlements))
        for settlement in settlements:
            if not settlement._omni_try_lock():
                self._omni_commit_progress(1)
                continue
            try:
                with self.env.cr.savepoint():
                    settlement._omni_bank_match()
            except Exception as error:  # one deposit never blocks the others
                if not isinstance(error, UserError):
                    _logger.exception("Bank matching of payout %s failed", settlement.external_id)
                settlement._omni_raise(self.env._("Bank matching of payout %(payout)s failed: %(error)s",
                                                  payout=settlement.external_id, error=error), "bank", severity="error")
            if self.env["omni.event"]._omni_cron_budget_spent(self._omni_commit_progress(1)):
                self.env.ref("omni_reconciliation.cron_omni_settlement_bank")._trigger()
                break
        return settlements

    # ================================================================= actions

    def action_match(self):
        self._omni_match()
        return True

    def action_post(self):
        for settlement in self:
            if settlement.state in ("imported", "exception"):
                settlement._omni_match()
            if settlement.state != "matched":
                raise UserError(settlement.state_message
                                or self.env._("Payout %s is not matched.", settlement.external_id))
            settlement._omni_post()
        return True

    def action_match_and_post(self):
        return self.action_post()

    def action_bank_match(self):
        for settlement in self:
            if not settlement._omni_bank_match() and settlement.state == "posted":
                raise UserError(self.env._(
                    "No bank statement line of %(amount)s within %(days)s days of %(date)s was found for payout "
                    "%(payout)s.", amount=settlement.expected_amount, days=settlement.account_id.bank_window_days,
                    date=settlement.payout_date, payout=settlement.external_id))
        return True

    def action_reset(self):
        """Undo the bank reconciliation and cancel the entry: back to matched, to fix and post again."""
        for settlement in self.sudo():
            if settlement.statement_line_id:
                settlement.statement_line_id.action_undo_reconciliation()
            moves = self.env["account.move"].search([("omni_settlement_id", "=", settlement.id),
                                                     ("state", "=", "posted")])
            if moves:
                moves.line_ids.remove_move_reconcile()
                moves.button_draft()
                moves.button_cancel()
            settlement.line_ids.write({"move_line_id": False, "account_id": False})
            settlement.write({"state": "imported", "move_id": False, "net_move_line_id": False,
                              "statement_line_id": False, "bank_match_method": False, "posted_at": False,
                              "reconciled_at": False, "block_reason": False, "state_message": False})
            settlement.message_post(body=self.env._("Reset by %s: entry cancelled, bank reconciliation undone.",
                                                    self.env.user.name))
            settlement._omni_match()
        return True

    def action_add_balancing_line(self):
        """Book the difference between lines and deposit as an adjustment line (the deposit is the truth)."""
        for settlement in self:
            if settlement.block_reason != "balance":
                raise UserError(self.env._("Payout %s adds up already.", settlement.external_id))
            difference = -Decimal(repr(settlement.balance_difference))
            self.env["omni.settlement.line"].create({
                "settlement_id": settlement.id, "sequence": 999999, "company_id": settlement.company_id.id,
                "currency_id": settlement.currency_id.id, "kind": "adjustment",
                "external_id": f"balancing:{fields.Datetime.now().isoformat()}",
                "description": self.env._("Balancing adjustment added by %s", self.env.user.name),
                "gross": float(difference), "fee": 0.0, "net": float(difference), "match_state": "not_applicable",
            })
            settlement._omni_update_totals()
            settlement.write({"state": "imported", "block_reason": False, "state_message": False})
            settlement._omni_resolve_exceptions(["balance"])
            settlement.message_post(body=self.env._(
                "Balancing adjustment of %(amount)s %(currency)s added by %(user)s.", amount=difference,
                currency=settlement.currency_id.name, user=self.env.user.name))
        return True

    def action_retry(self):
        """Check again after a fix (a rate entered, an order imported)."""
        for settlement in self:
            if settlement.block_reason == "currency" and settlement.company_rate:
                settlement.write({"state": "imported", "block_reason": False, "state_message": False})
                settlement._omni_resolve_exceptions(["currency"])
            settlement._omni_match()
        return True

    def action_view_move(self):
        self.ensure_one()
        if self.move_count <= 1:
            return {"type": "ir.actions.act_window", "res_model": "account.move", "res_id": self.move_id.id,
                    "view_mode": "form", "target": "current"}
        return {"type": "ir.actions.act_window", "res_model": "account.move", "name": self.name,
                "view_mode": "list,form", "domain": [("omni_settlement_id", "=", self.id)], "target": "current"}

    def action_view_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_connector_base.action_omni_exception")
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_reconciliation.action_omni_settlement_line")
        action["domain"] = [("settlement_id", "=", self.id)]
        action["context"] = {"search_default_filter_open": 1}
        return action

    def _omni_after_line_change(self, lines):
        """A person changed matches: totals, state and the lines' exceptions follow."""
        self._omni_update_totals()
        self._omni_refresh_state()

    # ============================================================== exceptions

    def _omni_key(self, key):
        self.ensure_one()
        return f"{self.source}:{self.external_id}:{key}"

    def _omni_raise(self, message, key, severity="warning"):
        self.ensure_one()
        return self.env["omni.exception"]._omni_raise(
            message, backend=self.account_id.backend_id or None, category="reconciliation", severity=severity,
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


class OmniException(models.Model):
    _inherit = "omni.exception"

    def _omni_resolve_with(self, note):
        """Resolve with an explanation in the chatter (reconciliation resolves its own exceptions)."""
        if not self:
            return
        self.sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
        for exception in self.sudo():
            exception.message_post(body=note)


# ------------------------------------------------------------------ helpers

_MATCHABLE = frozenset({"sale", "refund", "chargeback", "chargeback_reversal", "refund_failure"})


def _fmt(amount, currency):
    """``54.0, USD`` → ``'54.00 USD'`` (the currency's own decimals, for messages)."""
    return f"{amount:.{currency.decimal_places}f} {currency.name}"


def _fee_type(line):
    if line.kind in ("fee", "commission", "dispute_fee", "shipping", "withheld_tax"):
        if line.components:
            return ", ".join(line.components)[:120]
        return (line.description or line.kind)[:120]
    if line.fee_breakdown:
        return ", ".join(line.fee_breakdown)[:120]
    return False


def _jsonable(value):
    """Source data for the Json field: Decimals and dates as strings."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (Decimal, date)):
        return str(value)
    return value


def _line_data(row, currency):
    occurred = row["occurred_at"]
    gross, fee = Decimal(row["gross"]), Decimal(row["fee"])
    return SettlementLineData(
        external_id=row["external_id"],
        kind=row["kind"],
        gross=gross,
        fee=fee,
        net=gross - fee,
        currency=currency,
        original_currency=row["original_currency"],
        original_amount=_dec(row["original_amount"]) if row["original_currency"] else None,
        transaction_ref=row["transaction_ref"],
        order_ref=row["order_ref"],
        refund_ref=row["refund_ref"],
        dispute_ref=row["dispute_ref"],
        extra_refs=tuple((row["extra_refs"] or "").split()),
        occurred_at=occurred.replace(tzinfo=timezone.utc) if occurred else None,
    )


def _statement_amount(st_line, currency):
    """The statement line's amount in ``currency``, or None when it is in another currency."""
    if st_line.foreign_currency_id:
        if st_line.foreign_currency_id == currency:
            return Decimal(repr(st_line.amount_currency))
        if st_line.currency_id != currency:
            return None
    if st_line.currency_id == currency:
        return Decimal(repr(st_line.amount))
    return None
