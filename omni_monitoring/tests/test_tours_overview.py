"""Tour: Omnichannel > Overview opens in Chromium and its cards' figures open the filtered lists
(``static/tests/tours/omni_overview_tour.js``). With ``OMNI_SCREENSHOTS`` set it writes
docs/screenshots/01_overview.png (``omni_connector_base/tests/tour_screenshots.py``)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin
from odoo.addons.omni_connector_base.tests.tour_screenshots import OmniTourScreenshots

SHOP = "[DEMO] Omni Demo Store (web shop)"


@tagged("post_install", "-at_install", "omni", "omni_tour")
class TestToursOverview(OmniTourScreenshots, OmniTestMixin, HttpCase):
    def test_overview_cards_lead_to_filtered_lists(self):
        env = self.env(context=dict(self.env.context, omni_no_trigger=True))
        # a demo-like dataset: the cards of this database only
        env["omni.backend"].search([]).write({"active": False})
        env.company.name = "Omni Demo Retail [DEMO]"
        shop = self._omni_create_backend(env, name=SHOP, channel="custom")
        # thresholds are per channel: one open exception is within the storefront's (its card stays white)
        storefront = self._omni_create_backend(env, name="[DEMO] B2B Web Shop (custom API)", channel="custom",
                                               ov_exception_limit=1)
        partner = env["res.partner"].create({"name": "Jane Doe"})
        SaleOrder = env["sale.order"]
        today = SaleOrder.create({"partner_id": partner.id, "omni_backend_id": shop.id})
        today |= SaleOrder.create({"partner_id": partner.id, "omni_backend_id": shop.id})
        older = SaleOrder.create({"partner_id": partner.id, "omni_backend_id": shop.id,
                                  "date_order": fields.Datetime.now() - timedelta(days=3)})
        SaleOrder.create({"partner_id": partner.id, "omni_backend_id": storefront.id})
        waiting = self._omni_store(shop, {"resource": "6100000001", "name": "#D1001"}, "tour-1")
        env.cr.execute(SQL("UPDATE omni_event SET received_at = %s WHERE id = %s",
                           fields.Datetime.now() - timedelta(minutes=15), waiting.id))
        self._omni_store(shop, {"resource": "6100000002", "name": "#D1002"}, "tour-2")
        env["omni.exception"]._omni_raise(
            "Unknown SKU DEMO-BEANIE-RED on order #D1003. Map it to a product or create the product, then retry.",
            backend=shop, category="mapping")
        env["omni.exception"]._omni_raise("Another channel's exception", backend=storefront, category="mapping")
        shop._omni_checkpoint_advance("orders", fields.Datetime.now() - timedelta(minutes=4))
        self.assertEqual(shop.ov_orders_today, 2, "the dataset the tour reads")
        self.start_tour("/odoo/action-omni_monitoring.action_omni_overview", "omni_overview", login="admin",
                        timeout=180)
        self.assertTrue(older.exists() and today.exists())
