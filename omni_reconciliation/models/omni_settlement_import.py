"""Payout import: a canonical ``SettlementData`` stored once as a settlement and its lines."""

import json
from datetime import date
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.money import normalize_currency
from odoo.addons.omni_connector_base.canonical.settlement import check_balance, settlement_digest

from .omni_settlement import SQL_BATCH, _naive_utc

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
_MATCHABLE = frozenset({"sale", "refund", "chargeback", "chargeback_reversal", "refund_failure"})


class OmniSettlement(models.Model):
    _inherit = "omni.settlement"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _omni_store(self, account, data):
        """Create the settlement of ``data`` once; the same payout again is a no-op.

        A payout whose content changed at the source is re-imported while it is not
        posted; once posted, the change opens an exception instead.
        """
        digest = settlement_digest(data)
        existing = self.search([("payout_account_id", "=", account.id), ("external_id", "=", data.external_id)],
                               limit=1)
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
            "payout_account_id": account.id,
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

        Raw SQL past the ORM, skipping for ``omni.settlement.line``: ``create`` overrides (there are none),
        field defaults (every column is given, ``sequence`` and ``match_state`` included), ``create_uid`` /
        ``write_uid`` / ``create_date`` / ``write_date`` (set here), the ``_check_company`` of its Many2one
        fields (``currency_id`` and ``original_currency_id`` are currencies, ``company_id`` the payout's)
        and recomputation of stored fields depending on the lines: none exists in this suite or in Odoo
        (``omni.settlement``'s totals are plain fields, written by ``_omni_update_totals``).
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
                payout=self.external_id, account=self.payout_account_id.name, lines=check.lines_total,
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
