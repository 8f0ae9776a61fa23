"""eBay orders on real Odoo through the simulator: paid, collected tax, cancelled, pending,
partially shipped with tracking, refunds (order and Finances), import with progress."""

import copy
import json

from odoo.tests import tagged
from odoo.tools import mute_logger

from .ebay_common import EbayCase, fixture


@tagged("post_install", "-at_install", "omni", "omni_ebay")
class TestEbayOrders(EbayCase):
    def test_paid_orders_become_confirmed_sale_orders_and_the_overlap_adds_nothing(self):
        self.seed_fixture_orders()
        stored, read = self.poll()
        self.assertEqual((stored, read), (2, 2))
        self.process()
        first = self.sale("17-12984-63051")
        self.assertEqual(first.state, "sale")
        self.assertAlmostEqual(first.amount_total, 64.99, places=2)
        self.assertEqual(first.partner_id.name, "Jordan Ellis")
        self.assertEqual(sorted(first.order_line.product_id.mapped("default_code")),
                         ["HOODIE-BLU-L", "MUG-CLASSIC", "OMNI-SHIPPING"])
        self.assertEqual(first.warehouse_id, self.warehouse)
        # the next poll re-reads the overlap: nothing new is stored
        self.assertEqual(self.backend._ebay_poll_orders()[0], 0)
        calls = [q for m, p, q in self.sim.requests_log if p == "/sell/fulfillment/v1/order"]
        self.assertTrue(all("%5B" in q and "fieldGroups=TAX_BREAKDOWN" in q for q in calls))

    def test_ebay_collected_tax_goes_to_the_collected_tax_not_to_tax_owed(self):
        self.seed_fixture_orders()
        self.poll()
        self.process()
        sale = self.sale("09-13021-48877")
        self.assertEqual(sale.state, "sale")
        self.assertAlmostEqual(sale.amount_total, 72.50, places=2)
        self.assertAlmostEqual(sale.amount_tax, 2.52, places=2)
        taxes = sale.order_line.tax_ids
        self.assertTrue(taxes)
        self.assertEqual(taxes.tax_group_id, self.marketplace.collected_tax_id.tax_group_id)
        accounts = taxes.invoice_repartition_line_ids.filtered(lambda r: r.repartition_type == "tax").account_id
        self.assertEqual(accounts.mapped("code"), ["OMNI.WHTAX"])

    def _cancel_after_import(self, order_id):
        order = self.make_order(order_id, skus=(("MUG-CLASSIC", 1, "15.00"),))
        self.poll()
        self.process()
        self.assertEqual(self.sale(order_id).state, "sale")
        cancelled = self.sim_module.make_order(order_id, self.sim_module.parse_time(
            order["lastModifiedDate"]).replace(minute=30), skus=(("MUG-CLASSIC", 1, "15.00"),), cancelled=True)
        self.sim.add_order(cancelled)
        self.poll()
        self.process()
        return self.sale(order_id)

    def test_cancellation_of_a_confirmed_order_cancels_it(self):
        self.env["omni.payment.rule"].create({"backend_id": self.backend.id, "gateway": "ebay", "sequence": 1,
                                              "confirm_order": True, "create_invoice": False})
        sale = self._cancel_after_import("11-00001-00001")
        self.assertEqual(sale.state, "cancel", str(self.events().mapped(lambda e: (e.state, e.last_error))))
        self.assertTrue(all(p.state == "cancel" for p in sale.picking_ids))

    def test_cancellation_of_an_invoiced_order_goes_to_a_person(self):
        sale = self._cancel_after_import("11-00002-00001")
        self.assertEqual(sale.state, "sale")
        event = self.events(topic="ebay/order")[-1]
        self.assertEqual(event.state, "blocked")
        self.assertIn("cancelled on the channel", event.last_error)
        self.assertTrue(self.env["omni.exception"].search([("event_id", "=", event.id)]))

    def test_pending_payment_waits_until_paid(self):
        self.make_order("12-00001-00001", payment="PENDING", skus=(("MUG-CLASSIC", 1, "15.00"),))
        self.poll()
        self.process()
        self.assertFalse(self.sale("12-00001-00001"))
        self.assertEqual(self.events(topic="ebay/order").state, "skipped")
        self.make_order("12-00001-00001", minutes=5, skus=(("MUG-CLASSIC", 1, "15.00"),))
        self.poll()
        self.process()
        events = self.events(topic="ebay/order")
        self.assertEqual(self.sale("12-00001-00001").state, "sale", events.mapped(lambda e: (e.state, e.last_error)))

    def test_partial_shipment_with_tracking_then_the_rest(self):
        self.make_order("13-00001-00001", skus=(("MUG-CLASSIC", 2, "30.00"), ("TSHIRT-BLK-M", 1, "29.00")))
        self.stock("MUG-CLASSIC", 10)
        self.stock("TSHIRT-BLK-M", 10)
        self.poll()
        self.process()
        sale = self.sale("13-00001-00001")
        picking = sale.picking_ids
        mug = self.products["MUG-CLASSIC"]
        self.ship(picking, {mug: 1}, tracking="9400111")
        self.process()
        fulfillments = self.sim.fulfillments["13-00001-00001"]
        self.assertEqual(len(fulfillments), 1)
        self.assertEqual(fulfillments[0]["trackingNumber"], "9400111")
        self.assertEqual(fulfillments[0]["shippingCarrierCode"], "USPS")
        self.assertEqual([(line["quantity"]) for line in fulfillments[0]["lineItems"]], [1])
        self.assertEqual(self.sim.orders["13-00001-00001"]["orderFulfillmentStatus"], "IN_PROGRESS")
        backorder = sale.picking_ids - picking
        self.ship(backorder, tracking="9400222")
        self.process()
        self.assertEqual(len(self.sim.fulfillments["13-00001-00001"]), 2)
        self.assertEqual(self.sim.orders["13-00001-00001"]["orderFulfillmentStatus"], "FULFILLED")
        self.assertEqual(self.events(topic="ebay/shipment").mapped("state"), ["done", "done"])

    def test_shipment_without_tracking_is_blocked_for_a_person(self):
        self.make_order("13-00002-00001", skus=(("MUG-CLASSIC", 1, "15.00"),))
        self.stock("MUG-CLASSIC", 5)
        self.poll()
        self.process()
        picking = self.sale("13-00002-00001").picking_ids
        self.ship(picking, tracking=False)
        self.process()
        event = self.events(topic="ebay/shipment")
        self.assertEqual(event.state, "blocked")
        self.assertFalse(self.sim.fulfillments.get("13-00002-00001"))

    def test_order_refund_and_finances_refund_make_one_credit_note_with_a_return(self):
        order = copy.deepcopy(fixture("orders.json")["orders"][0])
        self.sim.add_order(order)
        self.stock("HOODIE-BLU-L", 5)
        self.stock("MUG-CLASSIC", 5)
        self.poll()
        self.process()
        sale = self.sale("17-12984-63051")
        self.assertEqual(sale.invoice_ids.mapped("state"), ["posted"], "the default workflow invoices paid orders")
        self.ship(sale.picking_ids)
        self.process()
        refunded = copy.deepcopy(order)
        refunded["lastModifiedDate"] = "2026-11-16T17:23:00.000Z"
        refunded["orderPaymentStatus"] = "PARTIALLY_REFUNDED"
        refunded["paymentSummary"]["refunds"] = [{"refundId": "5096254401", "refundDate": "2026-11-16T17:22:45.000Z",
                                                  "amount": {"value": "19.99", "currency": "USD"},
                                                  "refundStatus": "REFUNDED"}]
        refunded["lineItems"][1]["refunds"] = [{"refundId": "5096254401",
                                                "amount": {"value": "19.99", "currency": "USD"}}]
        self.sim.add_order(refunded)
        self.poll()
        self.process()
        credit_notes = sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertEqual(len(credit_notes), 1)
        self.assertAlmostEqual(credit_notes.amount_total, 19.99, places=2)
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returns.move_ids.product_id, self.products["MUG-CLASSIC"])
        # the same refund read from the Finances API later changes nothing
        transaction = fixture("transactions.json")["transactions"][0]
        self.backend._ebay_queue_refund_transactions([transaction])
        self.process()
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)

    def test_finances_refund_alone_makes_the_credit_note(self):
        order = copy.deepcopy(fixture("orders.json")["orders"][0])
        self.sim.add_order(order)
        self.poll()
        self.process()
        sale = self.sale("17-12984-63051")
        self.assertEqual(sale.invoice_ids.mapped("state"), ["posted"], "the default workflow invoices paid orders")
        self.backend._ebay_queue_refund_transactions([fixture("transactions.json")["transactions"][0]])
        self.process()
        credit_note = sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertAlmostEqual(credit_note.amount_total, 19.99, places=2)

    def test_import_orders_modified_since_with_progress(self):
        for index in range(450):
            self.make_order(f"20-{index:05d}-00001", minutes=index, skus=(("MUG-CLASSIC", 1, "15.00"),))
        self.backend.ebay_import_since = "2026-11-01 03:00:00"
        self.backend.action_ebay_import_orders()
        self.assertEqual(len(self.events(topic="ebay/order")), 270)
        self.assertIn("270 orders read", self.backend.ebay_import_progress)
        self.assertIn("3 calls", self.backend.ebay_import_progress)

    def test_marketplace_not_listed_is_blocked(self):
        order = self.make_order("14-00001-00001")
        for item in order["lineItems"]:
            item["purchaseMarketplaceId"] = "EBAY_DE"
        self.sim.add_order(order)
        self.poll()
        self.process()
        self.assertEqual(self.events(topic="ebay/order").state, "blocked")
        self.assertIn("EBAY_DE", self.events(topic="ebay/order").last_error)

    def test_429_and_5xx_on_the_poll_are_transient(self):
        from odoo.addons.omni_connector_base.pipeline.errors import TransientError  # noqa: PLC0415

        self.make_order("15-00001-00001")
        self.sim.inject_fault("429", 1, retry_after=5)
        with self.assertRaises(TransientError):
            self.poll()
        self.sim.inject_fault("503", 1)
        with self.assertRaises(TransientError):
            self.poll()
        self.assertEqual(self.poll(), (1, 1))
        self.assertEqual(json.loads(self.events(topic="ebay/order").payload)["orderId"], "15-00001-00001")

    @mute_logger("odoo.addons.omni_connector_marketplace.models.ebay_sync")
    def test_proof_faults_a_poll_that_succeeds_resolves_the_failed_polls_exception(self):
        """Channel faults: a poll cron answered 503 left "Polling eBay failed" open for a person
        forever, although the next poll read everything; the next successful poll resolves it."""
        self.sim.inject_fault("503", 1)
        self.env["omni.backend"]._cron_ebay_poll_orders()
        failed = self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", "ebay:poll")])
        self.assertEqual(failed.state, "open")
        self.env["omni.backend"]._cron_ebay_poll_orders()
        self.assertEqual(failed.state, "resolved")


@tagged("post_install", "-at_install", "omni", "omni_ebay")
class TestEbayCollectedTaxExcluded(EbayCase):
    treatment = "exclude"

    def test_collected_tax_is_left_out_with_a_memo(self):
        self.seed_fixture_orders()
        self.poll()
        self.process()
        sale = self.sale("09-13021-48877")
        self.assertAlmostEqual(sale.amount_total, 69.98, places=2)
        self.assertAlmostEqual(sale.amount_tax, 0.0, places=2)
        self.assertIn("eBay", sale.note or "")
        self.assertIn("2.52", str(sale.note))
