"""eBay stock export: coalesced per SKU through the outbox, bulkUpdatePriceQuantity calls of 25,
a minimum interval per listing and eBay's 250 revisions a day."""

from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .ebay_common import EbayCase


@tagged("post_install", "-at_install", "omni", "omni_ebay")
class TestEbayStock(EbayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Product = cls.env["product.product"]
        cls.items = Product.create([
            {"name": f"Listed item {n}", "default_code": f"LIST-{n:03d}", "type": "consu", "is_storable": True,
             "taxes_id": [Command.clear()]} for n in range(60)])
        cls.listings = cls.env["omni.ebay.listing"].create([
            {"backend_id": cls.backend.id, "sku": item.default_code, "product_id": item.id} for item in cls.items])

    def bulk_calls(self):
        return [q for m, p, q in self.sim.requests_log if p == "/sell/inventory/v1/bulk_update_price_quantity"]

    def put(self, items, quantity):
        for item in items:
            self.env["stock.quant"]._update_available_quantity(item, self.warehouse.lot_stock_id, quantity)

    def test_60_changes_make_3_calls_of_at_most_25(self):
        self.put(self.items, 4)
        self.put(self.items[:10], 1)  # a second change of a queued SKU is coalesced
        events = self.events(topic="ebay/stock")
        self.assertEqual(len(events), 60)
        self.process()
        self.assertEqual(len(self.bulk_calls()), 3)
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(len(self.sim.inventory), 60)
        self.assertEqual(self.sim.inventory["LIST-000"], 5)
        self.assertEqual(self.sim.inventory["LIST-059"], 4)
        self.assertEqual(self.listings[0].last_quantity, 5)
        self.assertEqual(self.listings[0].revision_count, 1)

    def test_a_listing_is_not_revised_again_within_the_minimum_interval(self):
        self.put(self.items[:1], 3)
        self.process()
        self.assertEqual(len(self.bulk_calls()), 1)
        self.put(self.items[:1], 2)
        self.process()
        event = self.events(topic="ebay/stock")[-1]
        self.assertEqual(event.state, "retry")
        self.assertEqual(len(self.bulk_calls()), 1, "not sent again within 10 minutes")
        self.assertGreater(event.next_attempt_at, fields.Datetime.now() + timedelta(minutes=9))
        # ten minutes later it goes, with the quantity of now
        self.listings[0].last_sent_at = fields.Datetime.now() - timedelta(minutes=11)
        self._omni_make_due(event)
        self.process()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.sim.inventory["LIST-000"], 5)
        self.assertEqual(len(self.bulk_calls()), 2)

    def test_due_siblings_go_and_the_others_wait(self):
        self.put(self.items[:2], 1)
        self.process()
        self.listings[0].last_sent_at = fields.Datetime.now() - timedelta(minutes=30)
        self.put(self.items[:3], 1)
        events = self.events(topic="ebay/stock", state="pending")
        self.assertEqual(len(events), 3)
        self.process()
        self.assertEqual(sorted(events.mapped("state")), ["done", "done", "retry"])
        self.assertEqual(events.filtered(lambda e: e.state == "retry").resource_key, "LIST-001")

    def test_the_250th_revision_of_the_day_waits_for_the_next_day(self):
        self.sim.revision_limit = 1
        self.put(self.items[:1], 1)
        self.process()
        self.listings[0].last_sent_at = fields.Datetime.now() - timedelta(hours=1)
        self.put(self.items[:1], 1)
        self.process()
        self.assertEqual(self.listings[0].revision_count, 250)
        self.assertIn("25019", self.listings[0].last_error)
        waiting = self.events(topic="ebay/stock", state="retry")
        self.assertEqual(len(waiting), 1, "queued again for the next UTC day")
        tomorrow = fields.Datetime.to_datetime(fields.Date.today() + timedelta(days=1))
        self.assertGreaterEqual(waiting.next_attempt_at, tomorrow)
        self.assertFalse(self.env["omni.exception"].search([("backend_id", "=", self.backend.id),
                                                            ("state", "=", "open")]))

    def test_429_pauses_the_stock_push_and_retries(self):
        self.put(self.items[:5], 1)
        self.sim.inject_fault("429", 1, retry_after=120)
        self.process()
        events = self.events(topic="ebay/stock")
        self.assertEqual(set(events.mapped("state")) - {"pending"}, {"retry"})
        pause = self.env["omni.backend.pause"].search([("backend_id", "=", self.backend.id)])
        self.assertTrue(pause)
        self.assertFalse(self.sim.inventory)
        self.backend._omni_resume()
        self._omni_make_due(events)
        self.process()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(len(self.sim.inventory), 5)

    def test_refused_sku_opens_an_exception(self):
        self.put(self.items[:1], 1)
        self.sim.revision_limit = 0
        original = self.sim._bulk

        def refuse(body):
            status, payload, extra = original(body)
            for response in payload.get("responses", []):
                response.update(statusCode=400, errors=[{"errorId": 25702, "message": "SKU not found"}])
            return status, payload, extra

        self.sim._bulk = refuse
        self.process()
        exception = self.env["omni.exception"].search([("backend_id", "=", self.backend.id)])
        self.assertIn("LIST-000", exception.message)
