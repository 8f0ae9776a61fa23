"""Refused webhooks are counted per backend, reason and minute; the purge goes in batches."""

import json
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..models import omni_webhook_rejection
from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestRejections(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Forgery target")

    def _rows(self):
        return self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)])

    def test_a_flood_of_forgeries_is_one_counted_row(self):
        body = json.dumps({"resource": "X"}).encode()
        for index in range(5):
            headers = self._omni_signed_headers(body, event_id=f"forged-{index}", secret="not-the-secret")
            response = self.url_open(f"/omni/webhook/{self.backend.id}", data=body, headers=headers)
            self.assertEqual(response.status_code, 401)
        rows = self._rows()
        self.assertEqual(len(rows), 1, "one row per backend, reason and minute")
        self.assertEqual((rows.reason, rows.count, rows.http_status), ("bad signature", 5, 401))
        self.assertEqual(rows.minute, rows.minute.replace(second=0, microsecond=0))
        self.assertEqual(self.backend.webhook_rejected_count, 5, "the backend counts requests, not rows")
        # Another reason is another row.
        self.url_open(f"/omni/webhook/{self.backend.id}", data=body, headers={"Content-Type": "application/json"})
        self.assertEqual(sorted(self._rows().mapped("reason")), ["bad signature", "missing signature"])

    def test_a_flood_of_forgeries_logs_one_line_per_minute(self):
        body = json.dumps({"resource": "X"}).encode()
        url = f"/omni/webhook/{self.backend.id}"
        with self.assertLogs("odoo.addons.omni_connector_base.controllers", "WARNING") as logs:
            for index in range(5):
                headers = self._omni_signed_headers(body, event_id=f"flood-{index}", secret="not-the-secret")
                self.assertEqual(self.url_open(url, data=body, headers=headers).status_code, 401)
        refused = [line for line in logs.output if "refused" in line]
        self.assertEqual(len(refused), 1, "the first refusal of the minute is logged, the rest only counted")
        self.assertEqual(self._rows().count, 5)

    def test_purge_goes_in_batches_with_progress(self):
        Rejection = self.env["omni.webhook.rejection"]
        old = fields.Datetime.now() - timedelta(days=40)
        for minute in range(7):
            with patch.object(fields.Datetime, "now", return_value=old + timedelta(minutes=minute)):
                Rejection._omni_log(self.backend.id, "bad signature", 401, "203.0.113.9")
        Rejection._omni_log(self.backend.id, "bad signature", 401, "203.0.113.9")  # recent: kept
        self.assertEqual(len(self._rows()), 8)
        progress = []

        def commit_progress(_cron, processed=0, remaining=None, deactivate=False):
            progress.append((processed, remaining))
            return 100.0

        cron_model = type(self.env["ir.cron"])
        with patch.object(omni_webhook_rejection, "PURGE_BATCH", 3), \
                patch.object(cron_model, "_commit_progress", commit_progress):
            purged = Rejection.with_context(ir_cron_progress_id=1)._omni_purge()
        self.assertEqual(purged, 7)
        self.assertEqual(len(self._rows()), 1)
        self.assertEqual([done for done, _remaining in progress if done], [3, 3, 1], "batches of 3, each reported")
