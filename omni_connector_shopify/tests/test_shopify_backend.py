"""The backend's buttons and secrets against the simulator."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import CLIENT_ID, SECRET, SHOP, ShopifyCase


@tagged("post_install", "-at_install", "omni")
class TestShopifyBackend(ShopifyCase):
    def test_connection_reports_shop_and_version(self):
        action = self.backend.action_test_connection()
        self.assertIn("Acme Retail", action["params"]["message"])
        self.assertIn("2026-10", action["params"]["message"])
        self.assertEqual(self.backend.shopify_api_version_answered, "2026-10")

    def test_unsupported_version_falls_forward_and_says_so(self):
        self.backend.shopify_api_version = "2024-01"
        action = self.backend.action_test_connection()
        self.assertIn("no longer serves 2024-01", action["params"]["message"])
        self.assertEqual(self.backend.shopify_api_version_answered, "2026-10")

    def test_bad_token_is_a_clear_error(self):
        self.backend.sudo().shopify_access_token = "shpat_wrong"
        with self.assertRaises(UserError) as caught:
            self.backend.action_test_connection()
        self.assertIn("401", str(caught.exception))
        self.assertNotIn("shpat_wrong", str(caught.exception))

    def test_client_credentials_exchange_stores_the_token(self):
        backend = self._omni_create_backend(
            self.env,
            name="Client credentials shop",
            channel="shopify",
            webhook_secret=SECRET,
            shopify_shop_domain=SHOP,
            shopify_auth_method="client_credentials",
            shopify_client_id=CLIENT_ID,
            shopify_base_url=self.sim.base_url,
        )
        self.assertFalse(backend.has_shopify_access_token)
        backend.action_test_connection()
        self.assertEqual(self.sim.tokens_issued, 1)
        self.assertTrue(backend.sudo().shopify_access_token.startswith("shpat_"))
        backend.invalidate_recordset(["has_shopify_access_token"])
        self.assertTrue(backend.has_shopify_access_token)

    def test_register_webhooks_is_idempotent(self):
        action = self.backend.action_shopify_register_webhooks()
        self.assertIn("9 created", action["params"]["message"])
        url = f"{self.base_url()}/omni/webhook/{self.backend.id}"
        subscriptions = self.sim.webhook_subscriptions.values()
        self.assertEqual(
            sorted(s["topic"] for s in subscriptions),
            [
                "APP_UNINSTALLED",
                "FULFILLMENTS_CREATE",
                "FULFILLMENTS_UPDATE",
                "ORDERS_CANCELLED",
                "ORDERS_CREATE",
                "ORDERS_UPDATED",
                "REFUNDS_CREATE",
                "RETURNS_CLOSE",
                "RETURNS_PROCESS",
            ],
        )
        self.assertEqual({s["uri"] for s in subscriptions}, {url})
        again = self.backend.action_shopify_register_webhooks()
        self.assertIn("9 already in place", again["params"]["message"])
        self.assertEqual(len(self.sim.webhook_subscriptions), 9)

    def test_secrets_are_for_system_administrators_only(self):
        manager = new_test_user(
            self.env,
            login="omni_shopify_manager",
            groups="omni_connector_base.group_omni_manager",
            company_id=self.backend.company_id.id,
        )
        backend = self.backend.with_user(manager)
        self.assertTrue(backend.has_shopify_access_token)
        self.assertEqual(backend.shopify_shop_domain, SHOP)
        for field in ("shopify_access_token", "webhook_secret", "shopify_base_url"):
            with self.subTest(field=field), self.assertRaises(AccessError), mute_logger("odoo.models"):
                backend.read([field])

    @mute_logger("odoo.addons.omni_connector_shopify.models.omni_backend")
    def test_poll_cron_reports_a_failing_shop(self):
        self.backend.sudo().shopify_access_token = "shpat_revoked"
        self.env["omni.backend"]._cron_shopify_poll_orders()
        exception = self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", "shopify:poll")]
        )
        self.assertEqual(exception.category, "channel_api")
        self.assertIn("401", exception.message)
        self.env["omni.backend"]._cron_shopify_poll_orders()
        self.assertEqual(exception.occurrence_count, 2, "one exception, counted, not a flood")

    def test_bad_shop_domain_is_refused(self):
        with self.assertRaises(UserError):
            self.backend.shopify_shop_domain = "not a shop/../"
