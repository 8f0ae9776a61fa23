"""The Odoo records a settlement's lines may match, fetched with a few queries for the whole settlement.

``omni.settlement._omni_match`` builds a :class:`CandidateIndex`, hands its candidates to
``lib.matching.match_lines`` (the linear hash join) and turns the results back into column values
with the related records filled in (a payment's order, the invoice or credit note it paid...).
Every lookup is one SQL query for all lines, never one per line.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.money import minor_unit

from ..lib.matching import MAX_AMOUNT_STEPS, MAX_SUGGESTIONS, Candidate

CLEARING_KINDS = ("sale", "refund")  # booked against the record they match
# A failed refund is linked to its refund's payment (for the person, and the partner) but not booked against
# it: it brings the refund's money back, so it is credited to the refund clearing account, with the partner.
REVERSING_KINDS = ("refund_failure",)
DISPUTE_KINDS = ("chargeback", "chargeback_reversal")
CLEARED_STATES = ("matched", "accepted")
PAYMENT_DONE_STATES = ("draft", "canceled", "rejected")


class CandidateIndex:
    """The Odoo records a settlement's lines may match, fetched with a few queries for all lines."""

    def __init__(self, settlement):
        self.settlement = settlement
        self.env = settlement.env
        self.cr = settlement.env.cr
        self.company = settlement.company_id
        self.account = settlement.payout_account_id
        self.payments = {}  # id -> dict
        self.orders = {}  # id -> dict
        self.moves = {}  # id -> dict
        self.payment_orders = defaultdict(set)  # payment id -> order ids
        self.move_orders = defaultdict(set)  # invoice/credit note id -> order ids
        self.used_payments = set()  # already cleared by a matched line (of any payout)
        self.order_by_ref = {}  # channel order id / order name -> order row

    # -- loading
    def load(self, datas):
        refs, order_refs = set(), set()
        for data in datas:
            for ref in (data.transaction_ref, data.refund_ref, data.dispute_ref, *data.extra_refs):
                if ref:
                    refs.add(ref)
            if data.order_ref:
                order_refs.add(data.order_ref)
        refs_list, order_list = sorted(refs), sorted(order_refs)
        if order_list:
            self._load_orders(SQL(
                """so.id IN (SELECT id FROM sale_order WHERE omni_external_id = ANY(%s)
                             UNION SELECT id FROM sale_order WHERE omni_channel_order_name = ANY(%s))""",
                order_list, order_list))
        self._load_payments(refs_list, sorted(self.orders))
        self._load_payment_orders()
        missing = sorted({oid for oids in self.payment_orders.values() for oid in oids} - set(self.orders))
        if missing:
            self._load_orders(SQL("so.id = ANY(%s)", missing))
        self._load_moves(refs_list, sorted(self.orders))
        if self.payments:
            self.cr.execute(SQL(
                """SELECT DISTINCT l.payment_id FROM omni_settlement_line l
                    WHERE l.payment_id = ANY(%s) AND l.kind IN %s
                      AND l.match_state IN ('matched', 'accepted', 'difference')""",
                sorted(self.payments), CLEARING_KINDS))
            self.used_payments = {row[0] for row in self.cr.fetchall()}

    def _backend_filter(self):
        backend = self.account.backend_id
        return SQL("AND so.omni_backend_id = %s", backend.id) if backend else SQL("")

    def _load_orders(self, condition):
        self.cr.execute(SQL(
            """SELECT so.id, so.omni_external_id, so.omni_channel_order_name, so.name, so.partner_id,
                      so.amount_total::text AS amount, c.name AS currency, so.date_order
                 FROM sale_order so JOIN res_currency c ON c.id = so.currency_id
                WHERE so.company_id = %s AND so.state != 'cancel' AND %s %s""",
            self.company.id, condition, self._backend_filter()))
        for row in self.cr.dictfetchall():
            self.orders[row["id"]] = row
            for ref in (row["omni_external_id"], row["omni_channel_order_name"]):
                if ref:
                    self.order_by_ref.setdefault(ref, row)

    def _payment_select(self):
        return SQL(
            """SELECT p.id, p.omni_transaction_id, p.payment_reference, p.memo, p.payment_type,
                      p.amount::text AS amount, c.name AS currency, p.date, p.partner_id,
                      EXISTS (SELECT 1 FROM account_move_line aml
                               WHERE aml.move_id = p.move_id AND aml.account_id = p.outstanding_account_id
                                 AND NOT aml.reconciled) AS open
                 FROM account_payment p JOIN res_currency c ON c.id = p.currency_id""")

    def _load_payments(self, refs, order_ids):
        # one index-friendly branch per way a payment is found (an OR would scan every payment)
        self.cr.execute(SQL(
            """WITH found AS (
                    SELECT id FROM account_payment WHERE omni_transaction_id = ANY(%s)
                     UNION SELECT id FROM account_payment WHERE payment_reference = ANY(%s)
                     UNION SELECT id FROM account_payment WHERE memo = ANY(%s)
                     UNION SELECT payment_id FROM omni_sale_order_payment_rel WHERE order_id = ANY(%s))
               %s JOIN found ON found.id = p.id
                WHERE p.company_id = %s AND p.state NOT IN %s""",
            refs, refs, refs, order_ids, self._payment_select(), self.company.id, PAYMENT_DONE_STATES))
        for row in self.cr.dictfetchall():
            self.payments[row["id"]] = row

    def _load_payment_orders(self):
        if not self.payments:
            return
        self.cr.execute(SQL("SELECT payment_id, order_id FROM omni_sale_order_payment_rel WHERE payment_id = ANY(%s)",
                            sorted(self.payments)))
        for payment_id, order_id in self.cr.fetchall():
            self.payment_orders[payment_id].add(order_id)

    def _load_moves(self, refs, order_ids):
        if order_ids:
            self.cr.execute(SQL(
                """SELECT DISTINCT aml.move_id, sol.order_id
                     FROM sale_order_line sol
                     JOIN sale_order_line_invoice_rel rel ON rel.order_line_id = sol.id
                     JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                    WHERE sol.order_id = ANY(%s)""", order_ids))
            for move_id, order_id in self.cr.fetchall():
                self.move_orders[move_id].add(order_id)
        if not refs and not self.move_orders:
            return
        self.cr.execute(SQL(
            """SELECT am.id, am.move_type, am.omni_external_id, am.amount_total::text AS amount,
                      am.amount_residual::text AS residual, c.name AS currency, am.invoice_date, am.partner_id
                 FROM account_move am JOIN res_currency c ON c.id = am.currency_id
                WHERE am.company_id = %s AND am.state = 'posted' AND am.move_type IN ('out_invoice', 'out_refund')
                  AND (am.id = ANY(%s) OR am.omni_external_id = ANY(%s))""",
            self.company.id, sorted(self.move_orders), refs))
        for row in self.cr.dictfetchall():
            self.moves[row["id"]] = row

    # -- candidates for lib.matching
    def _order_refs(self, order_ids):
        refs = []
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order:
                refs += [order["omni_external_id"], order["omni_channel_order_name"]]
        return [ref for ref in refs if ref]

    def candidates(self):
        result = []
        for payment in self.payments.values():
            if not payment["open"] or payment["id"] in self.used_payments:
                continue
            result.append(self._payment_candidate(payment))
        for move in self.moves.values():
            if Decimal(move["residual"] or 0) == 0:
                continue  # paid: its payment is the candidate
            sign = -1 if move["move_type"] == "out_refund" else 1
            refs = [move["omni_external_id"], *self._order_refs(self.move_orders.get(move["id"], ()))]
            result.append(Candidate(
                kind="credit_note" if sign < 0 else "invoice", record_id=move["id"],
                references=tuple(ref for ref in refs if ref), amount=sign * Decimal(move["amount"]),
                currency=move["currency"], date=move["invoice_date"] or self.settlement.payout_date,
                partner=move["partner_id"]))
        for order in self.orders.values():
            result.append(Candidate(
                kind="order", record_id=order["id"], references=tuple(self._order_refs([order["id"]])),
                amount=Decimal(order["amount"]), currency=order["currency"], date=order["date_order"].date(),
                partner=order["partner_id"]))
        return result

    def _payment_candidate(self, payment):
        sign = 1 if payment["payment_type"] == "inbound" else -1
        # a payment entered by hand carries the charge id in its Memo (the order importer sets all three)
        refs = [payment["omni_transaction_id"], payment["payment_reference"], payment["memo"],
                *self._order_refs(self.payment_orders.get(payment["id"], ()))]
        return Candidate(kind="payment", record_id=payment["id"], references=tuple(ref for ref in refs if ref),
                         amount=sign * Decimal(payment["amount"]), currency=payment["currency"], date=payment["date"],
                         partner=payment["partner_id"])

    def amount_date_candidates(self, datas, used):
        """Open payments of the gateway with a line's amount, dated within the window (one query)."""
        account = self.account
        window = account.date_window_days
        tolerance = account._omni_tolerance(self.settlement.currency_id.name)
        amounts, days = set(), []
        for data in datas:
            currency, amount = data.match_amount
            unit = minor_unit(currency)
            steps = min(int(tolerance / unit), MAX_AMOUNT_STEPS)
            for step in range(-steps, steps + 1):
                amounts.add(abs(amount + step * unit))
            if data.occurred_at:
                days.append(data.occurred_at.date())
        if not days:
            return []
        conditions = [SQL("p.company_id = %s", self.company.id), SQL("p.state NOT IN %s", PAYMENT_DONE_STATES),
                      SQL("p.amount = ANY(%s)", sorted(amounts)),
                      SQL("p.date BETWEEN %s AND %s", min(days) - timedelta(days=window),
                          max(days) + timedelta(days=window))]
        if account.clearing_journal_id:
            conditions.append(SQL("p.journal_id = %s", account.clearing_journal_id.id))
        elif account.gateway:
            # the gateway's payments, and payments entered by hand (which carry no gateway); never another
            # gateway's payments
            conditions.append(SQL("(p.omni_gateway = %s OR p.omni_gateway IS NULL)", account.gateway))
        excluded = sorted(set(used) | set(self.payments))
        if excluded:
            conditions.append(SQL("p.id != ALL(%s)", excluded))
        self.cr.execute(SQL("%s WHERE %s LIMIT %s", self._payment_select(), SQL(" AND ").join(conditions),
                            max(len(datas), 1) * MAX_SUGGESTIONS * 4))
        found = []
        for row in self.cr.dictfetchall():
            if row["open"]:
                self.payments.setdefault(row["id"], row)
                found.append(self._payment_candidate(row))
        return found

    # -- results
    def resolve(self, ids, datas, results):
        """Match results → rows for the SQL update (+ suggestions), with the related records filled in."""
        matched_payments = sorted({r.candidate.record_id for r in results
                                   if r.candidate is not None and r.candidate.kind == "payment"})
        payment_moves = defaultdict(dict)  # payment id -> {'out_invoice': id, 'out_refund': id}
        if matched_payments:
            self.cr.execute(SQL(
                """SELECT p.id, inv.id, inv.move_type
                     FROM account_payment p
                     JOIN account_move_line pl ON pl.move_id = p.move_id
                     JOIN account_partial_reconcile apr ON apr.debit_move_id = pl.id
                     JOIN account_move_line il ON il.id = apr.credit_move_id
                     JOIN account_move inv ON inv.id = il.move_id
                    WHERE p.id = ANY(%s) AND inv.move_type IN ('out_invoice', 'out_refund')
                UNION ALL
                   SELECT p.id, inv.id, inv.move_type
                     FROM account_payment p
                     JOIN account_move_line pl ON pl.move_id = p.move_id
                     JOIN account_partial_reconcile apr ON apr.credit_move_id = pl.id
                     JOIN account_move_line il ON il.id = apr.debit_move_id
                     JOIN account_move inv ON inv.id = il.move_id
                    WHERE p.id = ANY(%s) AND inv.move_type IN ('out_invoice', 'out_refund')""",
                matched_payments, matched_payments))
            for payment_id, move_id, move_type in self.cr.fetchall():
                payment_moves[payment_id].setdefault(move_type, move_id)
        reversal_refs = sorted({d.dispute_ref for d in datas if d.kind == "chargeback_reversal" and d.dispute_ref})
        chargebacks = {}
        if reversal_refs:
            self.cr.execute(SQL(
                """SELECT dispute_ref, id, payment_id, order_id, partner_id FROM omni_settlement_line
                    WHERE kind = 'chargeback' AND dispute_ref = ANY(%s) AND company_id = %s ORDER BY id""",
                reversal_refs, self.company.id))
            for dispute_ref, line_id, payment_id, order_id, partner_id in self.cr.fetchall():
                chargebacks.setdefault(dispute_ref, (line_id, payment_id, order_id, partner_id))
        by_ref = {}
        for payment in self.payments.values():
            for ref in (payment["omni_transaction_id"], payment["payment_reference"], payment["memo"]):
                if ref:
                    by_ref.setdefault(ref, payment)
        updates, suggestions = [], {}
        for line_id, data, result in zip(ids, datas, results, strict=True):
            row = {"id": line_id, "match_state": result.state, "match_method": result.method, "payment_id": None,
                   "invoice_id": None, "credit_note_id": None, "order_id": None, "partner_id": None,
                   "match_difference": None, "reversed_line_id": None}
            candidate = result.candidate
            if result.state == "matched" and candidate is not None:
                self._fill(row, candidate, payment_moves, data)
                if result.difference is not None and result.difference:
                    row["match_difference"] = result.difference
                    tolerance = self.account._omni_tolerance(data.match_amount[0])
                    if abs(result.difference) > tolerance:
                        row["match_state"] = "difference"
            elif result.state == "suggested":
                suggestions[line_id] = [c.record_id for c in result.suggestions if c.kind == "payment"]
            if row["match_state"] == "unmatched" and data.kind == "chargeback_reversal":
                previous = chargebacks.get(data.dispute_ref)
                if previous is not None:
                    row.update(match_state="matched", match_method="reference", reversed_line_id=previous[0],
                               payment_id=previous[1], order_id=previous[2], partner_id=previous[3])
            if row["match_state"] == "unmatched" and data.kind in DISPUTE_KINDS:
                # the disputed charge's payment was cleared by its sale: link it for the person answering
                payment = next((by_ref[ref] for ref in (data.transaction_ref, *data.extra_refs) if ref in by_ref), None)
                if payment is not None:
                    row.update(match_state="matched", match_method="reference", payment_id=payment["id"],
                               partner_id=payment["partner_id"])
                    orders = self.payment_orders.get(payment["id"])
                    row["order_id"] = min(orders) if orders else None
            if row["match_state"] == "unmatched" and data.kind in REVERSING_KINDS:
                # the refund's payment was (or will be) cleared by the refund line: link it, refunds go out
                payment = next((by_ref[ref] for ref in (data.refund_ref, data.transaction_ref, *data.extra_refs)
                                if ref in by_ref and by_ref[ref]["payment_type"] == "outbound"), None)
                if payment is not None:
                    self._fill(row, self._payment_candidate(payment), payment_moves, data)
                    row.update(match_state="matched", match_method="reference")
            if row["match_state"] == "unmatched" and data.order_ref and not row["order_id"]:
                order = self.order_by_ref.get(data.order_ref)
                if order is not None:
                    row["order_id"], row["partner_id"] = order["id"], order["partner_id"]
            updates.append(row)
        return updates, suggestions

    def _fill(self, row, candidate, payment_moves, data):
        row["partner_id"] = candidate.partner
        if candidate.kind == "payment":
            row["payment_id"] = candidate.record_id
            moves = payment_moves.get(candidate.record_id, {})
            row["invoice_id"] = moves.get("out_invoice")
            row["credit_note_id"] = moves.get("out_refund")
            orders = self.payment_orders.get(candidate.record_id)
            if orders:
                row["order_id"] = min(orders)
        elif candidate.kind in ("invoice", "credit_note"):
            row["invoice_id" if candidate.kind == "invoice" else "credit_note_id"] = candidate.record_id
            orders = self.move_orders.get(candidate.record_id)
            if orders:
                row["order_id"] = min(orders)
        else:
            row["order_id"] = candidate.record_id
        if not row["order_id"] and data.order_ref:
            order = self.order_by_ref.get(data.order_ref)
            if order is not None:
                row["order_id"] = order["id"]
                row["partner_id"] = row["partner_id"] or order["partner_id"]
