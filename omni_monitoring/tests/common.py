"""Shared helpers of omni_monitoring's tests (and of omni_monitoring_reconciliation's): scrape
/omni/metrics over HTTP with the token, parse it with prometheus_client, and the known scenario."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from odoo import fields

from odoo.addons.omni_connector_base.models.omni_backend import TEST_SIGNATURE_HEADER
from odoo.addons.omni_connector_base.pipeline import call_metrics

from ..models.res_config_settings import TOKEN_HASH_PARAM, hash_token

TOKEN = "monitoring-token-0123456789"
ALERTS = Path(__file__).resolve().parents[1] / "prometheus" / "alerts.yml"
PAYOUT_METRICS = frozenset({"omni_settlements", "omni_settlement_unmatched_lines", "omni_payout_in_transit_amount",
                            "omni_days_since_last_payout"})


class MetricsScrapeMixin:
    """For an ``HttpCase`` with ``cls.backend`` (a test channel backend named "Monitored shop")."""

    @classmethod
    def _omni_set_token(cls):
        cls.env["ir.config_parameter"].set_param(TOKEN_HASH_PARAM, hash_token(TOKEN))

    def _scrape(self, headers=None):
        return self.url_open("/omni/metrics", headers=headers if headers is not None else {
            "Authorization": f"Bearer {TOKEN}"})

    def _samples(self):
        response = self._scrape()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]

    @staticmethod
    def _value(samples, name, **labels):
        found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        return sum(found) if found else None

    def _check_rules_are_served(self, samples, skip=()):
        """Every metric an expression of prometheus/alerts.yml names is in ``samples`` (but ``skip``)."""
        names = {sample.name for sample in samples}
        rules = yaml.safe_load(ALERTS.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                for name in set(re.findall(r"\bomni_[a-z_]+", re.sub(r"\{[^}]*\}", "", rule["expr"]))):
                    if name not in skip:
                        self.assertIn(name, names, f"{rule['alert']} names {name}")

    def _webhook(self, payload, event_id):
        body = json.dumps(payload).encode()
        response = self.url_open(f"/omni/webhook/{self.backend.id}", data=body,
                                 headers=self._omni_signed_headers(body, event_id=event_id))
        self.assertEqual(response.status_code, 200, response.text)

    def _run_known_scenario(self):
        """Three webhooks (two done, one blocked with its exception), a forged one refused, three API
        calls recorded during the handlers, a poll. Returns (started, polled_at)."""
        started = fields.Datetime.now()
        self._webhook({"resource": "1", "name": "First"}, "m-1")
        self._webhook({"resource": "2", "name": "Second"}, "m-2")
        self._webhook({"resource": "3", "fail": "business"}, "m-3")
        refused = self.url_open(f"/omni/webhook/{self.backend.id}", data=b"{}",
                                headers={"Content-Type": "application/json", TEST_SIGNATURE_HEADER: "forged"})
        self.assertEqual(refused.status_code, 401)
        # What a channel client records during a handler (the one-line hook of CONNECTORS.md):
        # flushed into the aggregate rows with the event that made the calls, in its transaction.
        call_metrics.discard()
        call_metrics.record("orderCreate", 0.03)
        call_metrics.record("orderCreate", 0.2)
        call_metrics.record("orderCreate", 0.3, "throttled")
        processed = self._omni_run_ready()
        self.assertEqual(sorted(processed.mapped("state")), ["blocked", "done", "done"])
        self.assertFalse(call_metrics.pending())
        polled_at = fields.Datetime.now().replace(microsecond=0)
        self.backend._omni_checkpoint_advance("orders", polled_at)
        return started, polled_at

    def _check_known_scenario(self, samples, started, polled_at, company):
        shop = {"backend": "Monitored shop", "channel": "test", "company": company.name}
        value = self._value
        self.assertEqual(value(samples, "omni_events", direction="in", state="blocked", **shop), 1)
        self.assertEqual(value(samples, "omni_events", direction="in", state="pending", **shop), 0)
        self.assertEqual(value(samples, "omni_events", state="dead", **shop), 0)
        self.assertEqual(value(samples, "omni_dead_events", **shop), 0)
        self.assertEqual(value(samples, "omni_ready_queue_depth", **shop), 0)
        self.assertEqual(value(samples, "omni_oldest_ready_event_age_seconds", **shop), 0)
        self.assertEqual(value(samples, "omni_events_processed_total", outcome="done", **shop), 2)
        self.assertIsNone(value(samples, "omni_events_processed_total", outcome="skipped", **shop))
        self.assertEqual(value(samples, "omni_events_failed_total", outcome="blocked", **shop), 1)
        self.assertIsNone(value(samples, "omni_event_retries_total", **shop))
        self.assertEqual(value(samples, "omni_exceptions_open", category="validation", severity="warning", **shop), 1)
        self.assertEqual(value(samples, "omni_exceptions_open", **shop), 1)
        self.assertGreaterEqual(value(samples, "omni_oldest_open_exception_age_seconds", **shop), 0)
        op = dict(shop, operation="orderCreate")
        self.assertEqual(value(samples, "omni_api_calls_total", **op), 3)
        self.assertEqual(value(samples, "omni_api_errors_total", **op), 0)
        self.assertEqual(value(samples, "omni_api_throttled_total", **op), 1)
        buckets = {s.labels["le"]: s.value for s in samples
                   if s.name == "omni_api_call_duration_seconds_bucket" and s.labels.get("backend") == "Monitored shop"}
        self.assertEqual((buckets["0.05"], buckets["0.1"], buckets["0.25"], buckets["0.5"], buckets["+Inf"]),
                         (1, 1, 2, 3, 3))
        self.assertEqual(value(samples, "omni_api_call_duration_seconds_count", **op), 3)
        self.assertAlmostEqual(value(samples, "omni_api_call_duration_seconds_sum", **op), 0.53, places=6)
        last_webhook = value(samples, "omni_last_webhook_timestamp_seconds", **shop)
        epoch = fields.Datetime.to_datetime("1970-01-01")
        self.assertAlmostEqual(last_webhook, (started - epoch).total_seconds(), delta=120)
        self.assertEqual(value(samples, "omni_last_successful_poll_timestamp_seconds", resource="orders", **shop),
                         (polled_at - epoch).total_seconds())
        rejection = self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(rejection), 1)
        self.assertEqual(value(samples, "omni_webhook_rejections_total", reason=rejection.reason, **shop), 1)
        processor = {"cron": "omni_connector_base.cron_omni_event_process"}
        self.assertIsNotNone(value(samples, "omni_cron_lateness_seconds", **processor))
