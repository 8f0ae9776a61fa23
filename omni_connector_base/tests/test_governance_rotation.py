"""Governance, secret rotation on the built-in test channel (the same base hook serves every connector):
the new secret is accepted, the previous one during the grace (counted per backend in the database),
refused after it and cleared by the cron; only system administrators rotate; the chatter never shows a
secret."""

import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..models.omni_governance_rotation import REASON_RETIRED
from .common import WEBHOOK_SECRET, OmniTestMixin

NEW_SECRET = "new-test-channel-secret-0123456789"


@tagged("post_install", "-at_install", "omni")
class TestGovernanceRotation(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, secret_grace_hours=48)
        cls.url = f"/omni/webhook/{cls.backend.id}"

    def _post(self, event_id, secret):
        body = json.dumps({"resource": event_id, "name": event_id}).encode()
        return self.url_open(self.url, data=body,
                             headers=self._omni_signed_headers(body, event_id=event_id, secret=secret)).status_code

    def _rotate(self, grace_hours=None):
        action = self.backend.action_rotate_secret()
        wizard = self.env[action["res_model"]].with_context(**action["context"]).create({"new_secret": NEW_SECRET})
        if grace_hours is not None:
            wizard.grace_hours = grace_hours
        wizard.action_rotate()
        self.env.invalidate_all()

    def test_rotation_with_grace_then_retirement(self):
        self.assertEqual(self._post("before", WEBHOOK_SECRET), 200)
        self._rotate()
        backend = self.backend.sudo()
        self.assertEqual((backend.webhook_secret, backend.webhook_secret_previous), (NEW_SECRET, WEBHOOK_SECRET))
        grace = backend.webhook_secret_grace_until
        self.assertAlmostEqual((grace - fields.Datetime.now()).total_seconds(), 48 * 3600, delta=120)
        self.assertEqual(self._post("new-1", NEW_SECRET), 200, "the new secret is accepted")
        self.assertEqual(self.backend.secret_previous_uses_24h, 0)
        self.assertTrue(self.backend.secret_rotation_status.startswith("safe to retire"))
        self.assertEqual(self._post("old-1", WEBHOOK_SECRET), 200, "the previous secret, in its grace")
        self.assertEqual(self._post("old-2", WEBHOOK_SECRET), 200)
        self.assertEqual(self._post("old-2", WEBHOOK_SECRET), 200, "a duplicate is a delivery too")
        self.env.invalidate_all()
        self.assertEqual(self.backend.secret_previous_uses_24h, 3)
        self.assertEqual(sum(self.env["omni.secret.use"].search([("backend_id", "=", self.backend.id)])
                             .mapped("count")), 3, "counted in the database, per backend")
        self.assertIn("previous secret still used: 3 deliveries in the last 24 h; grace ends",
                      self.backend.secret_rotation_status)
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self._post("forged", "some-other-secret-000000"), 401)
        # the grace ends: the previous secret is refused, and the cron clears it
        backend.webhook_secret_grace_until = fields.Datetime.now() - timedelta(seconds=1)
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self._post("old-3", WEBHOOK_SECRET), 401)
        rejection = self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id),
                                                               ("reason", "=", REASON_RETIRED)])
        self.assertEqual(rejection.count, 1)
        cron = self.env.ref("omni_connector_base.cron_omni_retire_secrets")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "woken at once")
        self.assertEqual(self.env["omni.backend"]._cron_retire_secrets(), 1)
        self.assertFalse(backend.webhook_secret_previous)
        self.assertTrue(self.backend.secret_rotation_status.startswith("previous secret retired"))
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self._post("old-4", WEBHOOK_SECRET), 401)
        self.assertEqual(self._post("new-2", NEW_SECRET), 200)
        stored = self.env["omni.event"].search([("backend_id", "=", self.backend.id)]).mapped("idempotency_key")
        self.assertEqual(sorted(stored), ["before", "new-1", "new-2", "old-1", "old-2"])
        # the chatter: the rotation and the retirement, never a secret
        bodies = " ".join(self.backend.message_ids.mapped(lambda message: str(message.body)))
        self.assertIn("Webhook secret rotated by", bodies)
        self.assertIn("Previous webhook secret retired", bodies)
        for secret in (WEBHOOK_SECRET, NEW_SECRET):
            self.assertNotIn(secret, bodies)
            self.assertFalse(self.env["mail.tracking.value"].search(
                [("mail_message_id", "in", self.backend.message_ids.ids), "|", ("old_value_char", "=", secret),
                 ("new_value_char", "=", secret)]))

    def test_zero_grace_refuses_the_previous_secret_at_once(self):
        self._rotate(grace_hours=0)
        self.assertFalse(self.backend.sudo().webhook_secret_previous)
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self._post("old", WEBHOOK_SECRET), 401)
        self.assertEqual(self._post("new", NEW_SECRET), 200)

    def test_only_system_administrators_rotate(self):
        manager = self.env["res.users"].create({
            "name": "Omni Manager", "login": "omni-manager-rotation",
            "group_ids": [(6, 0, [self.env.ref("omni_connector_base.group_omni_manager").id])]})
        backend = self.backend.with_user(manager)
        with self.assertRaises(AccessError):
            backend.action_rotate_secret()
        with self.assertRaises(AccessError):
            backend._omni_rotate_webhook_secret(NEW_SECRET)
        with self.assertRaises(AccessError):
            self.env["omni.secret.rotate.wizard"].with_user(manager).create(
                {"backend_id": self.backend.id, "new_secret": NEW_SECRET})
        with self.assertRaises(AccessError):
            backend.read(["webhook_secret_previous"])
        self.assertEqual(self.backend.sudo().webhook_secret, WEBHOOK_SECRET)
        # managers see the status, not the secrets
        self.assertFalse(backend.secret_rotation_status)
