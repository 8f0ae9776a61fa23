"""Tour: work an exception in Chromium: an order with an unknown SKU, Map / Create Products, the
event replays, Process Now, the sale order is confirmed
(``static/tests/tours/omni_exception_unknown_sku_tour.js``). Screenshots with ``OMNI_SCREENSHOTS``."""

from odoo.tests import tagged

from odoo.addons.omni_connector_base.tests.tour_screenshots import OmniTourScreenshots

from .common import ShopifyCase


@tagged("post_install", "-at_install", "omni", "omni_tour")
class TestToursException(OmniTourScreenshots, ShopifyCase):
    def test_unknown_sku_to_confirmed_order(self):
        payload = self.order_payload()
        payload["line_items"][1]["sku"] = "DEMO-BEANIE-RED"
        payload["line_items"][1]["name"] = "Beanie Red"
        payload["line_items"][1]["variant_id"] = 45110000999
        self.seed_order(payload)
        self.assertEqual(self.deliver("orders/create", payload), 200)
        self.process()
        exception = self.env["omni.exception"].search([("message", "ilike", "DEMO-BEANIE-RED")])
        self.assertEqual(exception.state, "open")
        self.assertFalse(self.sale_orders())
        # the tour's user works in the test's company (its records are company-bound)
        company = self.env.company
        company.name = "Omni Demo Retail [DEMO]"  # what the screenshots show
        self.tax_19_incl.tax_group_id.name = "VAT 19%"  # the test company's group is called "Tax 15%"
        self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).name = "Main Warehouse"
        self.env.ref("base.user_admin").write({"company_ids": [(4, company.id)], "company_id": company.id})
        self.start_tour("/odoo/action-omni_connector_base.action_omni_exception", "omni_exception_unknown_sku",
                        login="admin", timeout=240)
        sale = self.sale_orders()
        self.assertEqual(sale.state, "sale")
        beanie = self.env["product.product"].search([("default_code", "=", "DEMO-BEANIE-RED")])
        self.assertIn(beanie, sale.order_line.product_id, "the created product is on the order")
        self.assertEqual(exception.state, "resolved", "the exception resolves itself when the replay succeeds")
