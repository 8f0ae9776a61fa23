"""Posting: one journal entry per payout (plus clearing entries for large ones), reconciled with the
order-time payments it clears.

Two steps, so that a 100,000-line payout posts within Odoo's default cron time limits:

1. ``_omni_post_one`` computes and posts the entries in one transaction (all or nothing: the
   payout is *posted* exactly when its entries exist, so a run killed here leaves nothing and the
   next run posts it again, never twice). It marks the payout ``clearing_pending``.
2. ``_omni_clear_pending`` reconciles the entries' clearing items with the payments they clear,
   one journal item (at most 1,000 payments, ``DEFAULT_CHUNK_SIZE``, or the system parameter
   ``omni_reconciliation.clearing_chunk_size``) at a time; running as a cron it
   commits after each one (``ir.cron._commit_progress``) and stops when the run's time is spent. What
   is still to clear is read back from the database (the clearing items without any partial
   reconciliation), so a run killed between two chunks resumes where it stopped.

Buttons and tests (no cron) do both steps in their one transaction, as before.
"""

from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.money import quantize

from ..lib.posting import DEFAULT_CHUNK_SIZE, Part, build_entry, split_clearing, split_fee
from .omni_settlement import SQL_BATCH, STATES, _dec
from .settlement_candidates import CLEARED_STATES, CLEARING_KINDS

CHUNK_SIZE_PARAM = "omni_reconciliation.clearing_chunk_size"


