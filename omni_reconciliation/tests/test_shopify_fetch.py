"""Shopify Payments payouts fetched from the shop through the Shopify connector's GraphQL client,
against the local Shopify simulator (real HTTP, real wire protocol), on the import cron."""

import importlib
import importlib.util
import sys
from datetime import date
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import FIXTURES, REPO, ReconciliationCommon

TOKEN = "shpat_recon_odoo_test_token"
SHOP = "acme-retail.myshopify.com"
PAYOUT_ID = "623721858"
PAYOUT_FILES = (FIXTURES / "shopify" / "payout.json", FIXTURES / "shopify" / "payout_balance_transactions.json")


def load_simulator():
    """``tests/simulators/shopify_sim.py``, loaded by path under the name the Shopify connector's
    tests use (one module object per process)."""
    name = "omni_tests_shopify_sim"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "simulators" / "shopify_sim.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shopify_installed(env):
    return "shopify" in dict(env["omni.backend"]._fields["channel"].selection)


@tagged("post_install", "-at_install", "omni")
class TestShopifyPaymentsFetch(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify_installed = shopify_installed(cls.env)
        if not cls.shopify_installed:
            return
        cls.sim_module = load_simulator()
        cls.backend = cls.env["omni.backend"].create({
            "name": "Acme Retail (Shopify)", "channel": "shopify", "company_id": cls.company.id,
            "shopify_shop_domain": SHOP, "shopify_access_token": TOKEN, "shopify_poll_enabled": False,
            "shopify_export_stock": False})
        cls.account = cls._payout_account("shopify_payments", cls.backend, cls.bank_eur, currency_id=cls.eur.id,
                                          import_days=36500)
        # the order-time payments the payout pays out (as in test_shopify_payout, on the Shopify channel)
        cls.sale_1042 = cls._import_shopify_1042_with_refund(cls.backend)
        cls.order_1043 = cls._order(cls.backend, "5829417095555", 120.0, cls.eur, "#1043")
        cls.payment_1043 = cls._payment(cls.backend, "7301000101", 120.0, cls.eur, "shopify_payments",
                                        when=date(2026, 11, 21), order=cls.order_1043)

    def setUp(self):
        super().setUp()
        if not self.shopify_installed:
            self.skipTest("omni_connector_shopify is not installed in this database")
        # a fresh simulated shop per test (its state is not rolled back with the database)
        self.sim = self.sim_module.ShopifySimulator(access_token=TOKEN, shop_domain=SHOP).start()
        self.addCleanup(self.sim.stop)
        self.backend.shopify_base_url = self.sim.base_url
        self.backend._shopify_reset_client()
        self.addCleanup(self.backend._shopify_reset_client)

    # ---------------------------------------------------------------- helpers

    def _settlements(self):
        return self.Settlement.search([("payout_account_id", "=", self.account.id)], order="payout_date, id")

    def _import(self):
        self.account.last_import_at = False  # look back over the whole (future-dated) fixture history
        return self.env["omni.settlement.account"]._cron_import_settlements()

    def _pages(self, prefix):
        return [r for r in self.sim.requests if (r.get("search") or "").startswith(prefix)]

    def _add_copies(self, count, first_id, status="paid"):
        return [self.sim.load_payout_fixture(*PAYOUT_FILES, payout_id=first_id + n, status=status,
                                             date=f"2026-12-{n + 1:02d}") for n in range(count)]

    # ------------------------------------------------------------------ tests

    def test_paid_payout_fetched_imported_and_matched(self):
        self.assertTrue(self.account._omni_can_fetch())
        self.sim.load_payout_fixture(*PAYOUT_FILES)
        self.sim.load_payout_fixture(*PAYOUT_FILES, payout_id=623721859, status="scheduled", date="2026-11-28")
        self.sim.load_payout_fixture(*PAYOUT_FILES, payout_id=623721860, status="failed", date="2026-11-29")

        self._import()
        settlement = self._settlements()
        self.assertEqual(settlement.mapped("external_id"), [PAYOUT_ID], "only the paid payout is imported")
        self.assertEqual(settlement.state, "imported")
        self.assertEqual(settlement.source, "shopify_payments")
        self.assertEqual(settlement.currency_id, self.eur)
        self.assertEqual(settlement.payout_date, date(2026, 11, 25))
        self.assertEqual(settlement.expected_amount, 156.87)
        self.assertEqual(settlement.line_count, 4, "two charges, a refund, an adjustment; the transfer is no line")
        self.assertEqual(sorted(settlement.line_ids.mapped("external_id")),
                         ["746296001", "746296002", "746296003", "746296004"])
        self.assertAlmostEqual(sum(settlement.line_ids.mapped("net")), 156.87, places=2)
        self.assertAlmostEqual(settlement.lines_total, 156.87, places=2)
        self.assertEqual(settlement.balance_difference, 0.0)
        self.assertAlmostEqual(settlement.sales_total, 190.60, places=2)
        self.assertAlmostEqual(settlement.fees_total, -6.13, places=2)
        self.assertAlmostEqual(settlement.refunds_total, -26.10, places=2)
        self.assertAlmostEqual(settlement.adjustments_total, -1.50, places=2)
        self.assertTrue(self.account.last_import_at)
        # one page of payouts, the balance transactions of the paid payout only
        self.assertEqual(len(self._pages("issued_at:")), 1)
        self.assertEqual([r["search"] for r in self._pages("payments_transfer_id:")],
                         [f"payments_transfer_id:{PAYOUT_ID}"])
        self.assertEqual(self.sim.throttled_requests, 0)

        # the references read from Shopify match the order-time payments
        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        charge = self._line(settlement, "746296001")
        self.assertEqual((charge.match_method, charge.payment_id), ("reference", self.sale_1042.omni_payment_ids))
        self.assertEqual(charge.order_id, self.sale_1042)
        self.assertEqual(self._line(settlement, "746296002").payment_id, self.payment_1043)
        self.assertEqual(self._line(settlement, "746296003").payment_id.memo, "7301000002")
        settlement._omni_post()
        self.assertBalanced(settlement.move_id)

        # the same payouts again: nothing read in detail, nothing new, the posted payout untouched
        move = settlement.move_id
        self._import()
        self.assertEqual(self._settlements(), settlement)
        self.assertEqual(len(self._pages("payments_transfer_id:")), 1)
        self.assertEqual((settlement.state, settlement.move_id), ("posted", move))

        # the scheduled payout reaches the bank: the next run takes it
        self.sim.set_payout_status(623721859, "paid")
        self._import()
        self.assertEqual(self._settlements().mapped("external_id"), [PAYOUT_ID, "623721859"])
        self.assertEqual(len(self._pages("payments_transfer_id:")), 2)
        self.assertFalse(self._open_exceptions(settlement))

    def test_pagination_over_several_pages(self):
        omni_backend = importlib.import_module("odoo.addons.omni_connector_shopify.models.shopify_payouts")
        self._add_copies(5, 700000001)
        self._add_copies(2, 710000001, status="scheduled")
        with patch.object(omni_backend, "PAYOUT_PAGE_SIZE", 2), \
                patch.object(omni_backend, "BALANCE_TRANSACTION_PAGE_SIZE", 2):
            settlements = self.account._omni_import_from_source()
        self.assertEqual(settlements, self._settlements())
        self.assertEqual(settlements.mapped("external_id"), [str(700000001 + n) for n in range(5)])
        self.assertEqual(len(self._pages("issued_at:")), 4, "7 payouts, 2 per page")
        for settlement in settlements:
            self.assertEqual(settlement.state, "imported")
            self.assertEqual(settlement.line_count, 4)
            self.assertAlmostEqual(sum(settlement.line_ids.mapped("net")), 156.87, places=2)
            self.assertEqual(settlement.balance_difference, 0.0)
            self.assertEqual(len(self._pages(f"payments_transfer_id:{settlement.external_id}")), 3,
                             "5 balance transactions, 2 per page")
        self.assertEqual(self.sim.throttled_requests, 0)

    @mute_logger("odoo.addons.omni_reconciliation.models.omni_settlement_account",
                 "odoo.addons.omni_connector_base.models.omni_exception")
    def test_failures_reach_a_person_and_the_next_run_recovers(self):
        self.sim.load_payout_fixture(*PAYOUT_FILES)
        self.sim.payments_account_active = False
        self._import()
        self.assertFalse(self._settlements())
        exception = self.env["omni.exception"].search([
            ("res_model", "=", "omni.settlement.account"), ("res_id", "=", self.account.id),
            ("state", "in", ("open", "assigned"))])
        self.assertEqual(len(exception), 1)
        self.assertIn("Shopify Payments is not active", exception.message)
        self.assertEqual(exception.backend_id, self.backend)

        # the list works, the payout's transactions fail once: that payout waits for the next run
        self.sim.payments_account_active = True
        self.sim.inject_fault("500", search="payments_transfer_id:")
        self._import()
        self.assertFalse(self._settlements())
        self.assertTrue(self.env["omni.exception"].search_count([
            ("res_model", "=", "omni.settlement.account"), ("res_id", "=", self.account.id),
            ("message", "ilike", f"Payout {PAYOUT_ID}")]))
        self._import()
        self.assertEqual(self._settlements().mapped("external_id"), [PAYOUT_ID])

    def test_backend_hands_over_every_payout_with_a_lazy_loader(self):
        self.sim.load_payout_fixture(*PAYOUT_FILES)
        self.sim.load_payout_fixture(*PAYOUT_FILES, payout_id=623721859, status="scheduled", date="2026-11-28")
        payouts = self.backend._omni_shopify_payouts(date(2026, 11, 1))
        self.assertEqual([(p["id"], p["status"]) for p, _load in payouts],
                         [(PAYOUT_ID, "paid"), ("623721859", "scheduled")])
        self.assertFalse(self._pages("payments_transfer_id:"), "no transactions are read before they are needed")
        transactions = payouts[0][1]()
        self.assertEqual(len(transactions), 5)
        self.assertEqual({t["associatedPayout"]["id"].rsplit("/", 1)[-1] for t in transactions}, {PAYOUT_ID})
        self.assertFalse(self.backend._omni_shopify_payouts(date(2026, 12, 1)))


@tagged("post_install", "-at_install", "omni")
class TestShopifyPaymentsWithoutChannel(ReconciliationCommon):
    """A Shopify Payments account without a Shopify channel fetches nothing (with or without the
    Shopify connector installed) and says what to configure."""

    def test_nothing_is_fetched_without_a_shopify_channel(self):
        for backend in (self.shop_backend, self.env["omni.backend"]):
            account = self._payout_account("shopify_payments", backend or None, self.bank_eur,
                                           name=f"Shopify Payments {backend.name or 'no channel'}")
            self.assertFalse(account._omni_can_fetch())
            self.assertEqual(list(account._omni_fetch_settlements()), [])
            with self.assertRaisesRegex(UserError, "Shopify channel"):
                account.action_import_now()
            self.assertFalse(account._omni_import_from_source())
        self.assertFalse(self.env["omni.settlement.account"]._cron_import_settlements())
