"""Taxes included and excluded, compound taxes, taxed shipping and fees, coupons, and the
rounding gap WooCommerce's per-line taxes leave (within and beyond the tolerance)."""

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import WooCase, order_727


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceMoney(WooCase):
    def import_order(self, payload):
        self.subscribe(("order.created",))
        self.sim.add_order(payload)
        self.send()
        self.process()
        event = self.events()
        return event, self.sale_orders(payload["id"])

    def test_taxes_excluded_shipping_and_fee_taxed_coupon_on_the_lines(self):
        event, sale = self.import_order(order_727())
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual((round(sale.amount_untaxed, 2), round(sale.amount_tax, 2), round(sale.amount_total, 2)),
                         (110.00, 9.63, 119.63))
        shipping = sale.order_line.filtered(lambda line: line.name == "Flat rate")
        self.assertEqual((shipping.price_unit, shipping.tax_ids), (8.0, self.tax_875))
        fee = sale.order_line.filtered(lambda line: line.name == "Gift wrap")
        self.assertEqual((fee.price_unit, fee.tax_ids), (3.0, self.tax_875))
        hoodie = sale.order_line.filtered(lambda line: line.product_id == self.hoodie)
        self.assertEqual((hoodie.product_uom_qty, hoodie.price_unit, hoodie.discount), (2, 45.0, 10.0),
                         "the winter10 coupon is the line's discount")
        self.assertEqual(hoodie.tax_ids, self.tax_875)

    def test_taxes_included(self):
        tax_incl = self.env["account.tax"].create({
            "name": "CA 8.75% incl", "amount": 8.75, "amount_type": "percent", "type_tax_use": "sale",
            "price_include_override": "tax_included", "company_id": self.company.id})
        event, sale = self.import_order(order_727(prices_include_tax=True))
        self.assertEqual(event.state, "done", event.last_error)
        self.assertAlmostEqual(sale.amount_total, 119.63, places=2)
        self.assertAlmostEqual(sale.amount_tax, 9.63, delta=0.02)
        hoodie = sale.order_line.filtered(lambda line: line.product_id == self.hoodie)
        self.assertEqual(hoodie.tax_ids, tax_incl)
        self.assertAlmostEqual(hoodie.price_unit, 48.94, places=2)

    def test_compound_tax(self):
        Tax = self.env["account.tax"]
        gst = Tax.create({"name": "GST 5%", "amount": 5, "amount_type": "percent", "type_tax_use": "sale",
                          "include_base_amount": True, "sequence": 1, "company_id": self.company.id,
                          "price_include_override": "tax_excluded"})
        qst = Tax.create({"name": "QST 10% compound", "amount": 10, "amount_type": "percent",
                          "type_tax_use": "sale", "sequence": 2, "company_id": self.company.id,
                          "price_include_override": "tax_excluded"})
        self.backend.tax_map_ids = [Command.create({"rate": 5, "tax_id": gst.id}),
                                    Command.create({"rate": 10, "tax_id": qst.id})]
        payload = order_727(
            id=740, number="740", currency="USD", discount_total="0.00", discount_tax="0.00",
            shipping_lines=[], fee_lines=[], coupon_lines=[], total="115.50", total_tax="15.50",
            line_items=[{
                "id": 741, "name": "Beanie", "product_id": 101, "variation_id": 0, "quantity": 5,
                "subtotal": "100.00", "subtotal_tax": "15.50", "total": "100.00", "total_tax": "15.50",
                "taxes": [{"id": 2, "total": "5", "subtotal": "5"}, {"id": 3, "total": "10.5", "subtotal": "10.5"}],
                "sku": "BEANIE-GRY", "meta_data": [],
            }],
            tax_lines=[
                {"id": 742, "rate_code": "CA-QC-GST-1", "rate_id": 2, "label": "GST", "compound": False,
                 "tax_total": "5.00", "shipping_tax_total": "0.00", "rate_percent": 5},
                {"id": 743, "rate_code": "CA-QC-QST-2", "rate_id": 3, "label": "QST", "compound": True,
                 "tax_total": "10.50", "shipping_tax_total": "0.00", "rate_percent": 10},
            ],
        )
        event, sale = self.import_order(payload)
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(sale.order_line.filtered(lambda line: line.product_id == self.beanie).tax_ids, gst | qst)
        self.assertAlmostEqual(sale.amount_tax, 15.50, places=2)
        self.assertAlmostEqual(sale.amount_total, 115.50, places=2)

    def test_per_line_rounding_gap_within_tolerance_gets_a_rounding_line(self):
        # WooCommerce rounded its taxes per order where Odoo rounds per line: one cent apart.
        event, sale = self.import_order(order_727(total="119.64", total_tax="9.64"))
        self.assertEqual(event.state, "done", event.last_error)
        self.assertAlmostEqual(sale.amount_total, 119.64, places=2)
        rounding = self.backend._omni_service_product("rounding")
        self.assertEqual(len(sale.order_line.filtered(lambda line: line.product_id == rounding)), 1)

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event_processor")
    def test_gap_beyond_tolerance_is_blocked_with_both_totals(self):
        event, sale = self.import_order(order_727(total="120.63", total_tax="10.63"))
        self.assertEqual(event.state, "blocked")
        self.assertIn("120.63", event.last_error)
        self.assertIn("119.63", event.last_error)
        self.assertFalse(sale)
