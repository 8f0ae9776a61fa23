"""FBM stock through one JSON_LISTINGS_FEED with per-SKU errors; FBA inventory into the FBA warehouse."""

import json

from odoo.tests import tagged

from .amazon_common import US, AmazonCase


@tagged("post_install", "-at_install", "omni")
class TestAmazonStock(AmazonCase):
    def _listings(self, *skus):
        Listing = self.env["omni.amazon.listing"]
        return Listing.browse([Listing.create({
            "backend_id": self.backend.id, "seller_sku": sku, "product_id": self.products[sku].id}).id
            for sku in skus])

    def test_one_feed_for_all_changed_skus_and_per_sku_errors(self):
        listings = self._listings("TSHIRT-BLK-M", "MUG-CLASSIC", "HOODIE-BLU-L")
        self.sim.unknown_skus = {"HOODIE-BLU-L"}
        self.assertEqual(self.backend._amazon_queue_stock_changes(), 3)
        self._omni_run_ready()
        self.assertEqual(self.sim.calls["createFeedDocument"], 1)
        self.assertEqual(self.sim.calls["createFeed"], 1, "one feed for every changed SKU")
        self.assertEqual(self.events("stock/feed").mapped("state"), ["done"] * 3)
        document = json.loads(next(iter(self.sim.uploads.values()))["content"])
        self.assertEqual(document["header"]["sellerId"], self.sim.seller_id)
        message = document["messages"][0]
        self.assertEqual(message["operationType"], "PARTIAL_UPDATE")
        self.assertEqual(message["attributes"]["fulfillment_availability"],
                         [{"fulfillment_channel_code": "DEFAULT", "quantity": 50}])
        self.assertEqual(self.sim.listing_quantities, {"TSHIRT-BLK-M": 50, "MUG-CLASSIC": 50})

        feed = self.env["omni.amazon.feed"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual((feed.state, feed.message_count), ("submitted", 3))
        self.backend._amazon_check_feeds()
        self.assertEqual((feed.state, feed.error_count, feed.accepted_count), ("done", 1, 2))
        hoodie = listings.filtered(lambda listing: listing.seller_sku == "HOODIE-BLU-L")
        self.assertIn("4000001", hoodie.last_error)
        exception = self.env["omni.exception"].search([("backend_id", "=", self.backend.id),
                                                      ("resource_key", "=", "amazon:stock:HOODIE-BLU-L")])
        self.assertEqual(len(exception), 1)
        self.assertIn("HOODIE-BLU-L", exception.message)
        self.assertFalse(self.env["omni.exception"].search([("resource_key", "=", "amazon:stock:MUG-CLASSIC")]))

        # nothing changed: nothing queued; a sale changes one SKU: one message
        self.assertEqual(self.backend._amazon_queue_stock_changes(), 0)
        self.env["stock.quant"]._update_available_quantity(self.products["MUG-CLASSIC"],
                                                           self.warehouse.lot_stock_id, -5)
        self.assertEqual(self.backend._amazon_queue_stock_changes(), 1)
        self._omni_run_ready()
        self.assertEqual(self.sim.calls["createFeed"], 2)
        self.assertEqual(self.sim.listing_quantities["MUG-CLASSIC"], 45)

    def test_feed_still_processing_is_checked_again(self):
        self._listings("MUG-CLASSIC")
        self.sim.feed_processing_polls = 1
        self.backend._amazon_queue_stock_changes()
        self._omni_run_ready()
        feed = self.env["omni.amazon.feed"].search([("backend_id", "=", self.backend.id)])
        self.backend._amazon_check_feeds()
        self.assertEqual((feed.state, feed.processing_status), ("submitted", "IN_PROGRESS"))
        self.backend._amazon_check_feeds()
        self.assertEqual(feed.state, "done")

    def test_fba_inventory_sets_the_fba_warehouse(self):
        quantities = {f"FBA-OTHER-{index:03d}": index for index in range(118)}
        quantities.update({"TSHIRT-BLK-M": 7, "HOODIE-BLU-L": 0})
        self.sim.set_inventory(US, quantities)
        count = self.backend._amazon_sync_fba_inventory()
        self.assertEqual(count, 120)
        self.assertEqual(self.sim.calls["getInventorySummaries"], 3, "pages of 50 through nextToken")
        location = self.backend.amazon_fba_warehouse_id.lot_stock_id
        shirt = self.products["TSHIRT-BLK-M"].with_context(location=location.id)
        self.assertEqual(shirt.qty_available, 7)
        # Amazon's figure is authoritative: a later sync overwrites what Odoo thinks
        quantities["TSHIRT-BLK-M"] = 3
        self.sim.set_inventory(US, quantities)
        self.backend._amazon_sync_fba_inventory()
        self.assertEqual(shirt.with_context(location=location.id).qty_available, 3)
        self.assertEqual(self.products["TSHIRT-BLK-M"].with_context(
            location=self.warehouse.lot_stock_id.id).qty_available, 50, "our own warehouse is untouched")
        unknown = self.env["omni.exception"].search([("resource_key", "=", "amazon:fba:unknown")])
        self.assertIn("FBA-OTHER-000", unknown.message)
