"""Governance on Shopify, secret rotation: after the app's client secret is rotated, webhooks signed
with the new secret are accepted; those signed with the previous one are accepted during the grace and
counted (the channel form and the Overview say when to retire it), then refused with 401."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CLIENT_ID, SECRET, ShopifyCase

NEW_SECRET = "shopify-app-client-secret-rotated-0001"


@tagged("post_install", "-at_install", "omni")
class TestShopifySecretRotation(ShopifyCase):
    def _rotate(self):
        action = self.backend.action_rotate_secret()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create(
            {"new_secret": NEW_SECRET, "grace_hours": 24})
        wizard.action_rotate()
        self.addCleanup(setattr, self.sender, "secret", self.sender.secret)
        self.sender.secret = NEW_SECRET  # Shopify signs with the new client secret from now on
        self.env.invalidate_all()

    def _deliver(self, order_id, secret=None):
        payload = self.order_payload(order_id=order_id, name=f"#{order_id[-4:]}")
        return self.deliver("orders/create", payload, secret=secret)

    def test_new_secret_previous_in_grace_counted_then_refused(self):
        self._rotate()
        self.assertEqual(self._deliver("5829417100001"), 200, "signed with the new secret")
        self.assertTrue(self.backend.secret_rotation_status.startswith("safe to retire"))
        # deliveries Shopify signed before the rotation (its retries) come with the previous secret
        self.assertEqual(self._deliver("5829417100002", secret=SECRET), 200)
        self.assertEqual(self._deliver("5829417100003", secret=SECRET), 200)
        self.env.invalidate_all()
        self.assertEqual(self.backend.secret_previous_uses_24h, 2)
        status = self.backend.secret_rotation_status
        self.assertIn("previous secret still used: 2 deliveries in the last 24 h; grace ends", status)
        # the Overview card shows it
        overview = self.env.ref("omni_monitoring.view_omni_backend_overview_kanban", raise_if_not_found=False)
        if overview:
            self.assertIn("secret_rotation_status", overview.arch)
            card = self.env["omni.backend"].web_search_read(
                [("id", "=", self.backend.id)], {"secret_rotation_status": {}})["records"][0]
            self.assertEqual(card["secret_rotation_status"], status)
        self.assertEqual(len(self.events(direction="in", topic="orders/create")), 3)
        # the grace ends
        self.backend.sudo().webhook_secret_grace_until = fields.Datetime.now() - timedelta(minutes=1)
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self._deliver("5829417100004", secret=SECRET), 401)
        self.assertEqual(self._deliver("5829417100005"), 200)
        self.env["omni.backend"]._cron_retire_secrets()
        self.assertFalse(self.backend.sudo().webhook_secret_previous)
        self.assertEqual(len(self.events(direction="in", topic="orders/create")), 4)
        self.process()
        self.assertEqual(set(self.events(direction="in", topic="orders/create").mapped("state")), {"done"})
        # the chatter records the rotation, never a secret
        bodies = " ".join(str(body) for body in self.backend.message_ids.mapped("body"))
        self.assertIn("Webhook secret rotated by", bodies)
        self.assertNotIn(NEW_SECRET, bodies)
        self.assertNotIn(SECRET, bodies)

    def test_client_credentials_grant_uses_the_new_secret(self):
        self.backend.sudo().write({"shopify_auth_method": "client_credentials", "shopify_client_id": CLIENT_ID})
        self.assertEqual(self.backend.sudo()._shopify_client().client_secret, SECRET)
        self._rotate()
        self.assertEqual(self.backend.sudo()._shopify_client().client_secret, NEW_SECRET, "a new client")
