"""Bank matching: the deposit's bank statement line reconciled with the payout's transit lines."""

from datetime import timedelta
from decimal import Decimal

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.canonical.money import quantize

from ..lib.matching import StatementLine, bank_match
from .omni_settlement import _dec


class OmniSettlement(models.Model):
    _inherit = "omni.settlement"  # pylint: disable=consider-merging-classes-inherited

    def _omni_bank_match(self):
        for settlement in self:
            settlement.with_company(settlement.company_id)._omni_bank_match_one()
        return True

    def _omni_bank_match_one(self):
        """Find the deposit on the bank journal and reconcile it with the entry's net line."""
        self.ensure_one()
        if self.state != "posted":
            return False
        account = self.payout_account_id
        journal = account.bank_journal_id
        if not journal:
            return False
        payout_date = self.payout_date or fields.Date.context_today(self)
        window = account.bank_window_days
        currency = self.currency_id
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
                    "bank_match_method": match.method,
                    "reconciled_at": fields.Datetime.now()})
        self._omni_resolve_exceptions(["bank"])
        self.message_post(body=self.env._("Deposit reconciled with bank line %s.", statement_line.display_name))
        return True

    def _omni_reconcile_statement_line(self, statement_line):
        """Community reconciliation of a statement line: its suspense item goes to the transit account and
        is reconciled with the payout's transit lines (what the bank reconciliation widget does). The transit
        lines are the entry's net line, plus the clearing entries' lines for a payout cleared in several."""
        transit = self.payout_account_id.transit_account_id
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
