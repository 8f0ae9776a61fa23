"""Monitoring of payouts, with omni_reconciliation: the known scenario of omni_monitoring plus one
payout, exactly, over HTTP; Payouts in Transit for accounting users; the payout alert rules; the
Overview's last payout."""

from datetime import date

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from odoo.addons.omni_monitoring.tests.common import MetricsScrapeMixin

from .common import PAYOUT_AMOUNT, PAYOUT_DATE, MonitoringCommon


@tagged("post_install", "-at_install", "omni")
class TestPayoutMetrics(MetricsScrapeMixin, MonitoringCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Monitored shop")
        cls._omni_set_token()

    def test_known_scenario_with_a_payout_exactly(self):
        started, polled_at = self._run_known_scenario()
        settlement, _line = self._post_payout(bank_match=False)
        samples = self._samples()
        self._check_known_scenario(samples, started, polled_at, self.company)
        value = self._value
        # the payout: posted, in transit, every line matched
        account = {"backend": "Shopify shop", "channel": "shopify_payments", "company": self.company.name,
                   "account": "Shopify Payments EUR"}
        self.assertEqual(value(samples, "omni_settlements", state="posted", **account), 1)
        self.assertEqual(value(samples, "omni_settlements", **account), 1)
        self.assertEqual(value(samples, "omni_settlement_unmatched_lines", **account), 0)
        self.assertEqual(value(samples, "omni_payout_in_transit_amount", currency="EUR", **account), PAYOUT_AMOUNT)
        self.assertEqual(value(samples, "omni_days_since_last_payout", **account),
                         (fields.Date.context_today(settlement) - PAYOUT_DATE).days)
        # another backend's figures are its own
        self.assertIsNone(value(samples, "omni_events_processed_total", backend="Woo shop"))
        self.assertEqual(value(samples, "omni_ready_queue_depth", backend="Woo shop"), 0)
        self._check_rules_are_served(samples)  # every metric of prometheus/alerts.yml, payouts included
        # matched to the bank: no longer in transit
        self._statement_line(self.bank_eur, PAYOUT_AMOUNT, date(2026, 11, 26), label="SHOPIFY PAYMENTS 623721858")
        settlement._omni_bank_match()
        samples = self._samples()
        self.assertEqual(value(samples, "omni_settlements", state="reconciled", **account), 1)
        self.assertIsNone(value(samples, "omni_payout_in_transit_amount", **account))

    def test_payout_alert_rules_and_overview(self):
        settlement, _line = self._post_payout(bank_match=False)
        silence = self.env.ref("omni_monitoring.alert_payout_silence")
        now = fields.Datetime.now()
        values = silence._omni_values(now)
        subject = f"account:{self.payout_account.id}"
        self.assertEqual(values[subject][3], (now.date() - PAYOUT_DATE).days)
        unmatched = self.env.ref("omni_monitoring.alert_payout_unmatched")
        self.assertEqual(unmatched._omni_values(now)[subject][3], 0.0, "every line of the payout is matched")
        self.assertEqual(self.shop_backend.ov_last_payout, settlement.payout_date)
        action = self.shop_backend.action_ov_payouts()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), settlement)


@tagged("post_install", "-at_install", "omni")
class TestPayoutsInTransitAccess(MonitoringCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"].with_context(no_reset_password=True)

        def user(login, *groups):
            return Users.create({"name": login, "login": login,
                                 "group_ids": [(6, 0, [cls.env.ref(group).id for group in groups])]})

        cls.accountant = user("mon-accountant", "account.group_account_user")
        cls.salesman = user("mon-salesman", "sales_team.group_sale_salesman")

    def _menus(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_payouts_in_transit_is_for_accounting_users(self):
        settlement, _line = self._post_payout(bank_match=False)
        menu = self.env.ref("omni_monitoring_reconciliation.menu_omni_payout_transit_report")
        self.assertEqual(menu.parent_id, self.env.ref("account.menu_finance_reports"))
        self.assertIn(menu.id, self._menus(self.accountant))
        self.assertNotIn(menu.id, self._menus(self.salesman))
        report = self.env["omni.payout.transit.report"].with_user(self.accountant).search([])
        self.assertEqual(report.settlement_id, settlement)
        self.assertEqual((report.amount, report.currency_id), (156.87, self.eur))
        report.read(["settlement_id", "payout_account_id", "move_id", "amount", "days_in_transit"])
        with self.assertRaises(AccessError):
            self.env["omni.payout.transit.report"].with_user(self.salesman).search([])
        # matched to the bank: no longer in transit
        self._statement_line(self.bank_eur, 156.87, date(2026, 11, 26), label="SHOPIFY PAYMENTS 623721858")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertFalse(self.env["omni.payout.transit.report"].with_user(self.accountant).search([]))

    def test_payout_analysis_views(self):
        action = self.env.ref("omni_monitoring_reconciliation.action_omni_settlement_analysis")
        self.assertEqual(action.res_model, "omni.settlement")
        self.assertTrue({"graph", "pivot"} <= set(action.view_mode.split(",")))
        for view_type in ("graph", "pivot"):
            self.env["omni.settlement"].get_view(view_type=view_type)
