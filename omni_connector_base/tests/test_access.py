from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestAccess(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B"})
        cls.backend_a = cls._omni_create_backend(cls.env, name="A shop")
        cls.backend_b = cls._omni_create_backend(cls.env, name="B shop", company_id=cls.company_b.id)
        cls.plain_user = new_test_user(cls.env, login="plain", groups="base.group_user")
        cls.omni_user = new_test_user(cls.env, login="omni_user", groups="omni_connector_base.group_omni_user")
        cls.omni_manager = new_test_user(cls.env, login="omni_manager", groups="omni_connector_base.group_omni_manager")
        cls.user_a = new_test_user(
            cls.env,
            login="omni_a",
            groups="omni_connector_base.group_omni_user",
            company_id=cls.company_a.id,
            company_ids=[cls.company_a.id],
        )

    def test_plain_user_sees_no_omnichannel_menu(self):
        root = self.env.ref("omni_connector_base.menu_omni_root")
        visible = self.env["ir.ui.menu"].with_user(self.plain_user)._visible_menu_ids()
        self.assertNotIn(root.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.omni_user)._visible_menu_ids()
        self.assertIn(root.id, visible)
        self.assertNotIn(self.env.ref("omni_connector_base.menu_omni_configuration").id, visible)
        with self.assertRaises(AccessError):
            self.env["omni.event"].with_user(self.plain_user).search([])

    def test_user_and_manager_cannot_read_secret_values(self):
        for user in (self.omni_user, self.omni_manager):
            backend = self.backend_a.with_user(user)
            with self.assertRaises(AccessError):
                backend.read(["webhook_secret"])
            self.assertTrue(backend.has_webhook_secret, "presence is visible")
        self.assertEqual(self.backend_a.sudo().webhook_secret, "shpss_test_secret_for_omni")

    def test_user_cannot_configure_but_manager_can(self):
        with self.assertRaises(AccessError):
            self.backend_a.with_user(self.omni_user).write({"max_attempts": 5})
        self.backend_a.with_user(self.omni_manager).write({"max_attempts": 5})
        self.assertEqual(self.backend_a.max_attempts, 5)

    def test_company_a_user_cannot_see_company_b_events(self):
        event_a = self._omni_store(self.backend_a, {"resource": "A1"}, "acc-a")
        event_b = self._omni_store(self.backend_b, {"resource": "B1"}, "acc-b")
        self.assertEqual(event_b.company_id, self.company_b)
        Event = self.env["omni.event"].with_user(self.user_a)
        visible = Event.search([("id", "in", (event_a | event_b).ids)])
        self.assertEqual(visible, event_a)
        with self.assertRaises(AccessError):
            event_b.with_user(self.user_a).read(["topic"])
        self.assertFalse(self.env["omni.backend"].with_user(self.user_a).search([("id", "=", self.backend_b.id)]))
