"""The buyer data purge (Amazon Data Protection Policy): 30 days after delivery, with a log."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .amazon_common import FBM_ORDER, AmazonCase


@tagged("post_install", "-at_install", "omni")
class TestAmazonPii(AmazonCase):
    def _deliver(self, sale, days_ago):
        picking = sale.picking_ids
        picking.move_ids.quantity = picking.move_ids.product_uom_qty
        picking.move_ids.picked = True
        picking.write({"amazon_tracking_number": "9400111899562841739205", "amazon_carrier_code": "USPS"})
        picking.button_validate()
        picking.date_done = fields.Datetime.now() - timedelta(days=days_ago)

    def test_purge_after_30_days(self):
        old = self.mfn_fixture()
        recent = self.sim_module.make_order("114-4000000-0000002", buyer_email="recentbuyer@marketplace.amazon.com",
                                            updated="2026-11-12T10:00:00Z")
        self.sim.add_order(old)
        self.sim.add_order(recent)
        self.rewind()
        self.poll()
        old_sale, recent_sale = self.sale(FBM_ORDER), self.sale("114-4000000-0000002")
        self._deliver(old_sale, 31)
        self._deliver(recent_sale, 10)
        customer = old_sale.partner_id
        self.assertTrue(customer.email)
        log = self.backend._amazon_purge_pii()
        self.assertEqual((log.order_count, log.order_refs), (1, FBM_ORDER))
        self.assertTrue(old_sale.amazon_pii_purged_at)
        self.assertFalse(recent_sale.amazon_pii_purged_at)
        for partner in old_sale.partner_id | old_sale.partner_shipping_id:
            self.assertFalse(partner.email)
            self.assertFalse(partner.phone)
            self.assertFalse(partner.street)
        self.assertEqual(old_sale.partner_shipping_id.zip or old_sale.partner_id.zip, "97214",
                         "what the taxes were decided on stays")
        self.assertNotIn("Dana", old_sale.partner_shipping_id.name or "")
        self.assertTrue(recent_sale.partner_id.email, "a buyer of a recent order keeps their data")
        event = self.events("orders/polled", resource_key=FBM_ORDER)
        payload = json.loads(event.payload)
        self.assertNotIn("buyer", payload)
        self.assertNotIn("addressLine1", payload["recipient"]["deliveryAddress"])
        self.assertFalse(self.env["omni.binding"].search([("backend_id", "=", self.backend.id),
                                                          ("res_model", "=", "res.partner"),
                                                          ("res_id", "=", customer.id)]))
        self.assertIn(log, self.env["omni.amazon.pii.log"].search([("backend_id", "=", self.backend.id)]))
        self.assertIsNone(self.backend._amazon_purge_pii(), "nothing more is due")

    def test_purge_disabled(self):
        self.backend.amazon_pii_days = 0
        self.assertIsNone(self.backend._amazon_purge_pii())
