"""Governance on WooCommerce, secret rotation: *Rotate Secret* gives the store's webhooks the new secret;
a delivery the store signed with the previous secret is accepted during the grace and counted, and
refused with 401 once the grace ended; the chatter records the rotation without a secret."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import WEBHOOK_SECRET, WooCase, order_727

NEW_SECRET = "woo-webhook-secret-rotated-0123456789"


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceSecretRotation(WooCase):
    def _rotate(self):
        action = self.backend.action_rotate_secret()
        self.env[action["res_model"]].with_context(**action["context"]).create(
            {"new_secret": NEW_SECRET, "grace_hours": 12}).action_rotate()
        self.env.invalidate_all()

    def _signed_with(self, secret):
        """What the store signs next is signed with ``secret`` (a delivery queued before the rotation)."""
        for hook in self.sim.webhooks.values():
            hook["secret"] = secret

    def test_rotation_updates_the_store_and_accepts_the_previous_secret_in_grace(self):
        hooks = self.subscribe()
        self._rotate()
        self.assertEqual({self.sim.webhooks[hook["id"]]["secret"] for hook in hooks}, {NEW_SECRET},
                         "the store's webhooks got the new secret")
        self.sim.add_order(order_727(id=801))
        self.assertEqual(self.send(), [200], "signed with the new secret")
        self.assertEqual(self.backend.secret_previous_uses_24h, 0)
        self._signed_with(WEBHOOK_SECRET)
        self.sim.add_order(order_727(id=802))
        self.assertEqual(self.send(), [200], "signed with the previous secret, in the grace")
        self.env.invalidate_all()
        self.assertEqual(self.backend.secret_previous_uses_24h, 1)
        self.assertIn("previous secret still used: 1 deliveries in the last 24 h", self.backend.secret_rotation_status)
        self.backend.sudo().webhook_secret_grace_until = fields.Datetime.now() - timedelta(seconds=1)
        self.sim.add_order(order_727(id=803))
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self.send(), [401], "the previous secret after the grace")
        self._signed_with(NEW_SECRET)
        self.sim.add_order(order_727(id=804))
        self.assertEqual(self.send(), [200])
        self.assertEqual(sorted(self.events().mapped("resource_key")), ["801", "802", "804"])
        self.process()
        self.assertEqual(set(self.events().mapped("state")), {"done"})
        bodies = " ".join(str(body) for body in self.backend.message_ids.mapped("body"))
        self.assertIn("Webhook secret rotated by", bodies)
        self.assertIn("4 webhooks of the store were given the new secret", bodies)
        for secret in (WEBHOOK_SECRET, NEW_SECRET):
            self.assertNotIn(secret, bodies)
