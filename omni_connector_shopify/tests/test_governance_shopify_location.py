"""Governance on Shopify, warehouse allocation by channel location: the order's ``location_id`` (a POS
order) or the location Shopify assigned its fulfillment order to (``fulfillmentOrders.assignedLocation``)
becomes the canonical ``location_external_id``, and a *Channel Location* rule picks the warehouse."""

from odoo import Command
from odoo.tests import tagged

from .common import ORDER_ID, ShopifyCase

ORDER_GID = f"gid://shopify/Order/{ORDER_ID}"


@tagged("post_install", "-at_install", "omni")
class TestShopifyChannelLocation(ShopifyCase):
    def setUp(self):
        super().setUp()
        self.main = self.backend.warehouse_id
        self.berlin = self.env["stock.warehouse"].create(
            {"name": "Berlin store", "code": "BER", "company_id": self.backend.company_id.id})
        self.store_gid = self.sim.add_location("Berlin store", location_id=65544149777)
        self.backend.write({"allocation_rule_ids": [Command.clear(), Command.create(
            {"warehouse_id": self.berlin.id, "channel_location": "65544149777", "require_stock": False})]})

    def _fo_reads(self):
        return [r for r in self.sim.requests if r.get("reads") == "fulfillmentOrders"]

    def _import(self, payload, fulfilled_from=None):
        self.seed_order(payload)
        if fulfilled_from:  # Shopify's order routing assigned the order to that location
            self.sim.fulfillment_orders[ORDER_GID] = []
            self.sim.add_fulfillment_order(ORDER_GID, [(line["admin_graphql_api_id"], line["quantity"])
                                                       for line in payload["line_items"]], location=fulfilled_from)
        self.deliver("orders/create", payload)
        self.process()
        sale = self.sale_orders()
        self.assertEqual(self.events(direction="in", topic="orders/create").state, "done")
        return sale

    def test_assigned_fulfillment_location_picks_the_warehouse(self):
        sale = self._import(self.order_payload(), fulfilled_from=self.store_gid)
        self.assertEqual(sale.warehouse_id, self.berlin)
        self.assertEqual(sale.picking_ids.picking_type_id.warehouse_id, self.berlin)
        self.assertEqual(len(self._fo_reads()), 1, "read once, for the new order")
        # a later version of the order changes nothing and reads no location again
        later = self.order_payload(updated_at="2026-11-20T11:00:00+01:00", note="gift")
        self.deliver("orders/updated", later)
        self.process()
        self.assertEqual(len(self._fo_reads()), 1)
        self.assertEqual(sale.warehouse_id, self.berlin)

    def test_pos_order_location_id_needs_no_request(self):
        sale = self._import(self.order_payload(location_id=65544149777))
        self.assertEqual(sale.warehouse_id, self.berlin)
        self.assertFalse(self._fo_reads(), "the body names the location")

    def test_other_location_falls_back_to_the_backend_warehouse(self):
        sale = self._import(self.order_payload(), fulfilled_from=self.sim.default_location)
        self.assertEqual(sale.warehouse_id, self.main)

    def test_no_location_rule_reads_nothing(self):
        self.backend.allocation_rule_ids.unlink()
        sale = self._import(self.order_payload(), fulfilled_from=self.store_gid)
        self.assertEqual(sale.warehouse_id, self.main)
        self.assertFalse(self._fo_reads())
