"""Governance, payload retention: the daily cron removes the personal data of finished payloads past the
channel's payload retention, in batches, and leaves dead, blocked and queued events alone; the raw
payload field is for system administrators only, the pipeline still reads it for everyone."""

import json
from datetime import timedelta
from pathlib import Path

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged

from .common import OmniTestMixin

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shopify" / "orders_create.json"


@tagged("post_install", "-at_install", "omni")
class TestGovernanceRetention(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, payload_retention_days=7, retention_days=30)
        cls.body = FIXTURE.read_text(encoding="utf-8")
        cls.payload = json.loads(cls.body)

    def _event(self, key, state, days_ago):
        event = self._omni_store(self.backend, dict(self.payload, resource=key), key)
        event.sudo().write({"state": state, "processed_at": fields.Datetime.now() - timedelta(days=days_ago)})
        return event

    def test_finished_payloads_lose_personal_data_others_keep_theirs(self):
        old_done = self._event("done-old", "done", 10)
        old_skipped = self._event("skipped-old", "skipped", 8)
        recent_done = self._event("done-recent", "done", 2)
        kept = [self._event(f"{state}-old", state, 10) for state in ("dead", "blocked", "pending", "retry")]
        other = self._omni_create_backend(self.env, name="Keeps payloads", payload_retention_days=0)
        untouched = self._omni_store(other, dict(self.payload, resource="x"), "other-done")
        untouched.sudo().write({"state": "done", "processed_at": fields.Datetime.now() - timedelta(days=90)})
        self.env.flush_all()
        stripped = self.env["omni.event"]._cron_strip_payloads(batch_size=1)  # batch-wise: several batches
        self.assertEqual(stripped, 2)
        self.env.invalidate_all()
        for event in old_done | old_skipped:
            payload = json.loads(event.payload)
            self.assertTrue(event.payload_stripped_at)
            self.assertNotIn("Jane.Doe@Example.com", event.payload)
            self.assertNotIn("Doe", event.payload)
            self.assertEqual((payload["id"], payload["name"], payload["total_price"]),
                             (5829417091234, "#1042", "70.60"), "ids and totals stay for the trace")
            self.assertEqual([line["sku"] for line in payload["line_items"]], ["TSHIRT-BLK-M", "MUG-CLASSIC"])
            self.assertEqual(payload["updated_at"], self.payload["updated_at"])
            self.assertEqual(event.idempotency_key, event.idempotency_key.strip())
        for event in (recent_done, *kept, untouched):
            self.assertFalse(event.payload_stripped_at, event.idempotency_key)
            self.assertIn("Jane.Doe@Example.com", event.payload, event.idempotency_key)
        self.assertEqual(self.env["omni.event"]._cron_strip_payloads(), 0, "nothing twice")
        with self.assertRaises(UserError):
            old_done.action_replay()

    def test_only_system_administrators_read_raw_payloads(self):
        event = self._event("done-1", "done", 0)
        manager = self.env["res.users"].create({
            "name": "Omni Manager", "login": "omni-manager-payloads",
            "group_ids": [(6, 0, [self.env.ref("omni_connector_base.group_omni_manager").id])]})
        as_manager = event.with_user(manager)
        self.assertEqual(as_manager.state, "done", "the manager reads the event")
        with self.assertRaises(AccessError):
            as_manager.read(["payload"])
        with self.assertRaises(AccessError):
            self.env["omni.event"].with_user(manager).search_read([("id", "=", event.id)], ["payload"])
        self.assertEqual(as_manager._omni_payload_json()["resource"], "done-1", "the pipeline reads it for anyone")
        form = self.env["omni.event"].with_user(manager).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn('name="payload"', form)
        self.assertEqual(event.read(["payload"])[0]["payload"], event.sudo().payload, "system administrators do")
        self.assertIsNotNone(self.env["omni.event"].fields_get(["payload"]).get("payload"))
        self.assertFalse(self.env["omni.event"].with_user(manager).fields_get(["payload"]))
