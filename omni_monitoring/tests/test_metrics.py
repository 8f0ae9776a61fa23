"""GET /omni/metrics over HTTP: exact values after a known scenario, parsed with prometheus_client."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from odoo.addons.omni_connector_base.models.omni_backend import TEST_SIGNATURE_HEADER
from odoo.addons.omni_connector_base.pipeline import call_metrics

from ..models.res_config_settings import TOKEN_HASH_PARAM, hash_token
from .common import PAYOUT_AMOUNT, PAYOUT_DATE, MonitoringCommon

TOKEN = "monitoring-token-0123456789"
ALERTS = Path(__file__).resolve().parents[1] / "prometheus" / "alerts.yml"


@tagged("post_install", "-at_install", "omni")
class TestMetrics(MonitoringCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Monitored shop")
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

    def _webhook(self, payload, event_id):
        body = json.dumps(payload).encode()
        response = self.url_open(f"/omni/webhook/{self.backend.id}", data=body,
                                 headers=self._omni_signed_headers(body, event_id=event_id))
        self.assertEqual(response.status_code, 200, response.text)

    def test_known_scenario_exactly(self):
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
        settlement, _line = self._post_payout(bank_match=False)
        polled_at = fields.Datetime.now().replace(microsecond=0)
        self.backend._omni_checkpoint_advance("orders", polled_at)

        samples = self._samples()
        shop = {"backend": "Monitored shop", "channel": "test", "company": self.company.name}
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
        # the payout: posted, in transit, every line matched
        account = {"backend": "Shopify shop", "channel": "shopify_payments", "company": self.company.name,
                   "account": "Shopify Payments EUR"}
        self.assertEqual(value(samples, "omni_settlements", state="posted", **account), 1)
        self.assertEqual(value(samples, "omni_settlements", **account), 1)
        self.assertEqual(value(samples, "omni_settlement_unmatched_lines", **account), 0)
        self.assertEqual(value(samples, "omni_payout_in_transit_amount", currency="EUR", **account), PAYOUT_AMOUNT)
        self.assertEqual(value(samples, "omni_days_since_last_payout", **account),
                         (fields.Date.context_today(settlement) - PAYOUT_DATE).days)
        processor = {"cron": "omni_connector_base.cron_omni_event_process"}
        self.assertIsNotNone(value(samples, "omni_cron_lateness_seconds", **processor))
        # another backend's figures are its own
        self.assertEqual(value(samples, "omni_events_processed_total", backend="Woo shop"), None)
        self.assertEqual(value(samples, "omni_ready_queue_depth", backend="Woo shop"), 0)

        # every metric the Prometheus rules name is served
        names = {sample.name for sample in samples}
        rules = yaml.safe_load(ALERTS.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                for name in set(re.findall(r"\bomni_[a-z_]+", re.sub(r"\{[^}]*\}", "", rule["expr"]))):
                    self.assertIn(name, names, f"{rule['alert']} names {name}")

    def test_counters_add_up_across_scrapes_and_transactions(self):
        self._webhook({"resource": "7", "fail": "transient"}, "r-1")
        self._omni_run_ready()
        first = self._value(self._samples(), "omni_event_retries_total", backend="Monitored shop")
        self.assertEqual(first, 1)
        self._omni_make_due(self.env["omni.event"].search([("backend_id", "=", self.backend.id)]))
        self._omni_run_ready()
        samples = self._samples()
        self.assertEqual(self._value(samples, "omni_event_retries_total", backend="Monitored shop"), 2)
        self.assertEqual(self._value(samples, "omni_events_failed_total", backend="Monitored shop", outcome="retry"), 2)
        # two attempts of one worker in one minute: one aggregate row
        rows = self.env["omni.metric.minute"].search([("backend_id", "=", self.backend.id), ("metric", "=", "retry")])
        self.assertEqual(sum(rows.mapped("count")), 2)
        self.assertLessEqual(len(rows), 2)

    def test_outbox_siblings_finished_in_a_batch_are_counted(self):
        Event = self.env["omni.event"]
        Event._omni_enqueue_outgoing_many(self.backend, "stock/test", {f"SKU-{n}": {"qty": n} for n in range(3)})
        events = Event.search([("backend_id", "=", self.backend.id), ("direction", "=", "out")])
        self.assertEqual(len(events), 3)
        events[1:]._omni_finish_many("done")
        events[:1]._omni_finish_many("retry", error="later")
        samples, shop = self._samples(), {"backend": "Monitored shop"}
        self.assertEqual(self._value(samples, "omni_events_processed_total", outcome="done", **shop), 2)
        self.assertEqual(self._value(samples, "omni_event_retries_total", **shop), 1)
        self.assertEqual(self._value(samples, "omni_events", direction="out", state="retry", **shop), 1)

    def test_compaction_keeps_the_counters(self):
        self._webhook({"resource": "8", "name": "Old"}, "c-1")
        call_metrics.discard()
        call_metrics.record("shop", 0.07)
        self._omni_run_ready()
        Minute = self.env["omni.metric.minute"]
        rows = Minute.search([("backend_id", "=", self.backend.id)])
        self.env.cr.execute(SQL("UPDATE omni_metric_minute SET minute = minute - interval '3 hours' WHERE id = ANY(%s)",
                                rows.ids))
        before = self._samples()
        self.assertGreaterEqual(Minute._cron_compact(), 2)
        self.env.invalidate_all()
        after = self._samples()
        for name, labels in (("omni_events_processed_total", {"outcome": "done"}),
                             ("omni_api_calls_total", {"operation": "shop"}),
                             ("omni_api_call_duration_seconds_sum", {"operation": "shop"})):
            self.assertEqual(self._value(after, name, backend="Monitored shop", **labels),
                             self._value(before, name, backend="Monitored shop", **labels))
        self.assertEqual(self._value(after, "omni_api_calls_total", backend="Monitored shop", operation="shop"), 1)
        totals = Minute.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(totals.mapped("minute")), {fields.Datetime.to_datetime("1970-01-01")})

    def test_missing_or_wrong_token_is_401(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": "Bearer"}, {"Authorization": TOKEN}):
            response = self._scrape(headers)
            self.assertEqual(response.status_code, 401, headers)
            self.assertNotIn("omni_", response.text)
        self.assertEqual(self._scrape().status_code, 200)
        # stored hashed: the token itself is nowhere in the parameters
        self.assertFalse(self.env["ir.config_parameter"].search([("value", "=", TOKEN)]))
        self.env["ir.config_parameter"].set_param(TOKEN_HASH_PARAM, False)
        self.assertEqual(self._scrape().status_code, 401, "no token configured: nobody scrapes")

    def test_token_set_in_settings(self):
        settings = self.env["res.config.settings"].create({"omni_metrics_token": "from-settings-42"})
        settings.execute()
        self.assertTrue(self.env["res.config.settings"].create({}).omni_metrics_token_set)
        self.assertEqual(self._scrape({"Authorization": "Bearer from-settings-42"}).status_code, 200)
        self.assertEqual(self._scrape().status_code, 401, "the old token no longer works")
        action = self.env["res.config.settings"].create({}).action_omni_generate_metrics_token()
        generated = action["params"]["message"]
        self.assertEqual(self._scrape({"Authorization": f"Bearer {generated}"}).status_code, 200)
