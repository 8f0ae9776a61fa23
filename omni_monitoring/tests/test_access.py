"""Access: the Overview is for Omnichannel users, Payouts in Transit for accounting users; alert rules
are configured by managers; the metrics token by system administrators."""

from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MonitoringCommon


@tagged("post_install", "-at_install", "omni")
class TestMonitoringAccess(MonitoringCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"].with_context(no_reset_password=True)

        def user(login, *groups):
            return Users.create({"name": login, "login": login,
                                 "group_ids": [(6, 0, [cls.env.ref(group).id for group in groups])]})

        cls.omni_user = user("mon-omni-user", "omni_connector_base.group_omni_user")
        cls.omni_manager = user("mon-omni-manager", "omni_connector_base.group_omni_manager")
        cls.accountant = user("mon-accountant", "account.group_account_user")
        cls.salesman = user("mon-salesman", "sales_team.group_sale_salesman")

    def _menus(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_overview_is_for_omnichannel_users(self):
        overview = self.env.ref("omni_monitoring.menu_omni_overview")
        self.assertIn(overview.id, self._menus(self.omni_user))
        self.assertNotIn(overview.id, self._menus(self.accountant))
        backend = self.shop_backend.with_user(self.omni_user)
        self.assertEqual(backend.ov_queue_depth, 0)
        backend.action_ov_queue()
        with self.assertRaises(AccessError):
            self.shop_backend.with_user(self.salesman).read(["ov_queue_depth"])

    def test_payouts_in_transit_is_for_accounting_users(self):
        settlement, _line = self._post_payout(bank_match=False)
        menu = self.env.ref("omni_monitoring.menu_omni_payout_transit_report")
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

    def test_alert_rules_are_configured_by_managers(self):
        rule = self.env.ref("omni_monitoring.alert_dead_event")
        rule.with_user(self.omni_user).read(["name", "threshold"])
        with self.assertRaises(AccessError):
            rule.with_user(self.omni_user).write({"threshold": 5})
        rule.with_user(self.omni_manager).write({"threshold": 1})
        with self.assertRaises(AccessError):
            rule.with_user(self.salesman).read(["name"])

    def test_metrics_token_is_for_system_administrators(self):
        settings = self.env["res.config.settings"].with_user(self.omni_manager)
        with self.assertRaises(AccessError):
            settings.create({}).action_omni_generate_metrics_token()
        self.assertNotIn("omni_metrics_token", settings.fields_get())
