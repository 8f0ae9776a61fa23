"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install", "omni")
class TestWooProofAuthz(TransactionCase):
    """Authorization matrix (tests/proof/suite_authz.py): an Omnichannel User could run the
    WooCommerce buttons over JSON-RPC, and "Import Products" with the store unreachable answered a
    server error (the pager raised outside the button's error handling)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="proof_woo_user", groups="omni_connector_base.group_omni_user")
        cls.backend = cls.env["omni.backend"].create({
            "name": "Proof authz WooCommerce", "channel": "woocommerce", "woocommerce_store_url": "http://127.0.0.1:9",
            "woocommerce_consumer_key": "ck_proof", "woocommerce_consumer_secret": "cs_proof",
            "webhook_secret": "proof-secret"})

    def test_proof_authz_an_omnichannel_user_cannot_run_the_woocommerce_buttons(self):
        for method in ("action_woocommerce_register_webhooks", "action_woocommerce_import_products",
                       "action_woocommerce_push_stock", "action_woocommerce_sync_orders",
                       "action_woocommerce_import_since"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(self.backend.with_user(self.user), method)()

    @mute_logger("odoo.addons.omni_connector_woocommerce.lib.client")
    def test_proof_authz_import_products_of_an_unreachable_store_is_a_user_error(self):
        with self.assertRaises(UserError):
            self.backend.action_woocommerce_import_products()
