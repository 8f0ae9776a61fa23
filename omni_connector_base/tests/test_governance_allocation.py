"""Governance, warehouse allocation: the same order lands in different warehouses by rule
(channel location, shipping country or region, stock at import, priority), the backend's
warehouse is the fallback, and a split order gets one picking per warehouse."""

from dataclasses import replace

from odoo import Command
from odoo.tests import tagged

from .order_factory import woocommerce_727
from .test_importer import OmniImporterCommon


@tagged("post_install", "-at_install", "omni")
class TestGovernanceAllocation(OmniImporterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.main = cls.backend.warehouse_id
        cls.east = cls.env["stock.warehouse"].create({"name": "East", "code": "EAST",
                                                      "company_id": cls.env.company.id})
        cls.hoodie, cls.socks = cls.products["HOODIE-GRY-L"], cls.products["SOCKS-3PK"]
        (cls.hoodie | cls.socks).write({"is_storable": True})
        cls.germany = cls.env.ref("base.de")
        cls.california = cls.env.ref("base.state_us_5")

    def _stock(self, warehouse, product, quantity):
        self.env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, quantity)

    def _rules(self, *rules, split=False):
        self.backend.write({"allocation_split": split, "allocation_rule_ids": [Command.clear()] + [
            Command.create(dict(sequence=index, **values)) for index, values in enumerate(rules)]})

    def _order(self, external_id, **changes):
        order = woocommerce_727(external_id=external_id, name=external_id)
        if "country" in changes:
            address = replace(order.shipping_address, country_code=changes.pop("country"), state_code=None)
            order = replace(order, shipping_address=address)
        return self.Importer._omni_import_order(self.backend, replace(order, **changes))

    def _warehouses(self, sale):
        return sale.picking_ids.picking_type_id.warehouse_id

    def test_the_same_order_lands_by_country_region_and_location(self):
        self._stock(self.main, self.hoodie, 5)
        self._stock(self.main, self.socks, 5)
        self._rules({"warehouse_id": self.east.id, "country_ids": [Command.set(self.germany.ids)],
                     "require_stock": False},
                    {"warehouse_id": self.east.id, "channel_location": "POS-7, POS-8", "require_stock": False})
        us = self._order("A1")
        self.assertEqual(us.warehouse_id, self.main, "no rule matches: the backend's warehouse")
        self.assertEqual(self._warehouses(us), self.main)
        de = self._order("A2", country="DE")
        self.assertEqual(de.warehouse_id, self.east)
        self.assertEqual(self._warehouses(de), self.east)
        pos = self._order("A3", location_external_id="POS-8")
        self.assertEqual(self._warehouses(pos), self.east)
        self._rules({"warehouse_id": self.east.id, "state_ids": [Command.set(self.california.ids)],
                     "require_stock": False})
        self.assertEqual(self._warehouses(self._order("A4")), self.east, "shipping region CA")
        self.assertIn("Warehouse allocation", " ".join(pos.message_ids.mapped("body")))

    def test_no_allocation_to_a_warehouse_without_the_stock(self):
        self._stock(self.main, self.hoodie, 5)
        self._stock(self.main, self.socks, 5)
        self._stock(self.east, self.hoodie, 5)  # East lacks the socks
        self._rules({"warehouse_id": self.east.id}, {"warehouse_id": self.main.id})
        sale = self._order("B1")
        self.assertEqual(self._warehouses(sale), self.main, "priority 1 cannot ship: priority 2")
        self._stock(self.east, self.socks, 2)
        self.assertEqual(self._warehouses(self._order("B2")), self.east, "now it can")

    def test_split_order_gets_two_pickings(self):
        self._stock(self.east, self.hoodie, 1)
        self._stock(self.main, self.socks, 2)
        self._rules({"warehouse_id": self.east.id}, {"warehouse_id": self.main.id}, split=True)
        sale = self._order("C1")
        self.assertEqual(sale.state, "sale")
        pickings = sale.picking_ids
        self.assertEqual(len(pickings), 2)
        by_warehouse = {picking.picking_type_id.warehouse_id: picking.move_ids.product_id for picking in pickings}
        self.assertEqual(by_warehouse, {self.east: self.hoodie, self.main: self.socks})
        hoodie_line = sale.order_line.filtered(lambda line: line.product_id == self.hoodie)
        self.assertEqual(hoodie_line.omni_warehouse_id, self.east)

    def test_without_split_an_order_no_warehouse_can_ship_falls_back(self):
        self._stock(self.east, self.hoodie, 1)
        self._stock(self.main, self.socks, 2)
        other = self.env["stock.warehouse"].create({"name": "Other", "code": "OTH", "company_id": self.env.company.id})
        self.backend.warehouse_id = other
        self._rules({"warehouse_id": self.east.id}, {"warehouse_id": self.main.id})
        sale = self._order("D1")
        self.assertEqual(len(sale.picking_ids), 1)
        self.assertEqual(self._warehouses(sale), other, "the fallback")
