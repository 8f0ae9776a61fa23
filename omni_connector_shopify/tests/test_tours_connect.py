"""Tour: connect a Shopify channel through the Connect a channel wizard, in Chromium, against the
simulator (``static/tests/tours/omni_connect_shopify_tour.js``). Screenshots of the key screens go to
docs/screenshots/ when ``OMNI_SCREENSHOTS`` is set (``omni_connector_base/tests/tour_screenshots.py``)."""

from odoo.tests import tagged

from odoo.addons.omni_connector_base.tests.tour_screenshots import OmniTourScreenshots

from ..lib.sync import WEBHOOK_TOPICS
from .common import SHOP, TOKEN, ShopifyCase


@tagged("post_install", "-at_install", "omni", "omni_tour")
class TestToursConnect(OmniTourScreenshots, ShopifyCase):
    def test_connect_shopify_through_the_wizard(self):
        self.sim.shop_domain = "tour-store.myshopify.com"
        self.sim.known_shops = {"tour-store.myshopify.com", SHOP}
        self.seed_order(self.order_payload())  # the shop's recent order: its 19% rate is detected
        self.tax_19_incl.name = "VAT 19% (included)"
        # the tour's user works in the test's company (its records are company-bound)
        company = self.env.company
        company.name = "Omni Demo Retail [DEMO]"  # what the screenshots show
        self.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).name = "Main Warehouse"
        self.env.ref("base.user_admin").write({"company_ids": [(4, company.id)], "company_id": company.id})
        Param = self.env["ir.config_parameter"].sudo()
        Param.set_param("omni_tour.shopify_sim_url", self.sim.base_url)
        Param.set_param("omni_tour.shopify_sim_token", TOKEN)
        self.start_tour("/odoo/action-omni_connector_base.action_omni_connect_wizard", "omni_connect_shopify",
                        login="admin", timeout=240)
        backend = self.env["omni.backend"].search([("name", "=", "Omni Demo Store (Shopify)")])
        self.assertEqual(backend.channel, "shopify")
        self.assertEqual(backend.sudo().shopify_access_token, TOKEN)
        self.assertTrue(backend.tax_map_ids.filtered(lambda m: m.rate == 19.0 and m.tax_id == self.tax_19_incl))
        self.assertEqual(len(self.sim.webhook_subscriptions), len(WEBHOOK_TOPICS), "webhooks registered on the shop")
        self.assertTrue(backend.shopify_poll_enabled, "the first import runs through the poll")