class OmniSettlement(models.Model):
    _inherit = "omni.settlement"  # pylint: disable=consider-merging-classes-inherited

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
        account = self.payout_account_id
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
        chunk_size = self.env.context.get("omni_clearing_chunk") or self._omni_clearing_chunk_size()
        entry = build_entry(
            parts, settlement_currency=currency, company_currency=company_currency, rate=rate,
            net_account=account.transit_account_id.id, deposit=_dec(repr(self.expected_amount)),
            detailed=account.posting_mode == "detailed", net_label=self.env._("%s: deposit", self.name),
            chunk_size=chunk_size, exchange_accounts=self._omni_exchange_accounts(),
            exchange_label=self.env._("%s: exchange difference", self.name))
        if entry.total_balance():
            raise UserError(self.env._("The entry of payout %s does not balance.", self.external_id))
        entries = split_clearing(entry, account.transit_account_id.id, chunk_size)
        moves = self._omni_create_moves(entries)
        pairs = [(entry_line, line_id) for one, move in zip(entries, moves, strict=True)
                 for entry_line, line_id in zip(one.lines, move.line_ids.sorted("id").ids, strict=True)]
        self._omni_write_posting(pairs)
        main = moves[0]
        self.write({"move_id": main.id, "net_move_line_id": pairs[len(entries[0].lines) - 1][1], "state": "posted",
                    "block_reason": False, "state_message": False, "posted_at": fields.Datetime.now(),
                    "clearing_pending": any(entry_line.reconcile for entry_line, _id in pairs)})
        self._omni_resolve_exceptions(["posting"])
        if len(moves) > 1:
            body = self.env._("Posted as %(move)s, the payments cleared by %(count)s clearing entries of up to "
                              "%(size)s payments each.", move=main.name, count=len(moves) - 1, size=chunk_size)
        else:
            body = self.env._("Posted as %(move)s (%(count)s journal items).", move=main.name,
                              count=len(entry.lines))
        self.message_post(body=body)
        if not self.env.context.get("omni_defer_clearing"):
            self._omni_clear_pending()
        return main

    @api.model
    def _omni_clearing_chunk_size(self):
        """Payments per clearing entry (and per committed clearing step): the system parameter
        ``omni_reconciliation.clearing_chunk_size``, 1,000 (``DEFAULT_CHUNK_SIZE``) when unset or not a
        positive whole number."""
        value = self.env["ir.config_parameter"].sudo().get_param(CHUNK_SIZE_PARAM) or ""
        try:
            size = int(value.strip())
        except ValueError:
            return DEFAULT_CHUNK_SIZE
        return size if size >= 1 else DEFAULT_CHUNK_SIZE

    def _omni_exchange_accounts(self):
        """The company's exchange gain and loss accounts (Accounting settings), or None when one is missing."""
        company = self.company_id
        gain, loss = company.income_currency_exchange_account_id, company.expense_currency_exchange_account_id
        return (gain.id, loss.id) if gain and loss else None

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
                "journal_id": self.payout_account_id.journal_id.id,
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

    def _omni_pending_clearing(self):
        """What is still to clear: ``{clearing journal item: [its settlement lines' rows]}``, the clearing
        items of this payout's entries that have no partial reconciliation yet (one query)."""
        self.env.flush_all()
        self.env.cr.execute(SQL(
            """SELECT l.move_line_id, l.kind, l.match_state, l.payment_id, l.invoice_id, l.credit_note_id
                 FROM omni_settlement_line l
                 JOIN account_move_line aml ON aml.id = l.move_line_id
                WHERE l.settlement_id = %s AND l.kind IN %s AND l.match_state IN %s
                  AND (l.payment_id IS NOT NULL OR l.invoice_id IS NOT NULL OR l.credit_note_id IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM account_partial_reconcile apr WHERE apr.debit_move_id = aml.id)
                  AND NOT EXISTS (SELECT 1 FROM account_partial_reconcile apr WHERE apr.credit_move_id = aml.id)
             ORDER BY l.move_line_id, l.sequence, l.id""", self.id, CLEARING_KINDS, CLEARED_STATES))
        pending = {}
        for row in self.env.cr.dictfetchall():
            pending.setdefault(row["move_line_id"], []).append(row)
        return pending

    def _omni_clear_pending(self, remaining=1):
        """Reconcile each clearing item of the payout's entries with the open items it clears (payments,
        invoices, credit notes), one clearing item per step. Running as a cron, each step is committed and
        reported as progress (one step done, ``remaining`` left: the cron's payouts still to finish, this one
        included) and the loop stops when the run's time is spent. Returns True when it had to stop with work
        left (the caller re-triggers the cron), False when the payout is cleared (or a step failed: it opened
        an exception and the payout waits for the next run)."""
        self.ensure_one()
        if not self.clearing_pending:
            return False
        # Clearing a payment moves it to 'paid': tracked on each payment, that is one chatter message per
        # payment; the payout's own chatter records the posting instead.
        Move_line = self.env["account.move.line"].sudo().with_context(mail_notrack=True)
        pending = self._omni_pending_clearing()
        for position, (move_line_id, rows) in enumerate(sorted(pending.items()), start=1):
            items = self._omni_open_items(rows)
            targets = [items[key][0] for key in (("payment", row["payment_id"]) if row["payment_id"] else
                                                 ("move", row["invoice_id"] or row["credit_note_id"]) for row in rows)
                       if key in items]
            if targets:
                try:
                    with self.env.cr.savepoint():
                        Move_line.browse([move_line_id, *targets]).reconcile()
                        # The payments' states are recomputed at flush: flush here, still without tracking.
                        Move_line.env.flush_all()
                except Exception as error:  # one failing chunk opens an exception, never a crash
                    self._omni_raise(self.env._(
                        "Payout %(payout)s: clearing %(count)s payment(s) failed: %(error)s. The entry is posted; "
                        "the next run tries again.", payout=self.external_id, count=len(targets), error=error),
                        "clearing", severity="error")
                    return False
            # Drop the cache: 100 chunks of 1,000 payments would otherwise pile up in memory.
            Move_line.env.invalidate_all()
            if position < len(pending):
                spent = self.env["omni.event"]._omni_cron_budget_spent(
                    self._omni_commit_progress(1, remaining=remaining))
                if spent or not self._omni_try_lock():  # a commit releases the row lock: take it again
                    return spent
        self.clearing_pending = False
        self._omni_resolve_exceptions(["clearing"])
        return False

    def _omni_write_posting(self, pairs):
        """Store on each settlement line the journal item (and account) carrying its gross.

        Raw SQL past the ORM: writes ``move_line_id`` and ``account_id`` of ``omni.settlement.line`` only;
        skips ``write_date`` / ``write_uid`` (left as matching wrote them), ``write`` overrides (none) and
        stored fields computed from the two columns (none in this suite or in Odoo); the cache of both
        fields is invalidated below.
        """
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
