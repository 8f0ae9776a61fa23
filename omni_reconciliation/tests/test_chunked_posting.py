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

    def _run_cron(self, budget_spent_at=None, fail_reconcile=False):
        """One cron run at 3 payments per chunk. ``_commit_progress`` is simulated (a test cannot commit):
        it counts the commits and says the run's time is spent at commit number ``budget_spent_at``."""
        commits = []

        def commit_progress(records, processed=0, remaining=None):
            commits.append(processed)
            return 0 if budget_spent_at and len(commits) == budget_spent_at else 3600

        Settlement = self.env.registry["omni.settlement"]
        Line = self.env.registry["account.move.line"]
        reconcile = Line.reconcile

        def failing_reconcile(records):
            raise RuntimeError("worker killed")  # the chunk's savepoint rolls back, as a killed transaction would

        with patch.object(Settlement, "_omni_commit_progress", commit_progress), \
                patch.object(Line, "reconcile", failing_reconcile if fail_reconcile else reconcile):
            self.Settlement.with_context(omni_clearing_chunk=CHUNK)._cron_match_and_post()
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

