"""WooCommerce has no payouts of its own: the order's ``transaction_id`` is the Stripe charge.
The chain order 727 (webhook) -> Stripe payout (the real ``stripe`` library against
``tests/simulators/stripe_sim.py``) -> matched by reference -> posted, with omni_reconciliation."""

import unittest
from datetime import date

from odoo.tests import tagged

from .common import REPO, WooCase, order_727

PAYOUT_ID = "po_1QWooPayout1124"


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceStripePayout(WooCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "omni.settlement.account" not in cls.env:
            raise unittest.SkipTest("omni_reconciliation is not installed")
        # Only plain values and a loader from the reconciliation tests (no test class is imported).
        from odoo.addons.omni_reconciliation.tests.test_stripe_payout import SOURCES, load_simulator  # noqa: PLC0415

        cls.sources = SOURCES
        cls.stripe = load_simulator().StripeSimulator(api_key="sk_test_woo_chain_4242").start()
        cls.addClassCleanup(cls.stripe.stop)
        Account = cls.env["omni.settlement.account"]
        values = Account._omni_default_values(cls.company, "stripe", name="Stripe (Woo)")
        values.update(backend_id=cls.backend.id, bank_journal_id=cls.company_data["default_journal_bank"].id,
                      stripe_secret_key=cls.stripe.api_key, stripe_api_base=cls.stripe.base_url, import_days=36500)
        cls.account = Account.create(values)
        cls.account.action_setup_accounts()

    def _payment(self, reference, amount, payment_type="inbound"):
        """Another order's payment as the importer books it (the payout holds three more)."""
        payment = self.env["account.payment"].create({
            "payment_type": payment_type, "partner_type": "customer", "partner_id": self.partner_a.id,
            "amount": amount, "journal_id": self.backend._omni_clearing_journal("stripe").id,
            "date": date(2024, 11, 22), "memo": reference, "payment_reference": reference,
            "omni_backend_id": self.backend.id, "omni_gateway": "stripe", "omni_transaction_id": reference,
        })
        payment.action_post()
        return payment

    def test_order_727_to_stripe_payout_matched_and_posted(self):
        self.subscribe(("order.created",))
        self.sim.add_order(order_727())
        self.send()
        self.process()
        sale = self.sale_orders()
        payment = sale.omni_payment_ids
        self.assertEqual(payment.omni_transaction_id, "ch_3QWooStripe00727")
        self._payment("ch_3QWooStripe00731", 54.00)
        self._payment("re_3QWooRefund702", 20.00, payment_type="outbound")
        self._payment("ch_3QWooStripe00688", 45.00)
        fixtures = REPO / "tests" / "fixtures" / "stripe"
        self.stripe.load_fixture(fixtures / "payout.json", fixtures / "payout_balance_transactions.json",
                                 self.sources)
        self.account.last_import_at = False
        self.account._omni_import_from_source()
        settlement = self.env["omni.settlement"].search([("payout_account_id", "=", self.account.id),
                                                         ("external_id", "=", PAYOUT_ID)])
        self.assertEqual(settlement.expected_amount, 87.49)
        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        charge = settlement.line_ids.filtered(lambda line: line.external_id == "txn_1QWoo727")
        self.assertEqual((charge.match_state, charge.match_method), ("matched", "reference"))
        self.assertEqual(charge.payment_id, payment)
        self.assertEqual(charge.order_id, sale)
        settlement._omni_post()
        self.assertEqual(settlement.state, "posted")
        self.assertEqual(settlement.move_id.state, "posted")
        clearing = payment.move_id.line_ids.filtered(lambda line: line.account_id == payment.outstanding_account_id)
        self.assertTrue(clearing.reconciled, "the order's payment left the Stripe clearing account")
