"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import ShopifyCase


@tagged("post_install", "-at_install", "omni")
class TestShopifyProofRegressions(ShopifyCase):
    @mute_logger("odoo.addons.omni_connector_shopify.models.shopify_sync")
    def test_proof_faults_a_poll_that_succeeds_resolves_the_failed_polls_exception(self):
        """Channel faults: one poll answered 502 left "Polling Shopify failed" open for a person
        forever, although the next poll read everything; the next successful poll resolves it."""
        self.sim.inject_fault("502", count=10)
        self.env["omni.backend"]._cron_shopify_poll_orders()
        exception = self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", "shopify:poll")]
        )
        self.assertEqual(exception.state, "open")
        self.sim.clear_faults()
        self.env["omni.backend"]._cron_shopify_poll_orders()
        self.assertEqual(exception.state, "resolved")


@tagged("post_install", "-at_install", "omni")
class TestShopifyProofAuthz(TransactionCase):
    """Authorization matrix (tests/proof/suite_authz.py): an Omnichannel User could run the Shopify
    buttons over JSON-RPC (sync, stock push, webhooks, variants), and "Import Variants" with the shop
    unreachable answered a server error (the pager raised outside the button's error handling)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="proof_shopify_user", groups="omni_connector_base.group_omni_user")
        cls.backend = cls.env["omni.backend"].create({
            "name": "Proof authz Shopify", "channel": "shopify", "shopify_shop_domain": "proof-authz.myshopify.com",
            "shopify_access_token": "shpat_proof", "shopify_base_url": "http://127.0.0.1:9"})

    def test_proof_authz_an_omnichannel_user_cannot_run_the_shopify_buttons(self):
        for method in ("action_shopify_register_webhooks", "action_shopify_import_variants",
                       "action_shopify_sync_orders", "action_shopify_push_stock"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(self.backend.with_user(self.user), method)()

    @mute_logger("odoo.addons.omni_connector_shopify.lib.client")
    def test_proof_authz_import_variants_of_an_unreachable_shop_is_a_user_error(self):
        with self.assertRaises(UserError):
            self.backend.action_shopify_import_variants()
