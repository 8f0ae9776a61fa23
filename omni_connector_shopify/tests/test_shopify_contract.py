"""CONNECTORS.md's list of tests every connector must have, where Shopify lacked one."""

import json
from datetime import datetime

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ORDER_ID, ShopifyCase, fixture, fixture_bytes


@tagged("post_install", "-at_install", "omni")
class TestShopifyContract(ShopifyCase):
    def _business_records(self):
        return (
            self.env["sale.order"].search_count([("omni_backend_id", "=", self.backend.id)]),
            self.env["omni.binding"].search_count([("backend_id", "=", self.backend.id)]),
            self.env["account.payment"].search_count([("memo", "like", "#1042%")]),
        )

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event")
    def test_unreadable_order_is_blocked_with_the_field_named_and_nothing_created(self):
        payload = fixture("orders_create.json")
        del payload["line_items"][0]["price"]
        payload["line_items"][0].pop("price_set", None)
        payload["currency"] = None
        before = self._business_records()
        self.assertEqual(self.deliver("orders/create", payload), 200)
        self.process()
        (event,) = self.events()
        self.assertEqual(event.state, "blocked")
        self.assertIn("line_items[0].price", event.last_error)
        self.assertIn("currency", event.last_error)
        self.assertEqual(self._business_records(), before, "nothing stored half")
        self.assertTrue(event.exception_ids, "a person is told")

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event")
    def test_body_that_is_not_json_is_dead_at_once(self):
        self.assertEqual(self.deliver("orders/create", b"{not json"), 200, "a verified body is always stored")
        self.process()
        (event,) = self.events()
        self.assertEqual((event.state, event.attempts), ("dead", 1), "no retry can cure it")
        self.assertTrue(event.last_error)
        self.assertFalse(self.sale_orders())
        self.assertTrue(event.exception_ids)

    def test_replayed_body_with_new_webhook_id_has_no_second_effect(self):
        """A captured, validly signed body re-posted with new (unsigned) ``X-Shopify-Webhook-Id``
        and ``X-Shopify-Event-Id`` headers is stored as another delivery, and changes nothing."""
        self.seed_order(fixture("orders_create.json"))
        captured = self.sender.build("orders/create", fixture_bytes("orders_create.json"))
        self.assertEqual(self.post_delivery(captured), 200)
        self.process()
        sale = self.sale_orders()
        self.assertEqual(len(sale), 1)
        self.ship(sale.picking_ids)
        refund = self.sender.build("refunds/create", fixture_bytes("refunds_create.json"))
        self.assertEqual(self.post_delivery(refund), 200)
        self.process()
        before = (
            self._business_records(),
            len(sale.invoice_ids),
            sale.omni_payment_ids.ids,
            len(sale.picking_ids),
            self.env["account.payment"].search_count([]),
        )
        for original in (captured, refund):
            replay = self.sender.build(original.topic, original.body)
            replay.headers["X-Shopify-Hmac-Sha256"] = original.headers["X-Shopify-Hmac-Sha256"]
            self.assertNotEqual(replay.headers["X-Shopify-Webhook-Id"], original.headers["X-Shopify-Webhook-Id"])
            self.assertEqual(self.post_delivery(replay), 200)
        self.process()
        replays = self.events(direction="in")[-2:]
        self.assertTrue(all(state in ("done", "skipped") for state in replays.mapped("state")), replays.mapped(
            "last_error"))
        after = (
            self._business_records(),
            len(sale.invoice_ids),
            sale.omni_payment_ids.ids,
            len(sale.picking_ids),
            self.env["account.payment"].search_count([]),
        )
        self.assertEqual(after, before, "no second order, invoice, credit note, payment or return")
        self.assertEqual(len(self.sale_orders(ORDER_ID)), 1)

    def test_a_polled_order_is_stored_as_the_node_shopify_answered(self):
        """The poll hands the GraphQL node to the inbox unconverted; the handler maps it directly."""
        self.seed_order(fixture("orders_create.json"))
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        stored, read = self.backend._shopify_poll_orders()
        self.assertEqual((stored, read), (1, 1))
        (event,) = self.events(topic="orders/polled")
        body = json.loads(event.payload)
        self.assertEqual(body["id"], f"gid://shopify/Order/{ORDER_ID}")
        self.assertIn("lineItems", body)
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(self.sale_orders().amount_total, 70.60)
        checkpoint = self.backend._omni_checkpoint("orders")
        self.assertGreater(checkpoint.checkpoint, datetime(2026, 11, 20, 0, 0), "advanced after the poll")
        self.assertEqual(checkpoint.overlap_minutes, 10)
