"""Connect a channel (the base's wizard) for Shopify, against the simulator: every step through the
connector's hooks, each Test connection failure named, the matching report's statuses and bulk
actions, the catch-up import through the poll's checkpoint."""

from datetime import datetime

from odoo.tests import tagged

from ..lib.sync import WEBHOOK_TOPICS
from .common import CLIENT_ID, SHOP, TOKEN, ShopifyCase


@tagged("post_install", "-at_install", "omni")
class TestOnboardingWizard(ShopifyCase):
    def _wizard(self):
        wizard = self.env["omni.connect.wizard"].create({"name": "Wizard shop", "channel": "shopify"})
        wizard.action_next()
        self.assertEqual(wizard.step, "credentials")
        return wizard

    def _set(self, wizard, **values):
        lines = {line.field_name: line for line in wizard.credential_ids}
        for name, value in values.items():
            lines[name][("secret_value" if lines[name].is_secret else "value")] = value

    def _test(self, wizard):
        wizard.action_test_connection()
        return wizard.connection_ok, wizard.connection_message

    def test_each_connection_failure_is_named(self):
        wizard = self._wizard()
        lines = {line.field_name: line for line in wizard.credential_ids}
        self.assertIn("shopify_access_token", lines)
        self.assertFalse([name for name in lines if name.startswith(("amazon_", "ebay_", "woocommerce_"))],
                         "a Shopify channel is asked for Shopify's credentials only, not other connectors'")
        self.assertTrue(lines["shopify_access_token"].is_secret, "tokens are typed as passwords")
        self.assertFalse(lines["shopify_shop_domain"].is_secret)
        self.assertEqual(lines["shopify_shop_domain"].label, "Shop Domain")
        self.sim.known_shops = {SHOP}
        self._set(wizard, shopify_shop_domain=SHOP, shopify_base_url=self.sim.base_url,
                  shopify_access_token="shpat_wrong")
        ok, message = self._test(wizard)
        self.assertFalse(ok)
        self.assertIn("refused the credentials", message)

        self._set(wizard, shopify_access_token=TOKEN, shopify_shop_domain="someone-else.myshopify.com")
        ok, message = self._test(wizard)
        self.assertFalse(ok)
        self.assertIn("does not know this shop", message)

        self._set(wizard, shopify_shop_domain=SHOP)
        self.sim.denied_fields = {"shop"}
        ok, message = self._test(wizard)
        self.assertFalse(ok)
        self.assertIn("lack a permission", message)
        self.sim.denied_fields = set()

        self._set(wizard, shopify_base_url="http://127.0.0.1:9")  # discard port: nothing listens
        ok, message = self._test(wizard)
        self.assertFalse(ok)
        self.assertIn("cannot be reached", message)

        self._set(wizard, shopify_base_url=self.sim.base_url)
        ok, message = self._test(wizard)
        self.assertTrue(ok, message)
        self.assertIn("Connected to", message)
        self.assertEqual(wizard.backend_id.sudo().shopify_access_token, TOKEN)

    def test_every_step_to_the_first_import(self):
        self.seed_order(self.order_payload())  # a recent order: its rates are the shop's
        wizard = self._wizard()
        self._set(wizard, shopify_shop_domain=SHOP, shopify_base_url=self.sim.base_url, shopify_access_token=TOKEN,
                  shopify_client_id=CLIENT_ID)
        wizard.action_next()
        self.assertEqual(wizard.step, "settings")
        wizard.warehouse_id = self.warehouse
        wizard.action_next()
        self.assertEqual(wizard.step, "taxes")
        detected = {(line.rate, line.price_include): line for line in wizard.tax_line_ids}
        self.assertIn((19.0, True), detected, "the rate of the shop's orders is detected")
        self.assertEqual(detected[(19.0, True)].tax_id, self.tax_19_incl, "the Odoo tax of that rate is proposed")
        wizard.tax_line_ids = [(0, 0, {"rate": 7.0, "price_include": True, "create_missing": True})]
        wizard.action_next()
        self.assertEqual(wizard.step, "webhooks")
        maps = {(m.rate, m.price_include): m.tax_id for m in wizard.backend_id.tax_map_ids}
        self.assertEqual(maps[(19.0, True)], self.tax_19_incl)
        self.assertEqual(maps[(7.0, True)].amount, 7.0, "the missing tax is created on request")
        self.assertEqual(maps[(7.0, True)].price_include_override, "tax_included")

        wizard.action_register_webhooks()
        self.assertEqual(len(self.sim.webhook_subscriptions), len(WEBHOOK_TOPICS))
        self.assertIn(f"{len(WEBHOOK_TOPICS)} created", wizard.webhook_message)

        self.sim.add_variant("BEANIE-NEW", barcode="999000111", title="Beanie")
        self.sim.add_variant("MUG-CLASSIC", title="Mug, listed twice")
        self.shirt.barcode = "400000000001"
        self.env["product.product"].create({"name": "Other", "default_code": "OTHER-1", "barcode": "400000000002"})
        self.sim.add_variant("OTHER-2", barcode="400000000001", title="Barcode of the shirt")
        lonely = self.env["product.product"].create({"name": "Only in Odoo", "default_code": "ODOO-ONLY"})
        wizard.action_next()
        self.assertEqual(wizard.step, "products")
        lines = wizard.match_id.line_ids
        status = {(line.sku, line.name): line.status for line in lines}
        self.assertEqual(status[("TSHIRT-BLK-M", "TSHIRT-BLK-M")], "matched")
        self.assertEqual(status[("BEANIE-NEW", "Beanie")], "missing_odoo")
        self.assertEqual(status[("MUG-CLASSIC", "Mug, listed twice")], "duplicate")
        self.assertEqual(status[("OTHER-2", "Barcode of the shirt")], "matched", "found by barcode alone")
        self.assertEqual(lines.filtered(lambda line: line.product_id == lonely).status, "missing_channel")
        self.assertIn("Missing in Odoo: 1", wizard.match_summary)

        missing = lines.filtered(lambda line: line.status == "missing_odoo")
        missing.action_create_products()
        beanie = self.env["product.product"].search([("default_code", "=", "BEANIE-NEW")])
        self.assertEqual(beanie.barcode, "999000111")
        self.assertEqual(missing.status, "matched")
        bound = self.env["omni.binding"]._omni_lookup(wizard.backend_id, "product.product", [missing.external_id])
        self.assertEqual(bound[missing.external_id], beanie, "created products are mapped to their variant")

        wizard.action_next()
        self.assertEqual(wizard.step, "import")
        wizard.import_since = datetime(2026, 11, 1)
        wizard.action_first_import()
        backend = wizard.backend_id
        self.assertTrue(backend.shopify_poll_enabled)
        self.assertEqual(backend._omni_checkpoint_since("orders", now=datetime(2026, 12, 1)),
                         datetime(2026, 10, 31, 23, 50), "the poll restarts from the date (minus its overlap)")
        cron = self.env.ref("omni_connector_shopify.cron_shopify_poll_orders")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
                        "the catch-up runs as the cron")
        stored, _read = backend._shopify_poll_orders()
        self.assertEqual(stored, 1, "the catch-up reads the shop's order")
        stored_again, _read = backend._shopify_poll_orders()
        self.assertEqual(stored_again, 0, "a resumed catch-up stores nothing twice")
        self.assertEqual(wizard.action_finish()["res_id"], backend.id)
