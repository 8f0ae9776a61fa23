"""confirmShipment of FBM deliveries, partial and full; the order then turns paid on Amazon."""

from odoo.tests import tagged

from .amazon_common import AmazonCase

ORDER = "114-3000000-0000001"


@tagged("post_install", "-at_install", "omni")
class TestAmazonShipment(AmazonCase):
    def _import(self, quantity=3):
        self.sim.add_order(self.sim_module.make_order(ORDER, sku="MUG-CLASSIC", quantity=quantity, unit_price="15.00",
                                                      shipping="4.99", updated="2026-11-12T10:00:00Z",
                                                      item_id="70000000000001"))
        self.rewind()
        self.poll()
        sale = self.sale(ORDER)
        self.assertEqual(sale.state, "sale")
        return sale

    def _ship(self, picking, quantity, tracking="1Z999AA10123456784"):
        picking.write({"amazon_carrier_code": "UPS", "amazon_tracking_number": tracking,
                       "amazon_shipping_method": "UPS Ground"})
        picking.move_ids.quantity = quantity
        picking.move_ids.picked = True
        result = picking.button_validate()
        if isinstance(result, dict) and result.get("res_model") == "stock.backorder.confirmation":
            wizard = self.env["stock.backorder.confirmation"].with_context(**result["context"]).create({})
            wizard.process()
        return picking

    def test_partial_then_full_shipment(self):
        sale = self._import()
        first = sale.picking_ids
        self._ship(first, 2)
        self.assertEqual(first.state, "done")
        self._omni_run_ready()
        self.assertEqual(len(self.sim.shipments), 1)
        shipment = self.sim.shipments[0]
        self.assertEqual(shipment["orderId"], ORDER)
        self.assertEqual(shipment["marketplaceId"], self.us.marketplace_ref)
        package = shipment["packageDetail"]
        self.assertEqual((package["carrierCode"], package["trackingNumber"], package["shippingMethod"]),
                         ("UPS", "1Z999AA10123456784", "UPS Ground"))
        self.assertEqual(package["orderItems"], [{"orderItemId": "70000000000001", "quantity": 2}])
        self.assertEqual(self.sim.orders[ORDER]["fulfillment"]["fulfillmentStatus"], "PARTIALLY_SHIPPED")
        self.assertTrue(first.amazon_confirmed_at)

        backorder = sale.picking_ids - first
        self.assertEqual(len(backorder), 1)
        self._ship(backorder, 1, tracking="1Z999AA10123456785")
        self._omni_run_ready()
        self.assertEqual(len(self.sim.shipments), 2)
        self.assertEqual(self.sim.shipments[1]["packageDetail"]["orderItems"],
                         [{"orderItemId": "70000000000001", "quantity": 1}])
        self.assertEqual(self.sim.orders[ORDER]["fulfillment"]["fulfillmentStatus"], "SHIPPED")
        self.assertEqual(self.events("shipment/confirm").mapped("state"), ["done", "done"])

        # Amazon charges the buyer at shipment: a later poll sees SHIPPED and invoices with the payment.
        self.sim.orders[ORDER]["lastUpdatedTime"] = "2026-11-13T10:00:00Z"  # (seen once two minutes passed)
        self.rewind()
        self.poll()
        self.assertEqual(sale.invoice_ids.mapped("state"), ["posted"])
        self.assertEqual(sale.invoice_ids.payment_state in ("paid", "in_payment"), True)

    def test_full_shipment_at_once(self):
        sale = self._import(quantity=1)
        self._ship(sale.picking_ids, 1)
        self._omni_run_ready()
        self.assertEqual(self.sim.orders[ORDER]["fulfillment"]["fulfillmentStatus"], "SHIPPED")
        self.assertEqual(self.sim.shipments[0]["packageDetail"]["orderItems"][0]["quantity"], 1)

    def test_delivery_without_tracking_is_blocked_for_a_person(self):
        sale = self._import(quantity=1)
        picking = sale.picking_ids
        self._ship(picking, 1, tracking=False)
        self._omni_run_ready()
        event = self.events("shipment/confirm")
        self.assertEqual(event.state, "blocked")
        self.assertFalse(self.sim.shipments)
        exception = self.env["omni.exception"].search([("event_id", "=", event.id)])
        self.assertIn("tracking number", exception.message)
        picking.amazon_tracking_number = "9400111899562841739205"
        exception.action_retry()
        self._omni_run_ready()
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self.sim.shipments), 1)

    def test_server_error_is_retried_then_succeeds(self):
        sale = self._import(quantity=1)
        self.sim.fail_next("confirmShipment", 503)
        self._ship(sale.picking_ids, 1)
        self._omni_run_ready()
        event = self.events("shipment/confirm")
        self.assertEqual(event.state, "retry")
        self.assertFalse(self.sim.shipments)
        self._omni_make_due(event)
        self._omni_run_ready()
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self.sim.shipments), 1)

    def test_timeout_is_transient(self):
        sale = self._import(quantity=1)
        self.backend.amazon_timeout = 1
        self.sim.fail_next("confirmShipment", "timeout", delay=2.5)
        self._ship(sale.picking_ids, 1)
        self._omni_run_ready()
        self.assertEqual(self.events("shipment/confirm").state, "retry")
