"""The shared order importer's money rules on real Odoo (issue 10, items 9-12): discounts the
Discount precision cannot hold, tolerance per currency, the rounding line, payments in
another currency."""

from decimal import Decimal as D

from odoo import Command
from odoo.tests import tagged

from ..canonical import Line, Payment
from ..pipeline.errors import BusinessError
from .order_factory import us_tax, woocommerce_727
from .test_importer import OmniImporterCommon


@tagged("post_install", "-at_install", "omni")
class TestOrderImporterMoney(OmniImporterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bike = cls.env["product.product"].create(
            {"name": "Bike", "default_code": "BIKE", "type": "consu", "list_price": 1000,
             "taxes_id": [Command.clear()]}
        )

    def _bike_order(self, discount="7.77", tax="86.82", total="1079.05", **overrides):
        """1,000.00 USD bike, ``discount`` off, 8.75 % tax excluded: 7.77 off is 0.777 %."""
        values = {
            "external_id": "bike-1",
            "name": "B1",
            "lines": [
                Line(external_id="b1", sku="BIKE", name="Bike", quantity=D(1), unit_price=D("1000.00"),
                     discount_amount=D(discount), tax_lines=us_tax(tax))
            ],
            "shipping_lines": [],
            "fee_lines": [],
            "discounts": [],
            "total_untaxed": None,
            "total_tax": D(tax),
            "total": D(total),
            "payments": [Payment(gateway="stripe", transaction_id="ch_bike1", amount=D(total), currency="USD")],
        }
        values.update(overrides)
        return woocommerce_727(**values)

    # ---------------------------------------------------------------- item 9

    def test_discount_the_precision_cannot_hold_does_not_block(self):
        """7.77 off 1,000.00 is 0.777 %: Odoo would store 0.78 % and charge 992.20. The order
        is created and confirmed at the channel's totals, with Odoo's Discount precision as it is."""
        self.assertEqual(self.env["decimal.precision"].precision_get("Discount"), 2)
        sale = self.Importer._omni_import_order(self.backend, self._bike_order())
        self.assertEqual(sale.state, "sale")
        self.assertAlmostEqual(sale.amount_untaxed, 992.23, places=2)
        self.assertAlmostEqual(sale.amount_tax, 86.82, places=2)
        self.assertAlmostEqual(sale.amount_total, 1079.05, places=2)
        bike = sale.order_line.filtered(lambda line: line.product_id == self.bike)
        self.assertEqual((bike.price_unit, bike.discount), (1000.0, 0.0))
        discount = sale.order_line.filtered(lambda line: line.product_id == self.backend.discount_product_id)
        self.assertEqual(discount.price_unit, -7.77, "the discount is a line of its own, with the line's taxes")
        self.assertEqual(discount.tax_ids, self.tax_875_excl)
        self.assertFalse(sale.order_line.filtered(lambda line: line.product_id == self.backend.rounding_product_id))
        self.assertAlmostEqual(sale.invoice_ids.amount_total, 1079.05, places=2)
        self.assertIn(sale.invoice_ids.payment_state, ("paid", "in_payment"))

    def test_exact_discount_percentages_stay_on_the_line(self):
        sale = self.Importer._omni_import_order(
            self.backend, self._bike_order(discount="77.70", tax="80.70", total="1003.00")
        )
        bike = sale.order_line.filtered(lambda line: line.product_id == self.bike)
        self.assertEqual(bike.discount, 7.77)
        self.assertFalse(sale.order_line.filtered(lambda line: line.product_id == self.backend.discount_product_id))
        self.assertAlmostEqual(sale.amount_total, 1003.00, places=2)

    def test_edit_moves_a_discount_between_the_line_and_a_discount_line(self):
        original = self._bike_order(discount="77.70", tax="80.70", total="1003.00", financial_status="authorized",
                                    payments=[])
        sale = self.Importer._omni_import_order(self.backend, original)
        edited = self._bike_order(financial_status="authorized", payments=[],
                                  updated_at=original.updated_at.replace(hour=20))
        self.Importer._omni_import_order(self.backend, edited)
        bike = sale.order_line.filtered(lambda line: line.product_id == self.bike)
        self.assertEqual(bike.discount, 0.0)
        self.assertAlmostEqual(sale.amount_total, 1079.05, places=2)


    # --------------------------------------------------------------- item 10

    def _plain_order(self, currency, price, total, external_id):
        """One untaxed line of ``price`` in ``currency``; the channel declares ``total``."""
        return woocommerce_727(
            external_id=external_id,
            name=external_id,
            currency=currency,
            lines=[Line(external_id="p", sku="HOODIE-GRY-L", name="Hoodie", quantity=D(1), unit_price=D(price))],
            shipping_lines=[],
            fee_lines=[],
            discounts=[],
            total_untaxed=None,
            total_tax=D(0),
            total=D(total),
            payments=[Payment(gateway="stripe", transaction_id=f"ch_{external_id}", amount=D(total),
                              currency=currency)],
        )

    def _rounding_lines(self, sale):
        return sale.order_line.filtered(lambda line: line.product_id == self.backend.rounding_product_id)

    def test_tolerance_is_one_yen_for_jpy(self):
        self.setup_other_currency("JPY", rates=[("2020-01-01", 150.0)])
        sale = self.Importer._omni_import_order(self.backend, self._plain_order("JPY", "3000", "3001", "jp-1"))
        self.assertEqual(self.backend.total_tolerance_units, 1, "default: one minor unit of the order's currency")
        self.assertEqual(sale.currency_id.name, "JPY")
        self.assertEqual(self._rounding_lines(sale).price_unit, 1.0, "one yen of rounding is within tolerance")
        self.assertEqual(sale.amount_total, 3001.0)
        with self.assertRaises(BusinessError) as caught:
            self.Importer._omni_import_order(self.backend, self._plain_order("JPY", "3000", "3002", "jp-2"))
        self.assertIn("tolerance 1)", caught.exception.message)

    def test_tolerance_is_one_fils_for_kwd(self):
        self.setup_other_currency("KWD", rates=[("2020-01-01", 0.3)])
        sale = self.Importer._omni_import_order(self.backend, self._plain_order("KWD", "12.500", "12.501", "kw-1"))
        self.assertAlmostEqual(self._rounding_lines(sale).price_unit, 0.001, places=3)
        self.assertAlmostEqual(sale.amount_total, 12.501, places=3)
        with self.assertRaises(BusinessError) as caught:
            self.Importer._omni_import_order(self.backend, self._plain_order("KWD", "12.500", "12.502", "kw-2"))
        self.assertIn("tolerance 0.001)", caught.exception.message, "two fils are beyond one minor unit")
        self.backend.total_tolerance_units = 2
        sale = self.Importer._omni_import_order(self.backend, self._plain_order("KWD", "12.500", "12.502", "kw-2"))
        self.assertAlmostEqual(sale.amount_total, 12.502, places=3)
