"""The shared order importer after the sale: channel edits, cancellations and refunds."""

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

from odoo.tests import tagged

from ..canonical import Payment, order_to_dict, refund_to_dict
from ..controllers.api import ORDERS, REFUNDS
from ..pipeline.errors import BusinessError
from .order_factory import refund_1042, shopify_1042, us_tax, woocommerce_727
from .test_importer import OmniImporterCommon


@tagged("post_install", "-at_install", "omni")
class TestOrderImporterAfterSale(OmniImporterCommon):
    def test_edit_before_shipping_updates_the_order(self):
        self.backend.payment_rule_ids.filtered(lambda r: r.financial_status == "pending").unlink()
        order = shopify_1042(financial_status="pending", payments=[])
        sale = self.Importer._omni_import_order(self.backend, order)
        self.assertEqual(sale.state, "draft", "pending orders wait as quotations by default")
        edited = shopify_1042(
            financial_status="pending",
            payments=[],
            updated_at=order.updated_at.replace(hour=11),
            lines=[order.lines[0]],
            shipping_lines=order.shipping_lines,
            total_untaxed=None,
            total_tax=D("9.11"),
            total=D("57.10"),
        )
        same = self.Importer._omni_import_order(self.backend, edited)
        self.assertEqual(same, sale)
        products = sale.order_line.mapped("product_id.default_code")
        self.assertNotIn("MUG-CLASSIC", products)
        self.assertAlmostEqual(sale.amount_total, 57.10, places=2)

    def test_edit_of_a_confirmed_order_lowers_its_open_delivery(self):
        original = woocommerce_727(financial_status="authorized", payments=[])
        sale = self.Importer._omni_import_order(self.backend, original)
        self.assertEqual(sale.state, "sale")
        delivery = sale.picking_ids
        self.assertEqual(len(delivery), 1)
        hoodie, socks = original.lines
        edited = woocommerce_727(
            financial_status="authorized",
            payments=[],
            updated_at=original.updated_at.replace(hour=19),
            lines=[hoodie, replace(socks, quantity=D(1), discount_amount=D("1.00"), tax_lines=us_tax("0.79"))],
            total=None,
            total_tax=None,
            total_untaxed=None,
        )
        self.assertEqual(self.Importer._omni_import_order(self.backend, edited), sale)
        socks_line = sale.order_line.filtered(lambda line: line.product_id.default_code == "SOCKS-3PK")
        self.assertEqual(socks_line.product_uom_qty, 1)
        self.assertEqual(sale.picking_ids, delivery, "no return picking for goods that never left the warehouse")
        socks_moves = delivery.move_ids.filtered(lambda move: move.product_id == socks_line.product_id)
        self.assertEqual(sum(socks_moves.filtered(lambda m: m.state != "cancel").mapped("product_uom_qty")), 1)
        self.assertFalse(
            self.env["stock.move"].search([("sale_line_id", "=", socks_line.id), ("picking_code", "=", "incoming")])
        )

    def test_cancel_before_shipping(self):
        sale = self.Importer._omni_import_order(
            self.backend, woocommerce_727(financial_status="authorized", payments=[])
        )
        self.assertEqual(sale.state, "sale")
        picking = sale.picking_ids
        cancelled = woocommerce_727(
            financial_status="voided",
            payments=[],
            cancelled_at=woocommerce_727().updated_at,
            cancel_reason="customer",
            updated_at=woocommerce_727().updated_at.replace(hour=20),
        )
        self.Importer._omni_import_order(self.backend, cancelled)
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(picking.state, "cancel")

    def test_cancel_after_shipping_opens_exception(self):
        sale = self.Importer._omni_import_order(
            self.backend, woocommerce_727(financial_status="authorized", payments=[])
        )
        self._ship(sale)
        cancelled = woocommerce_727(
            financial_status="voided",
            payments=[],
            cancelled_at=woocommerce_727().updated_at,
            updated_at=woocommerce_727().updated_at.replace(hour=20),
        )
        event = self._post_event("orders/upsert", order_to_dict(cancelled), "cancel-after-ship")
        self._omni_run_ready()
        self.assertEqual(event.state, "blocked")
        self.assertIn("already shipped", event.exception_ids.message)
        self.assertEqual(sale.state, "sale")

    def test_refund_with_restock_creates_credit_note_return_and_payment(self):
        sale = self.Importer._omni_import_order(self.backend, shopify_1042())
        self._ship(sale)
        credit_note = self.Importer._omni_import_refund(self.backend, refund_1042())
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.amount_total, 26.10)
        self.assertAlmostEqual(credit_note.amount_tax, 4.17, places=2)
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returns.state, "done")
        self.assertEqual(returns.move_ids.product_id, self.products["TSHIRT-BLK-M"])
        self.assertEqual(returns.move_ids.quantity, 1)
        refund_payment = self.env["account.payment"].search([("memo", "=", "7301000002")])
        self.assertEqual(refund_payment.payment_type, "outbound")
        self.assertEqual(refund_payment.amount, 26.10)
        # importing the same refund again changes nothing
        again = self.Importer._omni_import_refund(self.backend, refund_1042())
        self.assertEqual(again, credit_note)
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)

    def test_partial_refund_without_restock(self):
        sale = self.Importer._omni_import_order(self.backend, shopify_1042())
        refund = refund_1042(
            external_id="930000009",
            lines=[
                refund_1042()
                .lines[0]
                .__class__(
                    order_line_external_id="14417890002",
                    quantity=D(1),
                    restock=False,
                    amount=D("13.50"),
                    tax_amount=D("2.16"),
                )
            ],
            amount=D("13.50"),
            transactions=[
                Payment(
                    gateway="shopify_payments",
                    transaction_id="7301000003",
                    amount=D("13.50"),
                    currency="EUR",
                    kind="refund",
                )
            ],
        )
        credit_note = self.Importer._omni_import_refund(self.backend, refund)
        self.assertEqual(credit_note.amount_total, 13.50)
        self.assertFalse(sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming"))

    def test_full_refund_with_shipping_through_pipeline(self):
        sale = self.Importer._omni_import_order(self.backend, shopify_1042())
        self._ship(sale)
        lines = [
            refund_1042()
            .lines[0]
            .__class__(
                order_line_external_id="14417890001",
                quantity=D(2),
                restock=True,
                amount=D("52.20"),
                tax_amount=D("8.33"),
            ),
            refund_1042()
            .lines[0]
            .__class__(
                order_line_external_id="14417890002",
                quantity=D(1),
                restock=True,
                amount=D("13.50"),
                tax_amount=D("2.16"),
            ),
        ]
        refund = refund_1042(
            external_id="930000010",
            lines=lines,
            shipping_amount=D("4.90"),
            shipping_tax=D("0.78"),
            amount=D("70.60"),
            transactions=[
                Payment(
                    gateway="shopify_payments",
                    transaction_id="7301000004",
                    amount=D("70.60"),
                    currency="EUR",
                    kind="refund",
                )
            ],
        )
        event = self._post_event("refunds/create", refund_to_dict(refund), "full-refund")
        self._omni_run_ready()
        self.assertEqual(event.state, "done", event.last_error)
        credit_note = self.env["account.move"].browse(event.res_id)
        self.assertEqual(credit_note.amount_total, 70.60)
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(sorted(returns.move_ids.mapped("quantity")), [1.0, 2.0])

    def test_line_change_after_shipping_opens_exception(self):
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727(financial_status="authorized"))
        self._ship(sale)
        changed = woocommerce_727(
            financial_status="authorized",
            total_tax=D("8.05"),
            total=D("100.05"),
            lines=woocommerce_727().lines[:1],
            updated_at=woocommerce_727().updated_at.replace(hour=21),
        )
        with self.assertRaises(BusinessError) as caught:
            self.Importer._omni_import_order(self.backend, changed)
        self.assertIn("after it was shipped or invoiced", caught.exception.message)


    def _post_api_event(self, intake, record):
        """Store a record with the inbox keys the custom-channel API gives it."""
        body = order_to_dict(record) if intake is ORDERS else refund_to_dict(record)
        event_id, _new = self.env["omni.event"]._omni_store_incoming(
            self.backend, json.dumps(body).encode(), intake.event_values(record)
        )
        return self.env["omni.event"].browse(event_id)

    def test_refund_is_not_skipped_behind_a_newer_order_version(self):
        """A refund is keyed on its order (so it waits for the order's earlier events) but is no
        version of it: an order update newer than the refund, applied first, must not make the
        processor skip the refund as stale."""
        refund = refund_1042()
        first = self._post_api_event(ORDERS, shopify_1042())
        self._omni_run_ready()
        self.assertEqual(first.state, "done", first.last_error)
        later = self._post_api_event(
            ORDERS, shopify_1042(updated_at=refund.created_at + timedelta(hours=1), note="refund on its way")
        )
        self._omni_run_ready()
        self.assertEqual(later.state, "done", later.last_error)
        event = self._post_api_event(REFUNDS, refund)
        self._omni_run_ready()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual((event.res_model, self.env["account.move"].browse(event.res_id).move_type),
                         ("account.move", "out_refund"))
