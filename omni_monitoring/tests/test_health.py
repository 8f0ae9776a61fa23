"""GET /omni/health: 200 when every check passes, 503 when the processor cron is late or a backend
is paused by its circuit breaker; no authentication, no personal data."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestHealth(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Health shop")
        cls.cron = cls.env.ref("omni_connector_base.cron_omni_event_process")

    def _on_time(self):
        self.cron.write({"active": True, "nextcall": fields.Datetime.now() + timedelta(minutes=1)})
        self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]).unlink()

    def _health(self):
        response = self.url_open("/omni/health")
        self.assertEqual(response.headers["Content-Type"], "application/json")
        return response.status_code, response.json()

    def test_all_checks_pass(self):
        self._on_time()
        status, body = self._health()
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok")
        self.assertEqual([check["name"] for check in body["checks"]], ["database", "processor_cron", "circuit_breaker"])
        self.assertTrue(all(check["status"] == "ok" for check in body["checks"]))

    def test_late_processor_cron_is_503(self):
        self._on_time()
        self.cron.nextcall = fields.Datetime.now() - timedelta(minutes=30)
        status, body = self._health()
        self.assertEqual(status, 503, body)
        checks = {check["name"]: check for check in body["checks"]}
        self.assertEqual(checks["processor_cron"]["status"], "fail")
        self.assertGreaterEqual(checks["processor_cron"]["late_seconds"], 30 * 60 - 5)
        self.assertEqual(checks["database"]["status"], "ok")
        # a pending trigger nobody ran counts as well
        self._on_time()
        self.env["ir.cron.trigger"].create({"cron_id": self.cron.id,
                                            "call_at": fields.Datetime.now() - timedelta(minutes=15)})
        self.assertEqual(self._health()[0], 503)
        # the limit is a setting
        self.env["ir.config_parameter"].set_param("omni_monitoring.health_cron_late_minutes", "20")
        self.assertEqual(self._health()[0], 200)

    def test_inactive_processor_cron_is_503(self):
        self._on_time()
        self.cron.active = False
        status, body = self._health()
        self.assertEqual(status, 503)
        self.assertEqual({c["name"]: c["status"] for c in body["checks"]}["processor_cron"], "fail")

    def test_paused_backend_is_503_without_personal_data(self):
        self._on_time()
        partner = self.env["res.partner"].create({"name": "Jane Customer", "email": "jane@example.com"})
        self.backend._omni_pause("*", 300, f"channel answered 503 for {partner.email}")
        status, body = self._health()
        self.assertEqual(status, 503)
        checks = {check["name"]: check for check in body["checks"]}
        self.assertEqual(checks["circuit_breaker"]["paused_backend_ids"], [self.backend.id])
        self.assertNotIn("jane", str(body).lower())
        self.assertNotIn("Health shop", str(body))
        self.backend._omni_resume()
        self.assertEqual(self._health()[0], 200)
