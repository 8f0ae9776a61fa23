"""Governance, safe database copies: Odoo's neutralization (the queries ``odoo-bin neutralize``
runs: every installed addon's data/neutralize.sql) makes every backend a sandbox that pushes,
polls and fetches nothing and whose webhook intake refuses deliveries."""

import json

from odoo.modules.neutralize import get_installed_modules, get_neutralization_queries, neutralize_database
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestGovernanceNeutralize(OmniTestMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.backend = self._omni_create_backend(self.env, name="Live shop")

    def _neutralize(self):
        self.env.flush_all()
        neutralize_database(self.env.cr)  # exactly what `odoo-bin neutralize` runs
        self.env.invalidate_all()

    def test_every_addon_ships_its_neutralization(self):
        queries = "\n".join(get_neutralization_queries([
            "omni_connector_base", "omni_connector_shopify", "omni_reconciliation", "omni_connector_woocommerce",
            "omni_connector_marketplace", "omni_monitoring"]))
        self.assertIn("SET sandbox = true", queries)
        self.assertIn("shopify_access_token = NULL", queries)
        self.assertIn("stripe_secret_key = NULL", queries)
        self.assertIn("woocommerce_consumer_secret = NULL", queries)
        self.assertIn("amazon_refresh_token = NULL", queries)
        self.assertIn("ebay_signing_key = NULL", queries)
        self.assertIn("omni_monitoring.metrics_token_hash", queries)
        self.assertIn("omni_connector_base", get_installed_modules(self.env.cr))

    def test_neutralized_copy_reaches_no_channel(self):
        outgoing = self.env["omni.event"].sudo()._omni_enqueue_outgoing(
            self.backend, "inventory/set", {"sku": "X"}, resource_key="X", idempotency_key="out-1")
        self._neutralize()
        self.assertTrue(self.backend.sandbox)
        # pushes wait
        outgoing._omni_process()
        self.assertEqual(outgoing.state, "retry")
        self.assertIn("Sandbox", outgoing.last_error)
        # polls do nothing (the test channel would refuse a poll otherwise)
        self.assertEqual(self.backend._omni_run_poll("orders"), (0, 0))
        self.assertFalse(self.env["omni.sync.checkpoint"].search([("backend_id", "=", self.backend.id)]))
        # the webhook intake refuses, nothing stored
        body = json.dumps({"resource": "42", "name": "Ping"}).encode()
        self.env.flush_all()
        response = self.url_open(f"/omni/webhook/{self.backend.id}", data=body,
                                 headers=self._omni_signed_headers(body, event_id="n-1"))
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.env["omni.event"].search([("backend_id", "=", self.backend.id),
                                                       ("direction", "=", "in")]))
        # and a person sees why on the form
        self.assertIn("neutralized", self.backend._fields["sandbox"].help)

    # Secrets each connector's data/neutralize.sql clears, and what stops pushing (channel: columns).
    CLEARED = {
        "woocommerce": ("woocommerce_consumer_key", "woocommerce_consumer_secret", "webhook_secret"),
        "amazon": ("amazon_lwa_client_secret", "amazon_refresh_token"),
        "ebay": ("ebay_cert_id", "ebay_refresh_token", "ebay_verification_token", "ebay_signing_key",
                 "ebay_signing_jwe"),
    }
    TURNED_OFF = {
        "woocommerce": ("woocommerce_export_stock", "woocommerce_export_shipments", "woocommerce_export_refunds"),
        "amazon": ("amazon_export_stock",),
        "ebay": ("ebay_export_stock",),
    }

    def test_connector_secrets_and_the_metrics_token_do_not_survive(self):
        installed = set(get_installed_modules(self.env.cr))
        for module in ("omni_connector_woocommerce", "omni_connector_marketplace", "omni_monitoring"):
            if module not in installed:
                self.skipTest(f"{module} is not installed")
        backends = {}
        for channel, columns in self.CLEARED.items():
            backend = self._omni_create_backend(self.env, name=f"Live {channel}")
            # raw SQL, as a production row looks, without the channel's connection checks
            assignments = [SQL("%s = %s", SQL.identifier(column), "live-secret") for column in columns]
            assignments += [SQL("%s = true", SQL.identifier(column)) for column in self.TURNED_OFF[channel]]
            self.env.flush_all()
            self.env.cr.execute(SQL("UPDATE omni_backend SET channel = %s, %s WHERE id = %s",
                                    channel, SQL(", ").join(assignments), backend.id))
            backends[channel] = backend
        self.env["ir.config_parameter"].sudo().set_param("omni_monitoring.metrics_token_hash", "pbkdf2$live")
        self._neutralize()
        for channel, backend in backends.items():
            columns = self.CLEARED[channel] + self.TURNED_OFF[channel]
            self.env.cr.execute(SQL("SELECT %s FROM omni_backend WHERE id = %s",
                                    SQL(", ").join(map(SQL.identifier, columns)), backend.id))
            self.assertEqual(self.env.cr.fetchone(), (None,) * len(self.CLEARED[channel])
                             + (False,) * len(self.TURNED_OFF[channel]), channel)
        self.assertFalse(self.env["ir.config_parameter"].sudo().get_param("omni_monitoring.metrics_token_hash"))
