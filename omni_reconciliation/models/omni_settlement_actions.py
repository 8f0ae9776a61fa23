"""Buttons and crons of payouts: each cron works payout by payout, in a savepoint, committing as it goes."""

import logging
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .omni_settlement import ACCOUNTING_GROUP

_logger = logging.getLogger(__name__)


class OmniSettlement(models.Model):
    _inherit = "omni.settlement"  # pylint: disable=consider-merging-classes-inherited

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
    def _cron_match_and_post(self):
        """Hourly: match imported payouts (and those waiting for matches), post the matched ones, clear the
        posted ones whose payments are not all cleared yet (chunk after chunk, committing each).

        Progress, for Odoo's cron (``ir.cron._commit_progress``): *done* counts the steps (a payout, its
        posting, each clearing chunk), *remaining* the payouts left, the current one included. A run killed
        while it clears has reported the chunks it committed: Odoo counts three consecutive killed runs
        *without* progress as a time-out (the job fails and waits for its next hourly call).

        A run that has a payout to post or clear first commits a trigger of the cron for now, removed when
        the run ends: a run killed on the way (a cron worker or the whole server SIGKILLed) is resumed by
        the next cron worker at once instead of at the next hourly call."""
        settlements = self.search([
            "|", "|", ("state", "in", ("imported", "matched")), ("clearing_pending", "=", True),
            "&", ("state", "=", "exception"), ("block_reason", "in", ("unmatched", "posting")),
        ], order="payout_date, id")
        cron = self.env.ref("omni_reconciliation.cron_omni_settlement_match_post")
        resume = self.env["ir.cron.trigger"]
        if any(settlement.state in ("imported", "matched") or settlement.clearing_pending
               for settlement in settlements):
            resume = cron._trigger()
        self._omni_commit_progress(remaining=len(settlements))
        try:
            self._omni_match_and_post(settlements, cron)
        except Exception:
            # A failing run waits for its next call (Odoo counts the failure), it is not resumed in a loop. Its
            # own transaction is rolled back by Odoo: the trigger (committed) is removed in a transaction of its own.
            if resume:
                with self.env.registry.cursor() as cr:
                    cr.execute(SQL("DELETE FROM ir_cron_trigger WHERE id IN %s", tuple(resume.ids)))
            raise
        resume.exists().sudo().unlink()
        return settlements

    def _omni_match_and_post(self, settlements, cron):
        for position, settlement in enumerate(settlements):
            left = len(settlements) - position  # this one included
            if not settlement._omni_try_lock():
                self._omni_commit_progress(1)
                continue  # someone is working on it right now; the next run takes it
            if settlement.state not in ("matched", "posted", "reconciled"):
                settlement._omni_safely(lambda s: s._omni_match(), "posting")
            posted = False
            if settlement.state == "matched":
                # the entries in one transaction (in a savepoint); their clearing below, committed chunk by chunk
                settlement.with_context(omni_defer_clearing=True)._omni_safely(lambda s: s._omni_post(), "posting")
                posted = settlement.state == "posted"
            if settlement.clearing_pending:
                # the posted entries first: a kill while clearing keeps them
                self._omni_commit_progress(int(posted), remaining=left)
                if not settlement._omni_try_lock():
                    self._omni_commit_progress(1)
                    continue
                if settlement.with_company(settlement.company_id)._omni_clear_pending(remaining=left):
                    cron._trigger()
                    break
            if self.env["omni.event"]._omni_cron_budget_spent(self._omni_commit_progress(1)) and left > 1:
                cron._trigger()
                break

    @api.model
    def _cron_bank_match(self):
        """Hourly: reconcile posted payouts with their bank deposits."""
        settlements = self.search([("state", "=", "posted")], order="payout_date, id")
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
        """Post the entry now. A payout clearing more payments than one chunk (1,000, or the system parameter
        ``omni_reconciliation.clearing_chunk_size``) leaves their
        clearing to the match-and-post cron, which commits chunk by chunk: a request has a time limit."""
        self._omni_check_rights(self.env._("Posting payouts"))
        cron = self.env.ref("omni_reconciliation.cron_omni_settlement_match_post")
        for settlement in self:
            if settlement.state in ("imported", "exception"):
                settlement._omni_match()
            if settlement.state != "matched":
                raise UserError(settlement.state_message
                                or self.env._("Payout %s is not matched.", settlement.external_id))
            settlement.with_context(omni_defer_clearing=True)._omni_post()
            entries = self.env["account.move"].sudo().search_count([("omni_settlement_id", "=", settlement.id),
                                                                    ("state", "=", "posted")])
            if entries <= 1:
                settlement.with_company(settlement.company_id)._omni_clear_pending()
            elif settlement.clearing_pending:
                cron.sudo()._trigger()
                settlement.message_post(body=self.env._(
                    "The payments are cleared in the background by the match-and-post cron, %s per step.",
                    settlement._omni_clearing_chunk_size()))
        return True

    def action_bank_match(self):
        self._omni_check_rights(self.env._("Matching payouts to bank deposits"))
        for settlement in self:
            if not settlement._omni_bank_match() and settlement.state == "posted":
                raise UserError(self.env._(
                    "No bank statement line of %(amount)s within %(days)s days of %(date)s was found for payout "
                    "%(payout)s.", amount=settlement.expected_amount,
                    days=settlement.payout_account_id.bank_window_days, date=settlement.payout_date,
                    payout=settlement.external_id))
        return True

    def action_reset(self):
        """Undo the bank reconciliation and cancel the entry: back to matched, to fix and post again."""
        self._omni_check_rights(self.env._("Resetting payouts"),
                                (ACCOUNTING_GROUP, "omni_connector_base.group_omni_manager"))
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
                              "clearing_pending": False,
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
