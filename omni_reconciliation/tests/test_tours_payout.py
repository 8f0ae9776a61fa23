"""Tour: reconcile a Stripe payout in Chromium: open it, its lines and difference, confirm the
suggested match of a payment recorded without the charge id, post, match the bank deposit, open
the journal entry (``static/tests/tours/omni_reconcile_payout_tour.js``)."""

from datetime import date

from odoo.tests import HttpCase, tagged

from odoo.addons.omni_connector_base.tests.tour_screenshots import OmniTourScreenshots

from .test_stripe_payout import ARRIVAL, PAYOUT_ID, StripeCommon


@tagged("post_install", "-at_install", "omni", "omni_tour")
class TestToursPayout(OmniTourScreenshots, StripeCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._import_woocommerce_727(cls.woo_backend)
        # recorded by hand, without Stripe's charge id: the matching can only suggest it (same amount)
        cls._payment(cls.woo_backend, "Card payment order 731", 54.00, when=date(2024, 11, 22))
        cls._payment(cls.woo_backend, "re_3QWooRefund702", 20.00, payment_type="outbound", when=date(2024, 11, 22))
        cls._payment(cls.woo_backend, "ch_3QWooStripe00688", 45.00, when=date(2024, 11, 1))

    def test_reconcile_a_payout(self):
        self._import_all()
        settlement = self._settlement()
        settlement._omni_match()
        self.assertEqual(settlement.suggested_count, 1, settlement.state_message)
        self._statement_line(self.bank_usd, 87.49, ARRIVAL, label=f"STRIPE {PAYOUT_ID}")
        settlement.payout_account_id.name = "Stripe (Woo Store)"
        # the tour's user works in the test's company (its records are company-bound)
        company = self.env.company
        company.name = "Omni Demo Retail [DEMO]"  # what the screenshots show
        self.env.ref("base.user_admin").write({"company_ids": [(4, company.id)], "company_id": company.id})
        # an accountant sees the entry's journal items (the demo's administrator is one too)
        self.env.ref("base.user_admin").group_ids = [(4, self.env.ref("account.group_account_readonly").id)]
        self.start_tour("/odoo/action-omni_reconciliation.action_omni_settlement", "omni_reconcile_payout",
                        login="admin", timeout=240)
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.move_id.state, "posted")
        self.assertTrue(settlement.statement_line_id.is_reconciled)
