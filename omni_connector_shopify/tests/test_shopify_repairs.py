"""Issue 10's Shopify items: versions that share a second (15); a poll under throttling (16)."""

import time
from datetime import datetime

from odoo.tests import tagged

from .common import ShopifyCase


@tagged("post_install", "-at_install", "omni")
class TestShopifySameSecondUpdates(ShopifyCase):
    def test_update_within_the_same_second_with_other_content_is_applied(self):
        """Shopify's ``updated_at`` has one-second resolution: two edits in one second carry the
        same timestamp. The second one's content differs, so it must be applied, not taken for
        the version already applied."""
        stamp = "2026-11-20T10:14:05+01:00"
        self.deliver("orders/create", self.order_payload(updated_at=stamp, financial_status="authorized"))
        self.process()
        sale = self.sale_orders()
        shirt = sale.order_line.filtered(lambda line: line.product_id == self.shirt)
        self.assertEqual(shirt.product_uom_qty, 2)
        edited = self.one_shirt(self.order_payload(updated_at=stamp, financial_status="authorized"))
        self.assertEqual(self.deliver("orders/updated", edited), 200)
        self.process()
        event = self.events()[-1]
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(shirt.product_uom_qty, 1, "the same-second edit is applied")
        self.assertAlmostEqual(sale.amount_total, 44.50, places=2)
        # The very same version again (a poll re-reading it, or a retry) still changes nothing.
        self.assertEqual(self.deliver("orders/updated", edited), 200)
        self.process()
        self.assertEqual(self.events()[-1].state, "done")
        self.assertEqual((len(self.sale_orders()), shirt.product_uom_qty), (1, 1))


@tagged("post_install", "-at_install", "omni")
class TestShopifyPollUnderThrottling(ShopifyCase):
    def test_a_throttled_poll_keeps_what_it_read_and_resumes_without_sleeping(self):
        """The client never sleeps long in a worker: when the cost bucket runs dry mid-poll, the
        orders read are kept, the checkpoint moves to the last one, the cron is due again after
        retry_after, and the next run reads only what is left (versions read before are skipped)."""
        stamps = ["2026-11-20T10:00:00+01:00", "2026-11-20T11:00:00+01:00", "2026-11-20T12:00:00+01:00"]
        ids = ["5829417091301", "5829417091302", "5829417091303"]
        for order_id, stamp in zip(ids, stamps, strict=True):
            self.seed_order(self.order_payload(order_id, name=f"#{order_id[-4:]}", updated_at=stamp), transactions=())
        # one order with its refunds and fulfillments (934 points) per bucket, refilled in 375 s
        self.sim.bucket_size, self.sim.restore_rate, self.sim.charge_requested_cost = 1000.0, 1.0, True
        self.sim.drain_bucket(to=1000.0)
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        cron = self.env.ref("omni_connector_shopify.cron_shopify_poll_orders")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        started = time.monotonic()
        stored, _read = self.backend._shopify_poll_orders()
        self.assertLess(time.monotonic() - started, 5, "no long sleep in the worker")
        self.assertEqual(stored, 1)
        self.assertEqual(self.events(topic="orders/polled").mapped("resource_key"), ids[:1])
        self.assertEqual(self.backend._omni_checkpoint("orders").checkpoint, datetime(2026, 11, 20, 9, 0))
        self.assertGreater(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers)
        # The bucket has refilled when the cron runs again: the rest is read, the first order is not.
        self.sim.bucket_size, self.sim.restore_rate = 2000.0, 100.0
        self.sim.drain_bucket(to=2000.0)
        self.backend._shopify_reset_client()
        mark = len(self.sim.requests)
        self.assertEqual(self.backend._shopify_poll_orders()[0], 2)
        self.assertEqual(self.events(topic="orders/polled").mapped("resource_key"), ids)
        read = [r for r in self.sim.requests[mark:] if r.get("operation") == "order"]
        self.assertEqual(len(read), 4, "two orders, each with its refunds and fulfillments; the first is skipped")
