"""Stripe payouts through the official stripe library against the local simulator (real wire protocol)."""

import importlib.util
import sys
from datetime import date, datetime, timezone

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import FIXTURES, REPO, ReconciliationCommon

PAYOUT_ID = "po_1QWooPayout1124"
ARRIVAL = date(2024, 11, 25)
# Sources as Stripe returns them with expand[]=data.source (the fixture has ids only).
SOURCES = [
    {"id": "ch_3QWooStripe00727", "object": "charge", "amount": 11963, "amount_captured": 11963, "currency": "usd",
     "metadata": {"order_id": "727"}, "payment_intent": "pi_3QWooStripe00727", "balance_transaction": "txn_1QWoo727",
     "status": "succeeded"},
    {"id": "re_3QWooRefund702", "object": "refund", "amount": 2000, "currency": "usd",
     "charge": "ch_3QWooStripe00702", "metadata": {"order_id": "702"}, "payment_intent": None},
    {"id": "dp_1QWooDispute688", "object": "dispute", "amount": 4500, "currency": "usd",
     "charge": "ch_3QWooStripe00688", "metadata": {}, "payment_intent": "pi_3QWooStripe00688",
     "reason": "fraudulent", "status": "lost"},
]


def load_simulator():
    """``tests/simulators/stripe_sim.py`` of the repository, loaded by path (it is not an addon)."""
    name = "omni_tests_stripe_sim"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "simulators" / "stripe_sim.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def ts(year, month, day, hour=12):
    return int(datetime(year, month, day, hour, tzinfo=timezone.utc).timestamp())


