"""Amazon settlement 25.73 (upload), foreign-currency and JPY payouts, crons and access."""

import base64
from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.omni_connector_shopify.lib.payouts import settlement_from_shopify

from .common import ReconciliationCommon, fixture_bytes, fixture_json
from .test_stripe_payout import StripeCommon, ts

AMAZON_ORDERS = {
    "114-1234567-1234567": 63.08,  # Principal 58.00 + Tax 5.08
    "114-7654321-7654321": 19.99,  # Principal 15.00 + Shipping 4.99
    "114-5550001-5550001": 48.94,  # Principal 45.00 + Tax 3.94
}


@tagged("post_install", "-at_install", "omni")
class TestAmazonSettlement(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._payout_account("amazon", cls.amazon_backend, cls.bank_usd)
        cls.orders = {}
        for external_id, amount in AMAZON_ORDERS.items():
            order = cls._order(cls.amazon_backend, external_id, amount)
            cls.orders[external_id] = order
            cls._payment(cls.amazon_backend, f"{external_id}:amazon", amount, gateway="amazon",
                         when=date(2026, 11, 10), order=order)
        cls.refund = cls._payment(cls.amazon_backend, "amzn1.adj.7711", 31.54, gateway="amazon",
                                  payment_type="outbound", when=date(2026, 11, 18))

    def _upload(self):
        wizard = self.env["omni.settlement.import.wizard"].create({
            "payout_account_id": self.account.id, "file": base64.b64encode(fixture_bytes("amazon/settlement_v2.tsv")),
            "filename": "settlement_v2.tsv"})
        action = wizard.action_import()
        return self.Settlement.browse(action["res_id"])

    def test_settlement_25_73_uploaded_matched_posted(self):
        settlement = self._upload()
        self.assertEqual((settlement.external_id, settlement.expected_amount), ("11223344556", 25.73))
        self.assertEqual(settlement.state, "imported")
        self.assertAlmostEqual(settlement.sales_total, 132.01, places=2)
        self.assertAlmostEqual(settlement.refunds_total, -31.54, places=2)
        self.assertAlmostEqual(settlement.commissions_total, -14.22, places=2)
        self.assertAlmostEqual(settlement.fees_total, -53.29, places=2)
        self.assertAlmostEqual(settlement.withheld_taxes_total, -6.48, places=2)
        self.assertAlmostEqual(settlement.adjustments_total, -0.75, places=2)
        self.assertAlmostEqual(settlement.lines_total, 25.73, places=2)

        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        sales = settlement.line_ids.filtered(lambda line: line.kind == "sale")
        self.assertEqual(len(sales), 3)
        for line in sales:
            self.assertEqual((line.match_state, line.match_method), ("matched", "order"), line.external_id)
            self.assertEqual(line.order_id, self.orders[line.order_ref])
            self.assertEqual(line.payment_id.omni_transaction_id, f"{line.order_ref}:amazon")
        refund = settlement.line_ids.filtered(lambda line: line.kind == "refund")
        self.assertEqual((refund.payment_id, refund.match_method), (self.refund, "reference"))
        self.assertEqual(refund.order_id, self.orders["114-1234567-1234567"])

        settlement._omni_post()
        move = settlement.move_id
        self.assertBalanced(move)
        withheld = move.line_ids.filtered(lambda line: line.account_id == self.account.withheld_tax_account_id)
        self.assertAlmostEqual(sum(withheld.mapped("balance")), 6.48, places=2)
        commissions = move.line_ids.filtered(lambda line: line.account_id == self.account.commission_account_id)
        self.assertAlmostEqual(sum(commissions.mapped("balance")), 14.22, places=2)
        self.assertTrue(self.refund.move_id.line_ids.filtered(
            lambda line: line.account_id == self.refund.outstanding_account_id).reconciled)

        statement_line = self._statement_line(self.bank_usd, 25.73, date(2026, 11, 24), label="AMAZON 11223344556")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertTrue(statement_line.is_reconciled)

        # the fee analysis adds the fee lines and per-line fees by type
        report = self.env["omni.settlement.fee.report"].search([("settlement_id", "=", settlement.id)])
        self.assertAlmostEqual(sum(report.filtered(lambda r: r.kind == "commission").mapped("amount")), 14.22, 2)
        self.assertIn("Subscription Fee", " ".join(report.mapped("fee_type")))

    def test_upload_twice_is_idempotent(self):
        first = self._upload()
        second = self._upload()
        self.assertEqual(first, second)
        self.assertEqual(self.Settlement.search_count([("payout_account_id", "=", self.account.id)]), 1)


@tagged("post_install", "-at_install", "omni")
class TestCurrencies(StripeCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jpy = cls.setup_other_currency("JPY", rates=[("2020-01-01", 150.0)])

    def test_foreign_currency_charge_books_the_exchange_difference(self):
        """A EUR charge settled in USD at Stripe's rate 1.10; the payment was registered at Odoo's 0.90."""
        bt = self.sim_module.make_balance_transaction
        charge = {"id": "ch_eur_1", "object": "charge", "amount": 10000, "currency": "eur", "metadata": {},
                  "payment_intent": None}
        self._add_payout("po_fx", [bt("txn_fx_1", 11000, fee=350, source="ch_eur_1", created=ts(2026, 11, 20),
                                      exchange_rate=1.1)], [charge], created=ts(2026, 11, 21))
        payment = self._payment(self.woo_backend, "ch_eur_1", 100.00, currency=self.eur, when=date(2026, 11, 20))
        self._import_all()
        settlement = self._settlement("po_fx")
        line = self._line(settlement, "txn_fx_1")
        self.assertEqual((line.original_currency_id, line.original_amount, line.gross), (self.eur, 100.0, 110.0))
        self.assertAlmostEqual(line.exchange_rate, 1.1)
        settlement.action_post()
        self.assertEqual(line.payment_id, payment)
        move = settlement.move_id
        self.assertBalanced(move)
        clearing = move.line_ids.filtered(lambda aml: aml.account_id == payment.outstanding_account_id)
        self.assertEqual((clearing.currency_id, clearing.amount_currency, clearing.balance), (self.eur, -100.0, -110.0))
        payment_line = payment.move_id.line_ids.filtered(lambda aml: aml.account_id == payment.outstanding_account_id)
        self.assertTrue(payment_line.reconciled)
        self.assertAlmostEqual(payment_line.balance, 111.11, places=2)
        exchange = payment_line.full_reconcile_id.reconciled_line_ids.move_id.filtered(
            lambda move: move.journal_id == self.company.currency_exchange_journal_id)
        self.assertTrue(exchange, "the difference between Odoo's and Stripe's rate is an exchange difference")
        self.assertAlmostEqual(sum(exchange.line_ids.filtered(
            lambda aml: aml.account_id == payment.outstanding_account_id).mapped("balance")), -1.11, places=2)

    def test_jpy_payout_has_no_minor_unit(self):
        bt = self.sim_module.make_balance_transaction
        self._add_payout("po_jpy", [bt("txn_jpy_1", 5000, fee=180, currency="jpy", source="ch_jpy_1",
                                       created=ts(2026, 11, 20))], currency="jpy", created=ts(2026, 11, 21))
        payment = self._payment(self.woo_backend, "ch_jpy_1", 5000, currency=self.jpy, when=date(2026, 11, 20))
        self._import_all()
        settlement = self._settlement("po_jpy")
        self.assertEqual((settlement.currency_id, settlement.expected_amount), (self.jpy, 4820.0))
        self.assertAlmostEqual(settlement.company_rate, 1 / 150.0, places=8)
        line = self._line(settlement, "txn_jpy_1")
        self.assertEqual((line.gross, line.fee, line.net), (5000.0, 180.0, 4820.0))
        settlement.action_post()
        self.assertEqual(line.payment_id, payment)
        move = settlement.move_id
        self.assertBalanced(move)
        net = settlement.net_move_line_id
        self.assertEqual((net.currency_id, net.amount_currency), (self.jpy, 4820.0))
        fee = move.line_ids.filtered(lambda aml: aml.account_id == self.account.fee_account_id)
        self.assertEqual((fee.amount_currency, fee.balance), (180.0, 1.2))
        self.assertAlmostEqual(net.balance, 32.13, places=2)

    def test_payout_without_rate_waits_for_one(self):
        gbp = self.env["res.currency"].with_context(active_test=False).search([("name", "=", "GBP")])
        gbp.rate_ids.unlink()
        gbp.active = True
        bt = self.sim_module.make_balance_transaction
        self._add_payout("po_gbp", [bt("txn_gbp_1", 1000, currency="gbp", source="ch_gbp_1",
                                       created=ts(2026, 11, 20))], currency="gbp", created=ts(2026, 11, 21))
        self._import_all()
        settlement = self._settlement("po_gbp")
        self.assertEqual((settlement.state, settlement.block_reason), ("exception", "currency"))
        self.assertTrue(self._open_exceptions(settlement, "GBP"))
        settlement.company_rate = 1.25
        settlement.action_retry()
        self.assertEqual(settlement.block_reason, "unmatched")
        settlement.line_ids.action_accept()
        settlement.action_post()
        self.assertAlmostEqual(settlement.net_move_line_id.balance, 12.50, places=2)


@tagged("post_install", "-at_install", "omni")
class TestCronsAndAccess(StripeCommon):
    def test_one_failing_payout_never_blocks_the_others(self):
        bt = self.sim_module.make_balance_transaction
        self._add_payout("po_ok", [bt("txn_ok", 2000, fee=88, source="ch_ok", created=ts(2026, 11, 20))],
                         created=ts(2026, 11, 21))
        self._add_payout("po_reserve", [
            bt("txn_r1", 5000, fee=175, source="ch_r1", created=ts(2026, 11, 20)),
            bt("txn_hold", -1000, type_="reserve_transaction", created=ts(2026, 11, 20)),
        ], created=ts(2026, 11, 22))
        self._payment(self.woo_backend, "ch_ok", 20.00, when=date(2026, 11, 20))
        self._payment(self.woo_backend, "ch_r1", 50.00, when=date(2026, 11, 20))
        self.account.reserve_account_id = False  # posting po_reserve must fail: no reserve account
        self._import_all()
        with mute_logger("odoo.addons.omni_reconciliation.models.omni_settlement_actions"):
            self.Settlement._cron_match_and_post()
        ok, reserve = self._settlement("po_ok"), self._settlement("po_reserve")
        self.assertEqual(ok.state, "posted")
        self.assertEqual((reserve.state, reserve.block_reason), ("exception", "posting"))
        self.assertFalse(reserve.move_id, "the failed payout left nothing behind")
        exception = self._open_exceptions(reserve, "reserve")
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.severity, "error")
        # fixed configuration: the next run posts it
        self.account.action_setup_accounts()
        self.Settlement._cron_match_and_post()
        self.assertEqual(reserve.state, "posted")
        self.assertFalse(self._open_exceptions(reserve, "reserve"))

    def test_secrets_and_access(self):
        user = new_test_user(self.env, "omni_recon_user", groups="omni_connector_base.group_omni_user")
        manager = new_test_user(self.env, "omni_recon_manager", groups="omni_connector_base.group_omni_manager")
        account_as_manager = self.account.with_user(manager)
        self.assertTrue(account_as_manager.has_stripe_secret_key)
        with self.assertRaises(AccessError):
            account_as_manager.read(["stripe_secret_key"])
        with self.assertRaises(AccessError):
            self.account.with_user(user).write({"name": "renamed"})
        account_as_manager.write({"date_window_days": 7})
        self.assertEqual(self.account.date_window_days, 7)

    def test_shopify_fetch_entry_point(self):
        account = self._payout_account("shopify_payments", self.shop_backend, self.bank_eur)
        self.assertEqual(list(account._omni_fetch_settlements()), [], "the Shopify connector plugs in here")
        settlement = account._omni_import_settlement(settlement_from_shopify(
            fixture_json("shopify/payout.json"), fixture_json("shopify/payout_balance_transactions.json")))
        self.assertEqual(settlement.external_id, "623721858")
