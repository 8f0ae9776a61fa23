"""Amazon orders by polling: FBM and FBA, marketplaces and currencies, pending, duplicates,
pagination, the lastUpdatedBefore lag, cancellations."""

from odoo.tests import tagged

from .amazon_common import DE, FBA_ORDER, FBA_ORDER_2, FBM_ORDER, AmazonCase


@tagged("post_install", "-at_install", "omni")
class TestAmazonOrders(AmazonCase):
    def test_fbm_order_confirmed_with_a_picking_from_our_warehouse(self):
        self.sim.add_order(self.mfn_fixture())  # UNSHIPPED, fulfilled by the merchant
        self.rewind()
        stored, read = self.poll()
        self.assertEqual((stored, read), (1, 1))
        sale = self.sale(FBM_ORDER)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.amazon_fulfilled_by, "MERCHANT")
        self.assertEqual(sale.omni_marketplace_id, self.us)
        self.assertEqual(sale.team_id, self.team_us)
        self.assertEqual(sale.currency_id, self.usd)
        self.assertAlmostEqual(sale.amount_total, 19.99)
        self.assertFalse(sale.invoice_ids, "Amazon charges the buyer at shipment: no invoice before")
        picking = sale.picking_ids
        self.assertEqual(picking.picking_type_id.warehouse_id, self.warehouse)
        self.assertNotEqual(picking.state, "done")
        shipping = sale.order_line.filtered(lambda line: line.product_id == self.backend.shipping_product_id)
        self.assertTrue(shipping, "shipping is a line of its own")
        # the library's four marketplace parameters reach the simulator without harm; ours are named
        _operation, query = next(r for r in self.sim.requests if r[0] == "searchOrders")
        self.assertEqual(query["marketplaceIds"], [",".join(self.backend._amazon_marketplace_ids())])
        self.assertIn("lastUpdatedBefore", query)
        self.assertEqual(self.listing("MUG-CLASSIC").fulfillment_channel, "DEFAULT")

    def listing(self, sku):
        return self.env["omni.amazon.listing"].search([("backend_id", "=", self.backend.id), ("seller_sku", "=", sku)])

    def test_fba_order_delivered_from_the_fba_warehouse_at_import(self):
        self.sim.add_order(self.search_fixture(FBA_ORDER))  # SHIPPED by Amazon, facilitator tax
        self.rewind()
        self.poll()
        sale = self.sale(FBA_ORDER)
        self.assertEqual(sale.amazon_fulfilled_by, "AMAZON")
        fba = self.backend.amazon_fba_warehouse_id
        self.assertTrue(fba)
        self.assertEqual(sale.warehouse_id, fba)
        self.assertEqual(sale.picking_ids.mapped("state"), ["done"])
        self.assertEqual(sale.picking_ids.picking_type_id.warehouse_id, fba)
        self.assertFalse(self.events("shipment/confirm"), "nothing is pushed back for FBA")
        self.assertAlmostEqual(sale.amount_total, 63.08)
        invoice = sale.invoice_ids
        self.assertEqual(invoice.state, "posted")
        tax_line = invoice.line_ids.filtered("tax_line_id")
        self.assertEqual(tax_line.account_id.code, "OMNI.WHTAX", "facilitator tax is not tax we owe")
        self.assertAlmostEqual(tax_line.balance, -5.08)
        self.assertEqual(tax_line.tax_line_id.tax_group_id, self.us.collected_tax_id.tax_group_id)

    def test_unshipped_fba_order_waits(self):
        order = self.search_fixture(FBA_ORDER_2)
        order["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
        self.sim.add_order(order)
        self.rewind()
        self.assertEqual(self.poll(), (0, 1))
        self.assertFalse(self.sale(FBA_ORDER_2))

    def test_eur_marketplace_prices_include_vat(self):
        order = self.sim_module.make_order(
            "302-1111111-1111111", sku="TSHIRT-BLK-M", quantity=1, unit_price="29.00", shipping="4.90",
            tax="4.63", currency="EUR", marketplace_id=DE, marketplace_name="Amazon.de", updated="2026-11-12T10:00:00Z")
        self.sim.add_order(order)
        self.rewind()
        self.poll()
        sale = self.sale("302-1111111-1111111")
        self.assertEqual(sale.currency_id, self.eur)
        self.assertEqual(sale.pricelist_id.currency_id, self.eur)
        self.assertEqual(sale.omni_marketplace_id, self.de)
        product_line = sale.order_line.filtered(lambda line: line.product_id == self.products["TSHIRT-BLK-M"])
        self.assertEqual(product_line.tax_ids, self.tax_19_incl)
        self.assertAlmostEqual(sale.amount_total, 33.90)

    def test_prices_include_tax_is_a_setting_of_each_marketplace(self):
        """Amazon's Order says nothing about it: a new line starts from the marketplace id (VAT/GST
        marketplaces on), and stays what the person sets."""
        Marketplace = self.env["omni.marketplace"]
        values = {"backend_id": self.backend.id, "currency_id": self.eur.id}
        france = Marketplace.create(dict(values, name="Amazon.fr", marketplace_ref="A13V1IB3VIYZZH"))
        canada = Marketplace.create(dict(values, name="Amazon.ca", marketplace_ref="A2EUQ1WTGCTBG2",
                                         currency_id=self.usd.id))
        italy = Marketplace.create(dict(values, name="Amazon.it", marketplace_ref="APJ6JRA9NG5V4",
                                        prices_include_tax=False))
        self.assertEqual((france.prices_include_tax, canada.prices_include_tax, italy.prices_include_tax),
                         (True, False, False))
        ebay = self._omni_create_backend(self.env, name="eBay shop", channel="ebay")
        ebay_de = Marketplace.create(dict(values, backend_id=ebay.id, name="eBay DE", marketplace_ref="A1PA6795UKMFR9"))
        self.assertFalse(ebay_de.prices_include_tax, "only Amazon orders read the setting")
        france.marketplace_ref = "ATVPDKIKX0DER"
        france._onchange_marketplace_ref_tax_included()
        self.assertFalse(france.prices_include_tax)

    def test_pending_waits_then_imports_when_payment_is_final(self):
        order = self.mfn_fixture()
        order["fulfillment"]["fulfillmentStatus"] = "PENDING"
        self.sim.add_order(order)
        self.rewind()
        self.assertEqual(self.poll(), (0, 1))
        self.assertFalse(self.sale(FBM_ORDER))
        self.sim.clock = lambda: 1794600000.0  # 2026-11-13: the status change moves lastUpdatedTime
        self.sim.update_order(FBM_ORDER, fulfillmentStatus="UNSHIPPED")
        self.sim.clock = __import__("time").time
        self.rewind()
        self.poll()
        self.assertEqual(self.sale(FBM_ORDER).state, "sale")

    def test_pending_as_quotation(self):
        self.backend.amazon_pending_policy = "quotation"
        order = self.mfn_fixture()
        order["fulfillment"]["fulfillmentStatus"] = "PENDING"
        self.sim.add_order(order)
        self.rewind()
        self.poll()
        self.assertEqual(self.sale(FBM_ORDER).state, "draft")

    def test_poll_again_stores_nothing_twice(self):
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        self.poll()
        self.rewind()
        self.assertEqual(self.poll(), (0, 1))
        self.assertEqual(len(self.sale(FBM_ORDER)), 1)
        self.assertEqual(len(self.events("orders/polled")), 1)

    def test_pagination_and_checkpoint_lag(self):
        for index in range(230):
            self.sim.add_order(self.sim_module.make_order(
                f"114-{index:07d}-0000001", updated=f"2026-11-12T10:{index // 60:02d}:{index % 60:02d}Z"))
        self.rewind()
        stored, read = self.backend._amazon_poll_orders()
        self.assertEqual((stored, read), (230, 230))
        self.assertEqual(self.sim.calls["searchOrders"], 3, "100 orders a page")
        pages = [query for operation, query in self.sim.requests if operation == "searchOrders"]
        self.assertIn("paginationToken", pages[1])
        checkpoint = self.backend._omni_checkpoint("amazon_orders").checkpoint
        before = pages[0]["lastUpdatedBefore"][0]
        self.assertEqual(checkpoint.strftime("%Y-%m-%dT%H:%M:%SZ"), before)
        from odoo import fields  # noqa: PLC0415
        lag = fields.Datetime.now() - checkpoint
        self.assertGreaterEqual(lag.total_seconds(), 120, "lastUpdatedBefore stays two minutes in the past")

    def test_cancellation(self):
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        self.poll()
        sale = self.sale(FBM_ORDER)
        self.assertEqual(sale.state, "sale")
        cancelled = self.mfn_fixture()
        cancelled["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        cancelled["lastUpdatedTime"] = "2026-11-11T09:00:00Z"
        cancelled["orderItems"][0]["cancellation"] = {
            "cancellationRequest": {"requester": "BUYER", "cancelReason": "Changed mind"},
            "cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "Buyer requested cancellation"}}
        self.sim.add_order(cancelled)
        self.rewind()
        self.poll()
        self.assertEqual(sale.state, "cancel")
        self.assertTrue(all(p.state == "cancel" for p in sale.picking_ids))

    def test_order_cancelled_before_import_is_not_created(self):
        order = self.mfn_fixture()
        order["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        self.sim.add_order(order)
        self.rewind()
        self.poll()
        self.assertFalse(self.sale(FBM_ORDER))
        self.assertEqual(self.events("orders/polled").state, "skipped")

    def test_unknown_marketplace_is_blocked_with_an_exception(self):
        order = self.mfn_fixture()
        order["salesChannel"]["marketplaceId"] = "A1F83G8C2ARO7P"
        self.sim.add_order(order)
        self.backend.marketplace_ids.filtered(lambda m: m.marketplace_ref == DE).marketplace_ref = DE  # unchanged
        self.rewind()
        self.backend._amazon_store_polled([order])
        self._omni_run_ready()
        event = self.events("orders/polled")
        self.assertEqual(event.state, "blocked")
        self.assertIn("A1F83G8C2ARO7P", self.env["omni.exception"].search([("event_id", "=", event.id)]).message)
