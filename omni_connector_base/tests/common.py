import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.omni_backend import TEST_EVENT_ID_HEADER, TEST_SIGNATURE_HEADER, TEST_TOPIC_HEADER
from ..pipeline.signatures import hmac_sha256_base64

WEBHOOK_SECRET = "shpss_test_secret_for_omni"


class OmniTestMixin:
    """Helpers shared by the base addon's tests (and the connectors' tests)."""

    @classmethod
    def _omni_create_backend(cls, env, **values):
        defaults = {
            "name": "Test channel",
            "channel": "test",
            "webhook_secret": WEBHOOK_SECRET,
            "max_attempts": 3,
            "retry_base_delay": 60,
        }
        defaults.update(values)
        return env["omni.backend"].sudo().create(defaults)

    @staticmethod
    def _omni_signed_headers(body, event_id=None, topic="test.event", secret=WEBHOOK_SECRET):
        headers = {
            "Content-Type": "application/json",
            TEST_SIGNATURE_HEADER: hmac_sha256_base64(secret, body),
            TEST_TOPIC_HEADER: topic,
        }
        if event_id:
            headers[TEST_EVENT_ID_HEADER] = event_id
        return headers

    def _omni_store(self, backend, payload, event_id, topic="test.event", raw=None):
        """Store an incoming event exactly as the webhook intake does (keys from the connector hook)."""
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = self._omni_signed_headers(body, event_id=event_id, topic=topic)
        values = backend._omni_webhook_event_values(body, headers, payload)
        event_id, _is_new = self.env["omni.event"]._omni_store_incoming(backend, body, values)
        return self.env["omni.event"].browse(event_id)

    def _omni_run_ready(self, limit=50):
        """Claim and apply ready events like the cron does, within the test transaction."""
        processed = self.env["omni.event"]
        for _i in range(limit):
            event = self.env["omni.event"]._omni_claim(limit=1)
            if not event:
                break
            event._omni_process()
            processed |= event
        return processed

    @staticmethod
    def _omni_make_due(events):
        """Move the next attempt of retrying events into the past (instead of sleeping)."""
        events.sudo().write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})


__all__ = ["WEBHOOK_SECRET", "OmniTestMixin", "tagged"]
