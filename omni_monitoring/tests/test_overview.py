"""Omnichannel -> Overview: each card's figures, its red state, and the lists its figures open."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestOverview(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, omni_no_trigger=True))
        cls.busy = cls._omni_create_backend(cls.env, name="Busy shop")
        cls.quiet = cls._omni_create_backend(cls.env, name="Quiet shop")
        cls.partner = cls.env["res.partner"].create({"name": "Buyer"})

    def _open(self, action):
        return self.env[action["res_model"]].search(action["domain"])

    def test_figures_red_state_and_lists(self):
        SaleOrder = self.env["sale.order"]
        today = SaleOrder.create([{"partner_id": self.partner.id, "omni_backend_id": self.busy.id}] * 2)
        SaleOrder.create({"partner_id": self.partner.id, "omni_backend_id": self.busy.id,
                          "date_order": fields.Datetime.now() - timedelta(days=3)})
        SaleOrder.create({"partner_id": self.partner.id, "omni_backend_id": self.quiet.id,
                          "date_order": fields.Datetime.now() - timedelta(days=3)})
        waiting = self._omni_store(self.busy, {"resource": "1", "name": "Waiting"}, "ov-1")
        self.env.cr.execute(SQL("UPDATE omni_event SET received_at = %s WHERE id = %s",
                                fields.Datetime.now() - timedelta(minutes=15), waiting.id))
        self._omni_store(self.busy, {"resource": "2", "name": "Later"}, "ov-2")
        self.env["omni.exception"]._omni_raise("Something to look at", backend=self.busy, category="mapping")
        self.busy._omni_checkpoint_advance("orders", fields.Datetime.now() - timedelta(minutes=4))
        self.env.invalidate_all()

        busy, quiet = self.busy, self.quiet
        self.assertEqual((busy.ov_orders_today, busy.ov_queue_depth, busy.ov_open_exceptions, busy.ov_dead_events),
                         (2, 2, 1, 0))
        self.assertEqual(busy.ov_oldest_age_minutes, 15)
        self.assertTrue(busy.ov_last_webhook is False or busy.ov_last_webhook)
        self.assertTrue(busy.ov_last_poll)
        self.assertTrue(busy.ov_alert)
        self.assertIn("queue waiting 15 min", busy.ov_alert_reason)
        self.assertIn("open exceptions: 1", busy.ov_alert_reason)
        self.assertEqual((quiet.ov_orders_today, quiet.ov_queue_depth, quiet.ov_open_exceptions), (0, 0, 0))
        self.assertFalse(quiet.ov_alert)
        # each figure opens the records it counts
        self.assertEqual(self._open(busy.action_ov_orders_today()), today)
        self.assertEqual(busy.action_ov_orders_today()["display_name"], "Busy shop: orders today",
                         "the list (and its breadcrumb) is titled with the channel")
        self.assertEqual(len(self._open(busy.action_ov_queue())), 2)
        self.assertEqual(self._open(busy.action_ov_exceptions()).message, "Something to look at")
        self.assertFalse(self._open(busy.action_ov_dead()))
        self.assertEqual(self._open(busy.action_ov_polls()).mapped("resource_type"), ["orders"])
        # thresholds are per channel
        busy.write({"ov_queue_age_limit": 30, "ov_exception_limit": 1})
        self.assertFalse(busy.ov_alert)

    def test_last_payout_and_webhook(self):
        event = self._omni_store(self.busy, {"resource": "3", "name": "Hook"}, "ov-3")
        self.env.cr.execute(SQL("UPDATE omni_event SET headers = '{}', received_at = %s WHERE id = %s",
                                fields.Datetime.now() - timedelta(hours=3), event.id))
        self._omni_run_ready()
        self.env.invalidate_all()
        self.assertTrue(self.busy.ov_last_webhook)
        self.assertTrue(self.busy.ov_alert, "a push channel silent for 3 hours")
        self.assertIn("no webhook since", self.busy.ov_alert_reason)
        self.assertEqual(self._open(self.busy.action_ov_webhooks()), event)

    def test_what_a_poll_stores_is_no_webhook(self):
        """Seen on the demo: a pull channel (Amazon, eBay) showed a "last webhook", and a push channel whose
        webhooks had stopped looked alive because its poll stored orders (with the poll's marker header)."""
        hook = self._omni_store(self.busy, {"resource": "4", "name": "Hook"}, "ov-4")
        polled = self._omni_store(self.busy, {"resource": "5", "name": "Polled"}, "ov-5")
        webhook_at = fields.Datetime.now() - timedelta(hours=3)
        self.env.cr.execute(SQL("UPDATE omni_event SET headers = %s, received_at = %s WHERE id = %s",
                                '{"X-Test-Topic": "orders/create"}', webhook_at, hook.id))
        self.env.cr.execute(SQL("UPDATE omni_event SET headers = %s WHERE id = %s",
                                '{"X-Omni-Source": "poll"}', polled.id))
        self.env.invalidate_all()
        self.assertEqual(self.busy.ov_last_webhook, webhook_at)
        self.assertIn("no webhook since", self.busy.ov_alert_reason)
        self.assertEqual(self._open(self.busy.action_ov_webhooks()), hook)
        silence = self.env["omni.alert.rule"]._omni_value_webhook_silence_minutes(fields.Datetime.now())
        self.assertAlmostEqual(silence[f"backend:{self.busy.id}"][3], 180, delta=2)

    def test_overview_action_and_menu(self):
        action = self.env.ref("omni_monitoring.action_omni_overview")
        self.assertEqual((action.res_model, action.view_mode), ("omni.backend", "kanban"))
        menu = self.env.ref("omni_monitoring.menu_omni_overview")
        self.assertEqual(menu.parent_id, self.env.ref("omni_connector_base.menu_omni_root"))