class StripeCommon(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sim_module = load_simulator()
        cls.sim_module = sim_module
        cls.sim = sim_module.StripeSimulator(api_key="sk_test_recon_odoo_4242").start()
        cls.addClassCleanup(cls.sim.stop)
        cls.account = cls._payout_account(
            "stripe", cls.woo_backend, cls.bank_usd, stripe_secret_key=cls.sim.api_key,
            stripe_api_base=cls.sim.base_url, import_days=36500)

    def setUp(self):
        super().setUp()
        self.sim.reset()  # the simulator lives for the class; each test gets a clean Stripe account
        self._load_fixture_payout()

    @classmethod
    def _load_fixture_payout(cls, sources=SOURCES):
        cls.sim.load_fixture(FIXTURES / "stripe" / "payout.json",
                             FIXTURES / "stripe" / "payout_balance_transactions.json", sources)

    def _import_all(self):
        self.account.last_import_at = False  # look back over the whole (old) fixture history
        return self.account._omni_import_from_source()

    def _settlement(self, payout_id=PAYOUT_ID):
        return self.Settlement.search([("payout_account_id", "=", self.account.id), ("external_id", "=", payout_id)])

    def _add_payout(self, payout_id, txns, sources=(), **payout):
        payout.setdefault("arrival_date", ts(2024, 12, 20, 0))
        return self.sim.add_payout({"id": payout_id, **payout}, txns, sources)


@tagged("post_install", "-at_install", "omni")
class TestStripePayout(StripeCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sale_727 = cls._import_woocommerce_727(cls.woo_backend)
        cls.payment_731 = cls._payment(cls.woo_backend, "ch_3QWooStripe00731", 54.00, when=date(2024, 11, 22))
        cls.refund_702 = cls._payment(cls.woo_backend, "re_3QWooRefund702", 20.00, payment_type="outbound",
                                      when=date(2024, 11, 22))
        cls.payment_688 = cls._payment(cls.woo_backend, "ch_3QWooStripe00688", 45.00, when=date(2024, 11, 1))

    def test_payout_87_49_through_the_stripe_library(self):
        settlements = self._import_all()
        settlement = self._settlement()
        self.assertEqual(settlements, settlement)
        self.assertGreaterEqual(self.sim.count("/v1/payouts"), 1)
        self.assertGreaterEqual(self.sim.count("/v1/balance_transactions"), 1)
        self.assertTrue(all(r.headers.get("authorization") == f"Bearer {self.sim.api_key}" for r in self.sim.requests))
        self.assertEqual(settlement.expected_amount, 87.49)
        self.assertEqual(settlement.payout_date, ARRIVAL)
        self.assertEqual(settlement.state, "imported")
        self.assertEqual(settlement.line_count, 6, "2 charges, a refund, a dispute + its fee, the Radar fee")
        self.assertAlmostEqual(settlement.sales_total, 173.63, places=2)
        self.assertAlmostEqual(settlement.fees_total, -6.14, places=2)
        self.assertAlmostEqual(settlement.chargebacks_total, -60.00, places=2)
        self.assertAlmostEqual(settlement.refunds_total, -20.00, places=2)

        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        charge = self._line(settlement, "txn_1QWoo727")
        self.assertEqual((charge.match_state, charge.match_method), ("matched", "reference"))
        self.assertEqual(charge.payment_id.omni_transaction_id, "ch_3QWooStripe00727")
        self.assertEqual(charge.payment_id, self.sale_727.omni_payment_ids)
        self.assertEqual(charge.order_id, self.sale_727)
        self.assertEqual(charge.order_ref, "727")
        self.assertEqual(self._line(settlement, "txn_1QWoo731").payment_id, self.payment_731)
        self.assertEqual(self._line(settlement, "txn_1QWooRefund702").payment_id, self.refund_702)
        dispute = self._line(settlement, "txn_1QWooDispute688")
        self.assertEqual((dispute.kind, dispute.gross, dispute.fee), ("chargeback", -45.0, 0.0))
        self.assertEqual(dispute.payment_id, self.payment_688, "the disputed charge is linked for the person")
        dispute_fee = self._line(settlement, "txn_1QWooDispute688:dispute_fee")
        self.assertEqual((dispute_fee.kind, dispute_fee.gross), ("dispute_fee", -15.0))
        radar = self._line(settlement, "txn_1QRadarFee")
        self.assertEqual((radar.kind, radar.gross, radar.fee_type), ("fee", -0.5, "Radar for Fraud Teams"))
        dispute_exception = self._open_exceptions(settlement, "dp_1QWooDispute688")
        self.assertEqual(len(dispute_exception), 1, "a dispute always reaches a person")
        self.assertIn("45.00", dispute_exception.message)

        settlement._omni_post()
        move = settlement.move_id
        self.assertBalanced(move)

        def account_total(account):
            return round(sum(move.line_ids.filtered(lambda line: line.account_id == account).mapped("balance")), 2)

        self.assertEqual(account_total(self.account.fee_account_id), 6.14)
        self.assertEqual(account_total(self.account.chargeback_account_id), 45.00)
        self.assertEqual(account_total(self.account.dispute_fee_account_id), 15.00)
        self.assertEqual(account_total(self.account.transit_account_id), 87.49)
        for payment in (self.sale_727.omni_payment_ids, self.payment_731, self.refund_702):
            clearing = payment.move_id.line_ids.filtered(lambda line, p=payment: line.account_id ==
                                                         p.outstanding_account_id)
            self.assertTrue(clearing.reconciled, payment.memo)
        # the disputed charge's payment is not cleared a second time
        clearing_688 = self.payment_688.move_id.line_ids.filtered(
            lambda line: line.account_id == self.payment_688.outstanding_account_id)
        self.assertFalse(clearing_688.reconciled)

        statement_line = self._statement_line(self.bank_usd, 87.49, date(2024, 11, 26), label="STRIPE TRANSFER")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual((settlement.statement_line_id, settlement.bank_match_method),
                         (statement_line, "amount_date"))
        self.assertTrue(statement_line.is_reconciled)

    def test_cron_steps_and_reimport(self):
        self.env["omni.settlement.account"]._cron_import_settlements()
        settlement = self._settlement()
        self.assertEqual(settlement.state, "imported")
        balance_calls = self.sim.count("/v1/balance_transactions")
        self.Settlement._cron_match_and_post()
        self.assertEqual(settlement.state, "posted")
        self._statement_line(self.bank_usd, 87.49, ARRIVAL, label=f"STRIPE {PAYOUT_ID}")
        self.Settlement._cron_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.bank_match_method, "label")
        # the same payout again: nothing fetched in detail, nothing changed
        self.env["omni.settlement.account"]._cron_import_settlements()
        self.assertEqual(self.sim.count("/v1/balance_transactions"), balance_calls)
        self.assertEqual(self.Settlement.search_count([("external_id", "=", PAYOUT_ID)]), 1)
        self.assertEqual(settlement.state, "reconciled")

    def test_bank_line_outside_the_window(self):
        self._import_all()
        settlement = self._settlement()
        settlement.action_post()
        late = self._statement_line(self.bank_usd, 87.49, date(2024, 12, 5), label=f"STRIPE {PAYOUT_ID}")
        self._statement_line(self.bank_usd, 87.48, ARRIVAL, label="other deposit")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "posted", "a deposit 10 days later is not taken, even with the id")
        self.assertFalse(late.is_reconciled)
        exception = self._open_exceptions(settlement, "No bank statement line")
        self.assertEqual(len(exception), 1)
        self.assertIn("87.49", exception.message)
        self.account.bank_window_days = 10
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertTrue(late.is_reconciled)
        self.assertFalse(self._open_exceptions(settlement, "No bank statement line"))

    def test_unmatched_charge_gets_suggestions_and_an_exception(self):
        self.payment_731.action_draft()
        self.payment_731.action_cancel()
        other = self._payment(self.woo_backend, "pi_manual_731", 54.00, when=date(2024, 11, 21))
        other.omni_transaction_id = False
        other.payment_reference = "manual 731"
        self._import_all()
        settlement = self._settlement()
        settlement._omni_match()
        line = self._line(settlement, "txn_1QWoo731")
        self.assertEqual(line.match_state, "suggested")
        self.assertEqual(line.suggested_payment_ids, other)
        self.assertEqual((settlement.state, settlement.block_reason), ("exception", "unmatched"))
        exception = self._open_exceptions(settlement, "ch_3QWooStripe00731")
        self.assertEqual(len(exception), 1)
        self.assertIn("54.00", exception.message)
        with self.assertRaises(UserError):
            settlement.action_post()
        line.action_confirm_match()
        self.assertEqual((line.match_state, line.match_method, line.payment_id), ("matched", "manual", other))
        self.assertEqual(settlement.state, "matched")
        self.assertFalse(self._open_exceptions(settlement, "ch_3QWooStripe00731"))
        settlement.action_post()
        self.assertTrue(other.move_id.line_ids.filtered(
            lambda aml: aml.account_id == other.outstanding_account_id).reconciled)

    def test_unmatched_charge_without_candidate_can_be_accepted(self):
        self.payment_731.action_draft()
        self.payment_731.action_cancel()
        self._import_all()
        settlement = self._settlement()
        settlement._omni_match()
        line = self._line(settlement, "txn_1QWoo731")
        self.assertEqual(line.match_state, "unmatched")
        self.assertEqual(settlement.state, "exception")
        self.assertIn("matches no Odoo payment", self._open_exceptions(settlement, "ch_3QWooStripe00731").message)
        line.action_accept()
        settlement.action_post()
        self.assertEqual(line.account_id, self.account.clearing_account_id)
        self.assertBalanced(settlement.move_id)

    def test_dispute_won_later_reinstates_the_funds(self):
        self._import_all()
        first = self._settlement()
        first.action_post()
        self.assertEqual(len(self.env["omni.exception"].search([("resource_key", "=like", "%dp_1QWooDispute688"),
                                                                ("state", "=", "open")])), 1)
        bt = self.sim_module.make_balance_transaction
        self._add_payout("po_dispute_won", [
            bt("txn_dispute_won", 4500, type_="adjustment", reporting_category="dispute_reversal",
               source="dp_1QWooDispute688", created=ts(2024, 12, 18), description="Chargeback reversal"),
            bt("txn_ch_800", 3000, fee=117, source="ch_800", created=ts(2024, 12, 18)),
        ], created=ts(2024, 12, 19))
        self._payment(self.woo_backend, "ch_800", 30.00, when=date(2024, 12, 18))
        self._import_all()
        second = self._settlement("po_dispute_won")
        self.assertEqual(second.expected_amount, 73.83)
        second.action_post()
        self.assertEqual(second.state, "posted")
        reversal = self._line(second, "txn_dispute_won")
        self.assertEqual(reversal.kind, "chargeback_reversal")
        self.assertEqual(reversal.match_state, "matched")
        self.assertEqual(reversal.reversed_line_id, self._line(first, "txn_1QWooDispute688"))
        chargeback_lines = self.env["account.move.line"].search([
            ("account_id", "=", self.account.chargeback_account_id.id), ("parent_state", "=", "posted")])
        self.assertEqual(round(sum(chargeback_lines.mapped("balance")), 2), 0.0, "the 45.00 came back")
        self.assertFalse(self.env["omni.exception"].search([("resource_key", "=like", "%dp_1QWooDispute688"),
                                                            ("state", "=", "open")]))

    def test_stripe_faults_open_an_exception_and_retry_next_time(self):
        self.sim.inject_fault(500, count=20)
        with mute_logger("stripe"):
            settlements = self._import_all()
        self.assertFalse(settlements)
        exception = self.env["omni.exception"].search([("resource_key", "=like", f"%{self.account.id}:list:%")])
        self.assertEqual(len(exception), 1)
        self.assertNotIn(self.sim.api_key, exception.message, "the key never reaches a message")
        self.sim.clear_faults()
        self.assertEqual(self._import_all(), self._settlement())
