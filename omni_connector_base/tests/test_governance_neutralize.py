"""Governance, safe database copies: Odoo's neutralization (the queries ``odoo-bin neutralize``
runs: every installed addon's data/neutralize.sql) makes every backend a sandbox that pushes,
polls and fetches nothing and whose webhook intake refuses deliveries."""

import json

from odoo.modules.neutralize import get_installed_modules, get_neutralization_queries, neutralize_database
from odoo.tests import HttpCase, tagged

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
        queries = "\n".join(get_neutralization_queries(["omni_connector_base", "omni_connector_shopify",
                                                        "omni_reconciliation"]))
        self.assertIn("SET sandbox = true", queries)
        self.assertIn("shopify_access_token = NULL", queries)
        self.assertIn("stripe_secret_key = NULL", queries)
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
