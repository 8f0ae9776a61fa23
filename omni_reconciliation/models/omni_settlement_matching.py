"""Matching: the open lines of a settlement linked to Odoo payments, invoices, credit notes, orders."""

from datetime import timezone
from decimal import Decimal

from odoo import Command, fields, models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.settlement import SettlementLineData

from ..lib.matching import SUGGESTABLE_KINDS, MatchResult, match_lines
from .omni_settlement import SQL_BATCH, _dec, _fmt
from .omni_settlement_line import BLOCKING_KINDS, OPEN_MATCH_STATES
from .settlement_candidates import DISPUTE_KINDS, REVERSING_KINDS, CandidateIndex

MAX_LINE_EXCEPTIONS = 20


class OmniSettlement(models.Model):
    _inherit = "omni.settlement"  # pylint: disable=consider-merging-classes-inherited

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
            # chargeback in ``resolve`` and always booked to the chargeback account; a failed refund is
            # linked to its refund's payment there too (which the refund line clears, never the failure)
            engine = [i for i, data in enumerate(datas) if data.kind not in DISPUTE_KINDS + REVERSING_KINDS]
            results = [MatchResult(i, "unmatched") for i in range(len(datas))]
            found = match_lines([datas[i] for i in engine], index.candidates(), self.payout_account_id.date_window_days,
                                self.payout_account_id._omni_tolerance(self.currency_id.name))
            for position, result in zip(engine, found, strict=True):
                result.line_index = position
                results[position] = result
            pending = [r for r in results if r.state == "unmatched" and datas[r.line_index].kind in SUGGESTABLE_KINDS]
            if pending:
                used = {r.candidate.record_id for r in results if r.candidate and r.candidate.kind == "payment"}
                extra = index.amount_date_candidates([datas[r.line_index] for r in pending], used)
                if extra:
                    subset = [datas[r.line_index] for r in pending]
                    for result, sub in zip(pending, match_lines(subset, extra, self.payout_account_id.date_window_days,
                                                                 self.payout_account_id._omni_tolerance(
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
        """Write match results with one UPDATE per batch of lines (unnest of arrays).

        Raw SQL past the ORM: writes ``match_state``, ``match_method``, ``payment_id``, ``invoice_id``,
        ``credit_note_id``, ``order_id``, ``partner_id``, ``match_difference``, ``reversed_line_id``,
        ``write_date`` and ``write_uid`` of ``omni.settlement.line``; skips ``write`` overrides (none), the
        ``_check_company`` of the Many2one fields (the candidates are read from the payout's company only,
        see ``CandidateIndex``), tracking (the line has none) and stored fields computed from these columns
        (none: the payout's counts are plain fields, recomputed by ``_omni_update_totals`` right after).
        """
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
            if open_lines and not settlement.payout_account_id.post_unmatched:
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
                    backend=self.payout_account_id.backend_id or None, category="reconciliation", severity="warning",
                    record=self, resource_key=key)
            else:
                opened = Exception_.search([("resource_key", "=", key), ("state", "in", ("open", "assigned"))])
                opened._omni_resolve_with(self.env._(
                    "Dispute won: %(amount)s %(currency)s reinstated in payout %(payout)s.",
                    amount=data.gross, currency=data.currency, payout=self.external_id))


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
