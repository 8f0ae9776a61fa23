"""A large payout posts under Odoo's default cron time limits (issue 10, item 23): the entries in one
transaction, then the clearing of the payments chunk by chunk, committed through ``_commit_progress``,
resumable after an interruption, never booking an entry twice. Shown at 3 payments per chunk."""

from datetime import date, datetime, timezone
from decimal import Decimal as D
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.omni_connector_base.canonical.settlement import SettlementData, SettlementLineData

from .common import ReconciliationCommon

UTC = timezone.utc
PAYMENTS = 7
CHUNK = 3


@tagged("post_install", "-at_install", "omni")
class TestChunkedPosting(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._payout_account("stripe", cls.woo_backend, cls.bank_usd)
        cls.payments = [cls._payment(cls.woo_backend, f"ch_chunk_{i}", 10.0 + i, when=date(2026, 11, 20))
                        for i in range(PAYMENTS)]
        lines = [SettlementLineData(external_id=f"txn_chunk_{i}", kind="sale", gross=D(10 + i), fee=D("0.50"),
                                    currency="USD", transaction_ref=f"ch_chunk_{i}",
                                    occurred_at=datetime(2026, 11, 20, 12, tzinfo=UTC)) for i in range(PAYMENTS)]
        cls.settlement = cls.account._omni_import_settlement(SettlementData(
            source="stripe", external_id="po_chunked", currency="USD", payout_date=date(2026, 11, 22),
            expected_amount=sum((line.net for line in lines), D(0)), lines=lines))
        cls.cron = cls.env.ref("omni_reconciliation.cron_omni_settlement_match_post")

    def _cleared(self):
        """Payments whose clearing item is reconciled, and how many partial reconciliations each has."""
        self.env.invalidate_all()
        partials = {}
        for payment in self.payments:
            item = payment.move_id.line_ids.filtered(lambda aml, p=payment: aml.account_id == p.outstanding_account_id)
            partials[payment.id] = len(item.matched_debit_ids | item.matched_credit_ids)
            if item.reconciled:
                self.assertEqual(partials[payment.id], 1, "a payment is cleared exactly once")
        return sum(1 for count in partials.values() if count)

    def _moves(self):
        return self.env["account.move"].search([("omni_settlement_id", "=", self.settlement.id)])

    def _triggers(self):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])

    def _run_cron(self, budget_spent_at=None, fail_reconcile=False, chunk=CHUNK, progress=None):
        """One cron run at 3 payments per chunk. ``_commit_progress`` is simulated (a test cannot commit):
        it counts the commits and says the run's time is spent at commit number ``budget_spent_at``;
        ``progress`` (a list) receives ``(processed, remaining, triggers of the cron)`` of each commit."""
        commits = []

        def commit_progress(records, processed=0, remaining=None):
            commits.append(processed)
            if progress is not None:
                progress.append((processed, remaining, self._triggers()))
            return 0 if budget_spent_at and len(commits) == budget_spent_at else 3600

        Settlement = self.env.registry["omni.settlement"]
        Line = self.env.registry["account.move.line"]
        reconcile = Line.reconcile

        def failing_reconcile(records):
            raise RuntimeError("worker killed")  # the chunk's savepoint rolls back, as a killed transaction would

        with patch.object(Settlement, "_omni_commit_progress", commit_progress), \
                patch.object(Line, "reconcile", failing_reconcile if fail_reconcile else reconcile):
            Settlement = self.Settlement.with_context(omni_clearing_chunk=chunk) if chunk else self.Settlement
            Settlement._cron_match_and_post()
        return commits

    def test_large_payout_is_cleared_chunk_by_chunk_and_resumes(self):
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])
        # run 1: matches, posts the 4 entries (main + 3 clearing entries of 3, 3, 1 payments) in one transaction,
        # commits them, clears the first chunk, then its time is spent
        commits = self._run_cron(budget_spent_at=3)
        self.assertEqual(len(commits), 3)
        self.assertEqual(self.settlement.state, "posted")
        self.assertTrue(self.settlement.clearing_pending)
        moves = self._moves()
        self.assertEqual(len(moves), 1 + 3)
        self.assertTrue(all(move.state == "posted" for move in moves))
        self.assertEqual(self._cleared(), CHUNK)
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)]), triggers + 1,
                         "the cron re-triggers itself to go on at once")

        # run 2: killed while clearing the second chunk: that chunk is rolled back, the first stays
        self._run_cron(fail_reconcile=True)
        self.assertTrue(self.settlement.clearing_pending)
        self.assertEqual(self._cleared(), CHUNK)
        self.assertEqual(self._moves(), moves, "no entry is booked again")
        self.assertTrue(self._open_exceptions(self.settlement, "clearing"))

        # run 3: resumes with what is left, clears it, books nothing twice
        self._run_cron()
        self.assertFalse(self.settlement.clearing_pending)
        self.assertEqual(self._cleared(), PAYMENTS)
        self.assertEqual(self._moves(), moves)
        self.assertEqual(self.settlement.state, "posted")
        self.assertFalse(self._open_exceptions(self.settlement, "clearing"))
        for move in moves:
            self.assertBalanced(move)
        transit = moves.line_ids.filtered(lambda aml: aml.account_id == self.account.transit_account_id)
        self.assertAlmostEqual(sum(transit.mapped("balance")), self.settlement.expected_amount, places=2)

        # a further run has nothing to do
        self._run_cron()
        self.assertEqual(self._moves(), moves)
        self.assertEqual(self._cleared(), PAYMENTS)

    def test_button_posts_a_large_payout_and_leaves_the_clearing_to_the_cron(self):
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])
        self.settlement.with_context(omni_clearing_chunk=CHUNK).action_post()
        self.assertEqual(self.settlement.state, "posted")
        self.assertEqual(len(self._moves()), 4)
        self.assertTrue(self.settlement.clearing_pending)
        self.assertEqual(self._cleared(), 0)
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)]), triggers + 1)
        self._run_cron()
        self.assertEqual(self._cleared(), PAYMENTS)
        self.assertFalse(self.settlement.clearing_pending)


    def test_proof_kill_each_clearing_chunk_is_reported_as_progress(self):
        """Proof suite kill -9 (``tests/proof/kill_payout.py``): a cron run killed while it clears must have
        reported the chunks it committed. The clearing committed them with no progress (``done`` stayed 0):
        after three killed runs Odoo marked the job *timed out* (an error line), failed it and left the
        clearing to the next hourly call."""
        progress = []
        self._run_cron(progress=progress)
        self.assertFalse(self.settlement.clearing_pending)
        steps = [(processed, remaining) for processed, remaining, _triggers in progress]
        # the run's start (1 payout), its posting, the 2 commits between the 3 chunks, the payout done
        self.assertEqual(steps, [(0, 1), (1, 1), (1, 1), (1, 1), (1, None)])

    def test_proof_kill_a_killed_run_leaves_a_trigger_to_resume_at_once(self):
        """Proof suite kill -9: a run killed while it posts or clears left no trigger (the one it ran for
        was consumed at its start), so the clearing waited for the cron's next hourly call. A run with a
        payout to post or clear commits a trigger first and removes it when it ends."""
        triggers = self._triggers()
        progress = []
        self._run_cron(progress=progress)
        self.assertTrue(progress)
        self.assertTrue(all(count == triggers + 1 for _processed, _remaining, count in progress),
                        "every commit of the run leaves a trigger behind for a killed run")
        self.assertEqual(self._triggers(), triggers, "a run that ends removes it")
        # nothing to post or clear: no trigger at all
        progress = []
        self._run_cron(progress=progress)
        self.assertTrue(all(count == triggers for _processed, _remaining, count in progress))
        self.assertEqual(self._triggers(), triggers)

    def test_proof_kill_a_failing_run_removes_its_trigger(self):
        """A run that fails (an exception past the payouts' own savepoints) is not resumed in a loop: its
        trigger goes, the job waits for its next call and Odoo counts the failure."""
        triggers = self._triggers()
        with patch.object(self.env.registry["omni.settlement"], "_omni_match_and_post",
                          side_effect=RuntimeError("a bug")), self.assertRaises(RuntimeError):
            self.Settlement._cron_match_and_post()
        self.assertEqual(self._triggers(), triggers)


