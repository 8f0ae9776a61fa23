"""Access: the Overview is for Omnichannel users; alert rules are configured by managers; the metrics
token by system administrators; the aggregate rows, live-state counters and alert rules follow the
companies a user works in. (Payouts in Transit, for accounting users: omni_monitoring_reconciliation.)"""

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestMonitoringAccess(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, omni_no_trigger=True))
        Users = cls.env["res.users"].with_context(no_reset_password=True)

        def user(login, *groups, **values):
            return Users.create({"name": login, "login": login,
                                 "group_ids": [(6, 0, [cls.env.ref(group).id for group in groups])], **values})

        cls.omni_user = user("mon-omni-user", "omni_connector_base.group_omni_user")
        cls.omni_manager = user("mon-omni-manager", "omni_connector_base.group_omni_manager")
        cls.accountant = user("mon-accountant", "account.group_account_user")
        cls.salesman = user("mon-salesman", "sales_team.group_sale_salesman")
        cls.shop_backend = cls._omni_create_backend(cls.env, name="Access shop")

    def _menus(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_overview_is_for_omnichannel_users(self):
        overview = self.env.ref("omni_monitoring.menu_omni_overview")
        self.assertIn(overview.id, self._menus(self.omni_user))
        self.assertNotIn(overview.id, self._menus(self.accountant))
        self.assertNotIn(overview.id, self._menus(self.salesman))
        backend = self.shop_backend.with_user(self.omni_user)
        self.assertEqual(backend.ov_queue_depth, 0)
        backend.action_ov_queue()
        with self.assertRaises(AccessError):
            self.shop_backend.with_user(self.salesman).read(["ov_queue_depth"])

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

    def test_company_rules(self):
        """omni.metric.minute, omni.event.state.count and alert rules/states: a user sees the rows of
        the companies selected; /omni/metrics (superuser) sees them all."""
        other_company = self.env["res.company"].create({"name": "Other Retail Co"})
        other_backend = self._omni_create_backend(self.env, name="Other company shop", company_id=other_company.id)
        for backend, key in ((self.shop_backend, "acc-1"), (other_backend, "acc-2")):
            self._omni_store(backend, {"resource": key, "name": "Counted"}, key)
        self.env["omni.metric.minute"]._omni_flush_calls(self.shop_backend, outcome="done")
        self.env["omni.metric.minute"]._omni_flush_calls(other_backend, outcome="done")
        rule = self.env["omni.alert.rule"].create({"name": "Other co only", "metric": "dead_events", "threshold": 0,
                                                   "company_id": other_company.id,
                                                   "group_id": self.env.ref("omni_connector_base.group_omni_user").id})
        self.env["omni.alert.state"].create({"rule_id": rule.id, "subject": f"backend:{other_backend.id}",
                                            "since": "2026-12-01 00:00:00"})
        self.env.flush_all()
        manager = self.omni_manager
        manager.write({"company_ids": [(6, 0, [self.env.company.id, other_company.id])],
                       "company_id": self.env.company.id})
        for model in ("omni.metric.minute", "omni.event.state.count"):
            with self.subTest(model=model):
                Model = self.env[model]
                everywhere = Model.sudo().search([("backend_id", "in", (self.shop_backend | other_backend).ids)])
                self.assertEqual(set(everywhere.company_id.ids), {self.env.company.id, other_company.id})
                mine = Model.with_user(manager).with_context(allowed_company_ids=[self.env.company.id]).search(
                    [("backend_id", "in", (self.shop_backend | other_backend).ids)])
                self.assertEqual(mine.backend_id, self.shop_backend)
                both = Model.with_user(manager).with_context(
                    allowed_company_ids=[self.env.company.id, other_company.id]).search(
                    [("backend_id", "in", (self.shop_backend | other_backend).ids)])
                self.assertEqual(both.backend_id, self.shop_backend | other_backend)
        for model, record in (("omni.alert.rule", rule), ("omni.alert.state", rule.state_ids)):
            with self.subTest(model=model):
                Model = self.env[model].with_user(manager)
                self.assertNotIn(record, Model.with_context(allowed_company_ids=[self.env.company.id]).search([]))
                self.assertIn(record, Model.with_context(
                    allowed_company_ids=[self.env.company.id, other_company.id]).search([]))
        # every model of the addon with company data has its rule
        Rule = self.env["ir.rule"].sudo()
        for model in ("omni.metric.minute", "omni.metric.total", "omni.event.state.count", "omni.alert.rule",
                      "omni.alert.state"):
            self.assertTrue(Rule.search([("model_id.model", "=", model)]), model)
