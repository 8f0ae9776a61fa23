"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.tests import tagged
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