@tagged("post_install", "-at_install", "omni")
class TestClearingChunkSize(ReconciliationCommon):
    """The system parameter ``omni_reconciliation.clearing_chunk_size``: payments per clearing entry
    (and per committed clearing step), 1,000 when unset or not a positive whole number."""

    PARAM = "omni_reconciliation.clearing_chunk_size"

    def test_default_and_parameter(self):
        Settlement = self.env["omni.settlement"]
        Param = self.env["ir.config_parameter"].sudo()
        self.assertEqual(Settlement._omni_clearing_chunk_size(), 1000)
        for value, size in (("250", 250), (" 3 ", 3), ("0", 1000), ("-5", 1000), ("many", 1000), ("", 1000)):
            Param.set_param(self.PARAM, value)
            self.assertEqual(Settlement._omni_clearing_chunk_size(), size, value)

    def test_parameter_sets_the_clearing_entries(self):
        self.env["ir.config_parameter"].sudo().set_param(self.PARAM, "3")
        account = self._payout_account("stripe", self.woo_backend, self.bank_usd)
        for i in range(PAYMENTS):
            self._payment(self.woo_backend, f"ch_size_{i}", 10.0 + i, when=date(2026, 11, 20))
        lines = [SettlementLineData(external_id=f"txn_size_{i}", kind="sale", gross=D(10 + i), fee=D("0.50"),
                                    currency="USD", transaction_ref=f"ch_size_{i}",
                                    occurred_at=datetime(2026, 11, 20, 12, tzinfo=UTC)) for i in range(PAYMENTS)]
        settlement = account._omni_import_settlement(SettlementData(
            source="stripe", external_id="po_size", currency="USD", payout_date=date(2026, 11, 22),
            expected_amount=sum((line.net for line in lines), D(0)), lines=lines))
        settlement.action_post()
        moves = self.env["account.move"].search([("omni_settlement_id", "=", settlement.id)])
        self.assertEqual(len(moves), 1 + 3, "the payout's entry and clearing entries of 3, 3 and 1 payments")
        self.assertTrue(settlement.clearing_pending, "cleared in the background by the cron")
