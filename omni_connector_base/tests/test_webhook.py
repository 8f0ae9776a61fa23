import json

from odoo.tests import HttpCase, tagged

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestWebhookIntake(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env)
        cls.url = f"/omni/webhook/{cls.backend.id}"

    def _post(self, body, headers, url=None):
        return self.url_open(url or self.url, data=body, headers=headers)

    def _events(self):
        return self.env["omni.event"].search([("backend_id", "=", self.backend.id)])

    def _rejections(self):
        return self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)])

    def test_valid_webhook_is_stored_and_acknowledged(self):
        body = json.dumps({"resource": "W1", "name": "Webhook", "updated_at": "2026-11-01T08:00:00Z"}).encode()
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-1", topic="customers/update"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "stored")
        event = self._events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.topic, "customers/update")
        self.assertEqual(event.resource_key, "W1")
        self.assertEqual(event.idempotency_key, "wh-1")
        self.assertEqual(event.payload.encode(), body, "the raw body is kept exactly")
        self.assertNotIn("Hmac", event.headers or "", "signatures are never stored")
        self.assertFalse(
            self.env["res.partner"].search([("name", "=", "Webhook")]), "intake creates no business record"
        )
        self._omni_run_ready()
        self.assertEqual(event.state, "done")

    def test_bad_signature_is_refused_and_counted(self):
        body = b'{"resource": "W2"}'
        headers = self._omni_signed_headers(body, event_id="wh-2")
        response = self._post(body + b" ", headers)  # body changed after signing
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self._events())
        self.assertEqual(self._rejections().reason, "bad signature")
        self.backend.invalidate_recordset(["webhook_rejected_count"])
        self.assertEqual(self.backend.webhook_rejected_count, 1)

    def test_missing_signature_is_refused(self):
        response = self._post(b'{"resource": "W3"}', {"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self._events())
        self.assertEqual(self._rejections().reason, "missing signature")

    def test_wrong_secret_is_refused(self):
        body = b'{"resource": "W3b"}'
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-3b", secret="another"))
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self._events())

    def test_duplicate_delivery_has_no_second_effect(self):
        body = json.dumps({"resource": "W4", "name": "Dup"}).encode()
        headers = self._omni_signed_headers(body, event_id="wh-4")
        first = self._post(body, headers)
        second = self._post(body, headers)
        self.assertEqual(first.status_code, 200)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json()["status"], "duplicate")
        self.assertEqual(first.json()["event_id"], second.json()["event_id"])
        self.assertEqual(len(self._events()), 1)

    def test_oversize_body_is_refused(self):
        self.backend.webhook_max_bytes = 1024
        body = json.dumps({"resource": "W5", "blob": "x" * 2000}).encode()
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-5"))
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self._events())
        self.assertEqual(self._rejections().http_status, 413)

    def test_chunked_bodies_are_read_and_limited(self):
        body = json.dumps({"resource": "W5c", "name": "Chunked"}).encode()
        headers = self._omni_signed_headers(body, event_id="wh-5c")
        response = self._post((part for part in (body[:10], body[10:])), headers)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._events().payload.encode(), body)
        self.backend.webhook_max_bytes = 1024
        big = json.dumps({"resource": "W5d", "blob": "x" * 4000}).encode()
        headers = self._omni_signed_headers(big, event_id="wh-5d")
        response = self._post((big[i : i + 500] for i in range(0, len(big), 500)), headers)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(len(self._events()), 1)

    def test_signed_non_json_is_stored_then_dead_with_parse_error(self):
        body = b"\xff\xfe not json at all \x00"
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-6"))
        self.assertEqual(response.status_code, 200)
        event = self._events()
        self.assertEqual(event.payload_encoding, "base64")
        self.assertEqual(event._omni_payload_bytes(), body, "nothing lost, byte for byte")
        self._omni_run_ready()
        self.assertEqual(event.state, "dead")
        self.assertEqual(len(event.exception_ids), 1)
        self.assertIn("not UTF-8", event.exception_ids.message)

        text_body = b'{"resource": "W7", '
        self._post(text_body, self._omni_signed_headers(text_body, event_id="wh-7"))
        event = self._events().filtered(lambda e: e.idempotency_key == "wh-7")
        self._omni_run_ready()
        self.assertEqual(event.state, "dead")
        self.assertIn("not valid JSON", event.exception_ids.message)

    def test_unknown_backend_is_404(self):
        body = b"{}"
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-8"), url="/omni/webhook/999999")
        self.assertEqual(response.status_code, 404)

    def test_inactive_backend_is_404(self):
        self.backend.active = False
        body = b"{}"
        response = self._post(body, self._omni_signed_headers(body, event_id="wh-9"))
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self._events())

    def test_get_is_not_allowed_and_never_500(self):
        response = self.url_open(self.url)
        self.assertEqual(response.status_code, 405)
        deep = b"[" * 100000 + b"]" * 100000
        junks = (b"", b"[]", b"null", b'"str"', b"1e999999", b'{"resource": {"nested": []}}', deep)
        for index, junk in enumerate(junks):
            response = self._post(junk, self._omni_signed_headers(junk, event_id=f"junk-{index}"))
            self.assertLess(response.status_code, 500, junk[:50])
