"""Amazon's SP-API calls in base's call metrics (issue 14): recorded by the client in memory, flushed into
the per-minute rows with the poll's (or the cron run's, or the event's) own transaction, and served by
omni_monitoring's ``/omni/metrics`` families by operation."""

from odoo.tests import tagged

from odoo.addons.omni_connector_base.pipeline import call_metrics

from ..lib.amazon_client import RATE_LIMITS, RateLimiter
from ..models import amazon_backend
from .amazon_common import FBM_ORDER, US, AmazonCase


@tagged("post_install", "-at_install", "omni")
class TestAmazonCallMetrics(AmazonCase):
    def setUp(self):
        super().setUp()
        call_metrics.discard()
        self.addCleanup(call_metrics.discard)

    def api_rows(self):
        """``{operation: (calls, errors, throttled)}`` of the account's aggregate rows."""
        totals = {}
        self.env.invalidate_all()  # the rows are upserted in SQL: read them afresh
        rows = self.env["omni.metric.minute"].search([("backend_id", "=", self.backend.id), ("metric", "=", "api")])
        for row in rows:
            calls, errors, throttled = totals.get(row.operation, (0, 0, 0))
            totals[row.operation] = (calls + row.count, errors + row.errors, throttled + row.throttled)
        return totals

    def fresh_client(self):
        """A new client whose own bucket never holds a call back: every call reaches Amazon's answer."""
        amazon_backend.CLIENT_OPTIONS[self.backend.id] = {
            "limiter": RateLimiter({operation: (1000.0, 1000) for operation in RATE_LIMITS})}
        self.backend._omni_reset_client()

    def served(self, family):
        """``{operation: value}`` of the account in one of omni_monitoring's families (None without it)."""
        if "omni.metrics" not in self.env:
            return None
        for found in self.env["omni.metrics"]._omni_families():
            if found["name"] == family:
                return {labels[3]: value for labels, value in found["samples"] if labels[0] == self.backend.name}
        return {}

    def test_a_poll_records_its_calls_in_its_transaction(self):
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        stored, read = self.backend._amazon_poll_orders()
        self.assertEqual((stored, read), (1, 1))
        self.assertFalse(call_metrics.pending(), "the poll flushed what it recorded")
        self.assertEqual(self.api_rows(), {"getLwaAccessToken": (1, 0, 0), "searchOrders": (1, 0, 0)})
        served = self.served("omni_api_calls")
        if served is not None:
            self.assertEqual(served, {"getLwaAccessToken": 1, "searchOrders": 1})
            self.assertEqual(self.served("omni_api_errors"), {"getLwaAccessToken": 0, "searchOrders": 0})
        self._omni_run_ready()
        self.assertTrue(self.sale(FBM_ORDER))

    def test_a_throttled_poll_counts_the_429_and_a_failed_one_its_error(self):
        self.fresh_client()
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        for _ in range(20):
            self.sim._check_rate("searchOrders")  # Amazon's searchOrders bucket spent by another app
        self.env["omni.backend"]._cron_amazon_poll_orders()
        self.assertTrue(self.backend.amazon_poll_resume, "the poll stopped at Amazon's 429")
        self.assertEqual(self.api_rows()["searchOrders"], (1, 0, 1))
        self.sim._buckets.clear()
        self.fresh_client()  # the client adopted Amazon's empty bucket: a new one
        self.sim.fail_next("searchOrders", 503)
        self.env["omni.backend"]._cron_amazon_poll_orders()  # the cron files an exception, the call is counted
        self.assertEqual(self.api_rows()["searchOrders"], (2, 1, 1))
        throttled = self.served("omni_api_throttled")
        if throttled is not None:
            self.assertEqual(throttled["searchOrders"], 1)
            self.assertEqual(self.served("omni_api_errors")["searchOrders"], 1)
        failed = self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", "amazon:poll")])
        self.assertEqual(failed.state, "open")
        self.env["omni.backend"]._cron_amazon_poll_orders()
        self.assertFalse(self.backend.amazon_poll_resume)
        self.assertEqual(self.api_rows()["searchOrders"], (3, 1, 1))
        # Proof (faults): the poll that succeeded resolves the failed one's exception; before, it stayed open.
        self.assertEqual(failed.state, "resolved")

    def test_crons_without_an_event_flush_their_calls(self):
        self.sim.set_inventory(US, {"MUG-CLASSIC": 7})
        self.backend.amazon_sync_fba_inventory = True
        self.env["omni.backend"]._cron_amazon_fba_inventory()
        self.assertFalse(call_metrics.pending())
        self.assertEqual(self.api_rows().get("getInventorySummaries"), (1, 0, 0))
