"""The shared order importer's money rules on real Odoo (issue 10, items 9-12): discounts the
Discount precision cannot hold, tolerance per currency, the rounding line, payments in
another currency."""

from dataclasses import replace
from decimal import Decimal as D

from odoo import Command
from odoo.tests import tagged

from ..canonical import Line, Payment
from ..pipeline.errors import BusinessError
from .order_factory import refund_1042, shopify_1042, us_tax, woocommerce_727
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

    # --------------------------------------------------------------- item 11

    def test_rounding_line_is_taxed_like_the_order_tax_included(self):
        """The customer paid 0.05 more, VAT included: the rounding line carries the order's 19 %
        (0.04 + 0.01 tax), so Odoo's untaxed/tax split stays the channel's."""
        self.backend.total_tolerance_units = 5
        order = shopify_1042(
            external_id="1052", name="#1052", total=D("70.65"), total_tax=D("11.28"), total_untaxed=None,
            payments=[Payment(gateway="shopify_payments", transaction_id="7301000052", amount=D("70.65"),
                              currency="EUR")],
        )
        sale = self.Importer._omni_import_order(self.backend, order)
        rounding = self._rounding_lines(sale)
        self.assertEqual((rounding.price_unit, rounding.tax_ids), (0.05, self.tax_19_incl))
        self.assertAlmostEqual(sale.amount_total, 70.65, places=2)
        self.assertAlmostEqual(sale.amount_tax, 11.28, places=2, msg="the untaxed/tax split is the channel's")
        self.assertAlmostEqual(sale.amount_untaxed, 59.37, places=2)
        self.assertIn(sale.invoice_ids.payment_state, ("paid", "in_payment"))

    def test_rounding_line_is_taxed_like_the_order_tax_excluded(self):
        order = woocommerce_727(
            external_id="731", name="731", total=D("119.64"),
            payments=[Payment(gateway="stripe", transaction_id="ch_731", amount=D("119.64"), currency="USD")],
        )
        sale = self.Importer._omni_import_order(self.backend, order)
        rounding = self._rounding_lines(sale)
        # 0.01 at 8.75 % excluded is 0.01 + 0.00 tax: the total moves by exactly the gap
        self.assertEqual((rounding.price_unit, rounding.tax_ids), (0.01, self.tax_875_excl))
        self.assertAlmostEqual(sale.amount_total, 119.64, places=2)
        self.assertAlmostEqual(sale.amount_tax, 9.63, places=2)

    def test_edit_of_a_confirmed_order_with_a_rounding_line(self):
        """Odoo refuses to delete a confirmed order's line: the edit reuses the rounding line."""
        original = woocommerce_727(financial_status="authorized", payments=[], total=D("119.64"))
        sale = self.Importer._omni_import_order(self.backend, original)
        self.assertEqual(sale.state, "sale")
        rounding = self._rounding_lines(sale)
        self.assertEqual(rounding.price_unit, 0.01)
        hoodie, socks = original.lines
        fewer_socks = replace(socks, quantity=D(1), discount_amount=D("1.00"), tax_lines=us_tax("0.79"))
        edited = woocommerce_727(financial_status="authorized", payments=[], lines=[hoodie, fewer_socks],
                                 updated_at=original.updated_at.replace(hour=19), total_tax=D("8.84"),
                                 total=D("109.84"))
        self.assertEqual(self.Importer._omni_import_order(self.backend, edited), sale)
        self.assertAlmostEqual(sale.amount_total, 109.84, places=2)
        self.assertEqual(self._rounding_lines(sale), rounding, "the same line, zeroed")
        self.assertEqual((rounding.product_uom_qty, rounding.price_subtotal), (0.0, 0.0))
        again = woocommerce_727(financial_status="authorized", payments=[], total=D("119.64"),
                                updated_at=original.updated_at.replace(hour=20))
        self.Importer._omni_import_order(self.backend, again)
        self.assertEqual(self._rounding_lines(sale), rounding, "reused, not a second rounding line")
        self.assertEqual((rounding.product_uom_qty, rounding.price_unit), (1.0, 0.01))
        self.assertAlmostEqual(sale.amount_total, 119.64, places=2)

    def test_credit_note_rounding_line_is_taxed_like_its_lines(self):
        self.backend.total_tolerance_units = 5
        self.Importer._omni_import_order(self.backend, shopify_1042())
        refund = refund_1042(
            external_id="930000020", amount=D("26.15"),
            transactions=[Payment(gateway="shopify_payments", transaction_id="7301000020", amount=D("26.15"),
                                  currency="EUR", kind="refund")],
        )
        credit_note = self.Importer._omni_import_refund(self.backend, refund)
        rounding = credit_note.invoice_line_ids.filtered(
            lambda line: line.product_id == self.backend.rounding_product_id
        )
        self.assertEqual((rounding.price_unit, rounding.tax_ids), (0.05, self.tax_19_incl))
        self.assertAlmostEqual(credit_note.amount_total, 26.15, places=2)
        self.assertAlmostEqual(credit_note.amount_tax, 4.18, places=2, msg="0.05 back is 0.04 + 0.01 VAT")
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))

    # --------------------------------------------------------------- item 12

    def _exceptions(self, reference):
        return self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", f"payment-currency:{reference}")]
        )

    def test_payment_in_another_currency_opens_an_exception(self):
        order = shopify_1042(
            external_id="1060", name="#1060",
            payments=[Payment(gateway="shopify_payments", transaction_id="7301000060", amount=D("75.00"),
                              currency="USD")],
        )
        sale = self.Importer._omni_import_order(self.backend, order)
        self.assertEqual(sale.state, "sale")
        self.assertFalse(sale.omni_payment_ids, "no payment booked at a made-up rate")
        self.assertEqual(sale.invoice_ids.payment_state, "not_paid")
        exception = self._exceptions("7301000060")
        self.assertEqual(len(exception), 1, "the invoice stays unpaid, but not silently")
        self.assertEqual((exception.category, exception.state), ("validation", "open"))
        self.assertEqual((exception.res_model, exception.res_id), ("account.move", sale.invoice_ids.id))
        for text in ("7301000060", "75.00 USD", "70.60 EUR", "shopify_payments"):
            self.assertIn(text, exception.message)
        for personal in ("Anna", "Schmidt", "Example.DE", "Torstraße"):
            self.assertNotIn(personal, exception.message)
        # a later version of the order, and a person resolving it, raise nothing twice
        exception.action_resolve()
        later = replace(order, note="changed", updated_at=order.updated_at.replace(hour=12))
        self.Importer._omni_import_order(self.backend, later)
        self.assertEqual(self._exceptions("7301000060"), exception)
        self.assertEqual(exception.state, "resolved")

    def test_refund_payment_in_another_currency_opens_an_exception(self):
        sale = self.Importer._omni_import_order(self.backend, shopify_1042())
        refund = refund_1042(
            transactions=[Payment(gateway="shopify_payments", transaction_id="7301000061", amount=D("28.00"),
                                  currency="USD", kind="refund")],
        )
        credit_note = self.Importer._omni_import_refund(self.backend, refund)
        self.assertEqual(credit_note.state, "posted")
        self.assertFalse(self.env["account.payment"].search([("memo", "=", "7301000061")]),
                         "28.00 USD is not booked as 28.00 EUR")
        self.assertEqual(credit_note.payment_state, "not_paid")
        exception = self._exceptions("7301000061")
        self.assertEqual((exception.category, exception.res_model, exception.res_id),
                         ("validation", "account.move", credit_note.id))
        for text in ("Refund 7301000061", "28.00 USD", "26.10 EUR"):
            self.assertIn(text, exception.message)
        self.assertIn(sale.invoice_ids.filtered(lambda m: m.move_type == "out_invoice").payment_state,
                      ("paid", "in_payment"), "the order's own payment is booked as before")
