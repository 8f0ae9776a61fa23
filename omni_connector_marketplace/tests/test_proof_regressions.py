"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install", "omni")
class TestMarketplaceProofAuthz(TransactionCase):
    """Authorization matrix (tests/proof/suite_authz.py): an Omnichannel User could run the Amazon
    and eBay buttons over JSON-RPC (polls, imports, stock pushes, the FBA warehouse)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="proof_market_user", groups="omni_connector_base.group_omni_user")
        Backend = cls.env["omni.backend"]
        cls.amazon = Backend.create({"name": "Proof authz Amazon", "channel": "amazon"})
        cls.ebay = Backend.create({"name": "Proof authz eBay", "channel": "ebay"})

    def test_proof_authz_an_omnichannel_user_cannot_run_the_marketplace_buttons(self):
        calls = [(self.amazon, name) for name in ("action_amazon_setup_fba_warehouse", "action_amazon_push_stock",
                                                  "action_amazon_sync_fba", "action_amazon_poll_now",
                                                  "action_amazon_import_since")]
        calls += [(self.ebay, name) for name in ("action_ebay_push_stock", "action_ebay_import_orders")]
        for backend, method in calls:
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(backend.with_user(self.user), method)()
