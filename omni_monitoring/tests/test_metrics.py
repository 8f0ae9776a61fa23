"""GET /omni/metrics over HTTP: exact values after a known scenario, parsed with prometheus_client.

The payout families are checked by omni_monitoring_reconciliation's tests (with a payout), and their
absence without omni_reconciliation by test_base_only.py."""

from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from odoo.addons.omni_connector_base.pipeline import call_metrics
from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

from ..models.res_config_settings import TOKEN_HASH_PARAM
from .common import PAYOUT_METRICS, TOKEN, MetricsScrapeMixin


@tagged("post_install", "-at_install", "omni")
class TestMetrics(MetricsScrapeMixin, OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Monitored shop")
        cls.other = cls._omni_create_backend(cls.env, name="Other shop")
        cls._omni_set_token()

    def test_known_scenario_exactly(self):
        started, polled_at = self._run_known_scenario()
        samples = self._samples()
        self._check_known_scenario(samples, started, polled_at, self.env.company)
        # another backend's figures are its own
        self.assertIsNone(self._value(samples, "omni_events_processed_total", backend="Other shop"))
        self.assertEqual(self._value(samples, "omni_ready_queue_depth", backend="Other shop"), 0)
        self.assertEqual(self._value(samples, "omni_events", backend="Other shop"), 0)

        # every metric the Prometheus rules name is served (the payout ones: with a payout account,
        # omni_monitoring_reconciliation's TestPayoutMetrics)
        self._check_rules_are_served(samples, skip=PAYOUT_METRICS)

    def test_live_state_counts_follow_every_write(self):
        """omni_events and the queue come from the counters the triggers keep: ORM writes, plain SQL,
        deletes, all in the work's transaction."""
        Event = self.env["omni.event"]
        shop = {"backend": "Monitored shop"}
        first = self._omni_store(self.backend, {"resource": "c1", "name": "One"}, "cnt-1")
        second = self._omni_store(self.backend, {"resource": "c2", "name": "Two"}, "cnt-2")
        later = self._omni_store(self.backend, {"resource": "c3", "name": "Three"}, "cnt-3")
        self.env.cr.execute(SQL("UPDATE omni_event SET state = 'retry', next_attempt_at = %s WHERE id = %s",
                                fields.Datetime.now() + timedelta(hours=1), later.id))
        samples = self._samples()
        self.assertEqual(self._value(samples, "omni_events", direction="in", state="pending", **shop), 2)
        self.assertEqual(self._value(samples, "omni_events", direction="in", state="retry", **shop), 1)
        self.assertEqual(self._value(samples, "omni_ready_queue_depth", **shop), 2, "the retry is due in an hour")
        self.assertGreaterEqual(self._value(samples, "omni_oldest_ready_event_age_seconds", **shop), 0)
        first.sudo().write({"state": "dead"})
        second.sudo().unlink()
        samples = self._samples()
        self.assertEqual(self._value(samples, "omni_events", direction="in", state="pending", **shop), 0)
        self.assertEqual(self._value(samples, "omni_events", direction="in", state="dead", **shop), 1)
        self.assertEqual(self._value(samples, "omni_dead_events", **shop), 1)
        self.assertEqual(self._value(samples, "omni_ready_queue_depth", **shop), 0)
        counts = self.env["omni.event.state.count"]._omni_counts()
        self.env.cr.execute(SQL("SELECT backend_id, direction, state, count(*) FROM omni_event "
                                "WHERE state IN ('pending', 'retry', 'blocked', 'dead') GROUP BY 1, 2, 3"))
        self.assertEqual(counts, {tuple(row[:3]): row[3] for row in self.env.cr.fetchall()})
        # rows of closed connections fold into shard 0, the sums do not change
        self.env.cr.execute(SQL("UPDATE omni_event_state_count SET shard = 1 WHERE shard = pg_backend_pid()"))
        self.env["omni.event.state.count"]._omni_compact()
        self.assertEqual(self.env["omni.event.state.count"]._omni_counts(), counts)
        self.env.cr.execute(SQL("SELECT count(*) FROM omni_event_state_count WHERE shard = 1"))
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        # a deleted backend takes its events and their counts along
        self.other.sudo().unlink()
        self.backend.sudo().unlink()
        self.assertFalse({key for key in self.env["omni.event.state.count"]._omni_counts()
                          if key[0] in (self.backend.id, self.other.id)})
        self.assertFalse(Event.search([("id", "=", first.id)]))

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
        self.assertEqual(Minute._cron_compact(), 0, "folded once")
        for name, labels in (("omni_events_processed_total", {"outcome": "done"}),
                             ("omni_api_calls_total", {"operation": "shop"}),
                             ("omni_api_call_duration_seconds_sum", {"operation": "shop"})):
            self.assertEqual(self._value(after, name, backend="Monitored shop", **labels),
                             self._value(before, name, backend="Monitored shop", **labels))
        self.assertEqual(self._value(after, "omni_api_calls_total", backend="Monitored shop", operation="shop"), 1)
        # three hours old: folded into the totals, then deleted (past the alert rules' two hours)
        self.assertFalse(Minute.search([("backend_id", "=", self.backend.id)]))
        totals = self.env["omni.metric.total"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(sorted(totals.mapped("metric")), ["api", "done"])
        # a recent minute is folded too, and kept for the alert windows; the current one waits
        call_metrics.record("shop", 0.2)
        self.env["omni.metric.minute"]._omni_flush_calls(self.backend)
        recent = Minute.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(recent), 1)
        self.assertEqual(Minute._cron_compact(), 0, "the current minute is not folded")
        self.env.cr.execute(SQL("UPDATE omni_metric_minute SET minute = minute - interval '10 minutes' "
                                "WHERE id = %s", recent.id))
        self.assertEqual(Minute._cron_compact(), 1)
        self.env.invalidate_all()
        self.assertTrue(recent.exists().folded)
        self.assertEqual(self._value(self._samples(), "omni_api_calls_total", backend="Monitored shop",
                                     operation="shop"), 2)

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
