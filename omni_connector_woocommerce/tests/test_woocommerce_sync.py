"""The polling backstop (primary: WooCommerce never retries) and the webhook health check."""

import os
from datetime import datetime
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import KEY, SECRET, WooCase, order_727


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceSync(WooCase):
    def setUp(self):
        super().setUp()
        self.backend.woocommerce_poll_checkpoint = datetime(2026, 11, 1)

    def test_lost_webhook_is_repaired_by_the_poll_exactly_once(self):
        self.subscribe()
        self.sim.drop = lambda delivery: delivery["resource"] == 727
        self.sim.add_order(order_727())
        self.sim.add_order(order_727(id=728, number="728"))
        self.assertEqual(sorted(self.send()), [0, 200], "727 lost on the way, 728 delivered")
        self.process()
        self.assertFalse(self.sale_orders())
        stored, read = self.backend._woocommerce_poll_orders()
        self.assertEqual((stored, read), (1, 2), "728's version was applied: only 727 is stored")
        polled = self.events(topic="order.polled")
        self.assertEqual(polled.idempotency_key, "727:2026-11-21T17:28:09:order.updated")
        request = next(r for r in self.sim.requests if r["path"].endswith("/orders"))
        self.assertEqual((request["query"]["orderby"], request["query"]["dates_are_gmt"],
                          request["query"]["per_page"]), ("modified", "true", "100"))
        self.assertTrue(request["query"]["modified_after"].startswith("2026-10-31T23:50"))
        self.process()
        self.assertEqual(polled.state, "done", polled.last_error)
        self.assertEqual(len(self.sale_orders()), 1)
        self.assertEqual(self.backend._woocommerce_poll_orders(), (0, 0), "the checkpoint moved on")
        self.backend.woocommerce_poll_checkpoint = datetime(2026, 11, 1)
        self.assertEqual(self.backend._woocommerce_poll_orders(), (0, 2), "re-reading stores nothing")

    def test_poll_follows_pages(self):
        for index in range(230):
            self.sim.add_order(order_727(id=3000 + index, number=str(3000 + index)), notify=False)
        stored, read = self.backend._woocommerce_poll_orders()
        self.assertEqual((stored, read), (230, 230))
        pages = [r for r in self.sim.requests if r["path"].endswith("/orders")]
        self.assertEqual([r["query"]["page"] for r in pages], ["1", "2", "3"])

    def test_disabled_and_missing_webhooks_are_detected_and_re_registered(self):
        hooks = self.subscribe(("order.created", "order.updated", "order.deleted"), secret="rotated-elsewhere")
        self.sim.add_order(order_727(status="pending", date_paid_gmt=None), notify=False)
        for attempt in range(6):
            self.sim.change_order(727, customer_note=f"change {attempt}")
            self.assertEqual(self.send(), [401])
        updated = hooks[1]
        self.assertEqual(updated["status"], "disabled", "more than 5 failures in a row")
        self.assertEqual(hooks[0]["status"], "active")
        self.backend._woocommerce_poll_orders()
        exception = self.open_exceptions("webhooks")
        self.assertEqual(len(exception), 1)
        self.assertIn("order.updated is disabled", exception.message)
        self.assertIn("order.restored is missing", exception.message)
        self.assertEqual(exception.severity, "critical")
        self.process()
        self.assertEqual(self.sale_orders().state, "draft", "meanwhile the poll imported the order")
        self.backend.action_woocommerce_register_webhooks()
        self.assertEqual(updated["status"], "active")
        self.assertEqual(updated["secret"], self.env["omni.backend"].browse(self.backend.id).webhook_secret)
        self.assertEqual(len([h for h in self.sim.webhooks.values() if h["topic"] == "order.restored"]), 1)
        self.assertFalse(self.open_exceptions("webhooks"))
        self.send()  # the new webhook's ping
        self.sim.change_order(727, customer_note="after repair")
        self.assertEqual(self.send(), [200])
        self.backend._woocommerce_poll_orders()
        self.assertFalse(self.open_exceptions("webhooks"))

    def test_register_webhooks_is_idempotent_and_pings_are_answered(self):
        counts = self.backend._omni_register_webhooks()
        self.assertEqual(counts, {"created": 4, "updated": 0, "unchanged": 0})
        self.assertEqual({h["delivery_url"] for h in self.sim.webhooks.values()}, {self.backend.webhook_url})
        self.assertEqual(self.send(), [200] * 4)
        self.assertEqual(self.backend._omni_register_webhooks(), {"created": 0, "updated": 0, "unchanged": 4})
        self.assertFalse(self.events())

    def test_test_connection(self):
        action = self.backend.action_test_connection()
        self.assertIn("USD", action["params"]["message"])

    @mute_logger("odoo.addons.omni_connector_woocommerce.models.woocommerce_sync")
    def test_a_throttled_poll_files_an_exception_and_keeps_the_checkpoint(self):
        self.sim.add_order(order_727(), notify=False)
        self.sim.inject_fault("429", retry_after=30)
        self.env["omni.backend"]._cron_woocommerce_poll_orders()
        self.assertIn("rate limited", self.open_exceptions("Polling WooCommerce").message)
        self.assertEqual(self.backend.woocommerce_poll_checkpoint, datetime(2026, 11, 1))
        self.env["omni.backend"]._cron_woocommerce_poll_orders()
        self.assertEqual(len(self.events(topic="order.polled")), 1)
        # Proof (faults): the poll that succeeded resolves the failed one's exception; before, it stayed open.
        self.assertFalse(self.open_exceptions("Polling WooCommerce"))

    def test_import_orders_modified_since(self):
        self.sim.add_order(order_727(), notify=False)
        self.backend.woocommerce_poll_checkpoint = datetime(2026, 12, 1)
        self.backend.woocommerce_import_since = datetime(2026, 11, 20)
        self.backend.action_woocommerce_import_since()
        self.assertEqual(self.backend.woocommerce_poll_checkpoint, datetime(2026, 11, 20))
        self.env["omni.backend"]._cron_woocommerce_poll_orders()
        self.process()
        self.assertEqual(self.sale_orders().state, "sale")

    def test_https_store_with_basic_auth_through_the_backend(self):
        """Over https the backend's client (the real library) sends Basic auth and verifies the
        store's certificate (here a test CA, trusted through REQUESTS_CA_BUNDLE)."""
        store = self.sim_module.WooCommerceSimulator(KEY, SECRET, tls=True).start()
        self.addCleanup(store.stop)
        store.add_order(order_727(), notify=False)
        self.backend.sudo().woocommerce_store_url = store.base_url
        self.backend._omni_reset_client()
        with patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": store.ca_file}):
            self.assertIn("USD", self.backend.action_test_connection()["params"]["message"])
            self.assertEqual(self.backend._woocommerce_poll_orders(), (1, 1))
        self.assertEqual({r.get("auth") for r in store.requests}, {"basic"})
        self.assertFalse([r for r in store.requests if "oauth_signature" in r["query"]])
        self.process()
        self.assertEqual(self.sale_orders().state, "sale")
