import json
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields, sql_db
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestEventProcessor(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env)

    def test_success_links_record_and_binding(self):
        event = self._omni_store(
            self.backend, {"resource": "C1", "name": "Ping", "updated_at": "2026-11-01T10:00:00Z"}, "evt-ok"
        )
        self.assertEqual(event.state, "pending")
        self._omni_run_ready()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.attempts, 1)
        self.assertEqual(event.res_model, "res.partner")
        partner = self.env["res.partner"].browse(event.res_id)
        self.assertEqual(partner.name, "Ping")
        binding = self.env["omni.binding"]._omni_bindings(self.backend, "res.partner", ["C1"])["C1"]
        self.assertEqual(binding.res_id, partner.id)
        self.assertEqual(binding.external_updated_at, datetime(2026, 11, 1, 10, 0, 0))
        self.assertTrue(event.processed_at)

    def test_transient_failure_retries_with_exponential_backoff(self):
        event = self._omni_store(self.backend, {"fail": "transient"}, "evt-transient")
        before = fields.Datetime.now()
        self._omni_run_ready()
        self.assertEqual(event.state, "retry")
        self.assertEqual(event.attempts, 1)
        delay = (event.next_attempt_at - before).total_seconds()
        # base 60 s, +/-20 % jitter; second resolution of stored datetimes
        self.assertGreaterEqual(delay, 60 * 0.8 - 1)
        self.assertLessEqual(delay, 60 * 1.2 + 1)
        self.assertIn("simulated transient failure", event.last_error)
        self.assertFalse(event.exception_ids, "a retry is not yet a person's problem")

        # Not due yet: nobody claims it.
        self.assertFalse(self.env["omni.event"]._omni_claim(limit=10))

        self._omni_make_due(event)
        before = fields.Datetime.now()
        self._omni_run_ready()
        self.assertEqual(event.attempts, 2)
        delay = (event.next_attempt_at - before).total_seconds()
        self.assertGreaterEqual(delay, 120 * 0.8 - 1)
        self.assertLessEqual(delay, 120 * 1.2 + 1)

    def test_retry_after_is_a_floor(self):
        event = self._omni_store(self.backend, {"fail": "transient", "retry_after": 900}, "evt-retry-after")
        before = fields.Datetime.now()
        self._omni_run_ready()
        self.assertEqual(event.state, "retry")
        self.assertGreaterEqual((event.next_attempt_at - before).total_seconds(), 899)

    def test_dead_after_max_attempts_opens_exception(self):
        event = self._omni_store(self.backend, {"fail": "transient"}, "evt-dead")
        for _attempt in range(3):
            self._omni_make_due(event)
            self._omni_run_ready()
        self.assertEqual(event.state, "dead")
        self.assertEqual(event.attempts, 3)
        self.assertEqual(len(event.exception_ids), 1)
        exception = event.exception_ids
        self.assertEqual(exception.state, "open")
        self.assertEqual(exception.severity, "error")
        self.assertIn("Gave up after 3 attempts", event.last_error)
        # dead events are not claimed again
        self._omni_make_due(event)
        self.assertFalse(self.env["omni.event"]._omni_claim(limit=10))

    def test_business_failure_blocks_and_replay_resolves(self):
        event = self._omni_store(self.backend, {"resource": "C9", "fail": "business", "name": "Blocked"}, "evt-biz")
        self._omni_run_ready()
        self.assertEqual(event.state, "blocked")
        exception = event.exception_ids
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.category, "validation")
        self.assertEqual(exception.state, "open")

        # A second failure reopens and counts the same exception instead of a new one.
        event.action_replay()
        self._omni_run_ready()
        self.assertEqual(event.state, "blocked")
        self.assertEqual(len(event.exception_ids), 1)
        self.assertEqual(event.exception_ids.occurrence_count, 2)

        # The person fixes the cause (here: the payload's failure flag) and retries from the exception.
        event.sudo().write({"payload": '{"resource": "C9", "name": "Fixed"}'})
        exception.action_retry()
        self.assertEqual(event.state, "pending")
        self._omni_run_ready()
        self.assertEqual(event.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(self.env["res.partner"].browse(event.res_id).name, "Fixed")

        # Replaying a done event is safe: same record, no duplicate.
        event.action_replay()
        self._omni_run_ready()
        self.assertEqual(event.state, "done")
        self.assertEqual(
            self.env["omni.binding"].search_count([("backend_id", "=", self.backend.id), ("external_id", "=", "C9")]), 1
        )

    def test_non_json_body_is_dead_with_parse_error(self):
        event = self._omni_store(self.backend, None, "evt-garbage", raw=b"{not json")
        self.assertEqual(event.payload, "{not json")
        self._omni_run_ready()
        self.assertEqual(event.state, "dead")
        self.assertIn("not valid JSON", event.exception_ids.message)
        self.assertEqual(event.exception_ids.category, "validation")

    def test_stale_update_is_skipped(self):
        newer = self._omni_store(
            self.backend, {"resource": "C2", "name": "New", "updated_at": "2026-11-02T10:00:00Z"}, "evt-new"
        )
        self._omni_run_ready()
        self.assertEqual(newer.state, "done")
        older = self._omni_store(
            self.backend, {"resource": "C2", "name": "Old", "updated_at": "2026-11-01T10:00:00Z"}, "evt-old"
        )
        self._omni_run_ready()
        self.assertEqual(older.state, "skipped")
        self.assertEqual(self.env["res.partner"].browse(newer.res_id).name, "New")

    def test_events_of_one_resource_apply_in_source_order(self):
        # Delivered out of order: v3, v1, v2 (by source time). Applied v1, v2, v3.
        v3 = self._omni_store(
            self.backend, {"resource": "C3", "name": "v3", "updated_at": "2026-11-01T10:03:00Z"}, "e3"
        )
        v1 = self._omni_store(
            self.backend, {"resource": "C3", "name": "v1", "updated_at": "2026-11-01T10:01:00Z"}, "e1"
        )
        v2 = self._omni_store(
            self.backend, {"resource": "C3", "name": "v2", "updated_at": "2026-11-01T10:02:00Z"}, "e2"
        )
        other = self._omni_store(
            self.backend, {"resource": "C4", "name": "x", "updated_at": "2026-11-01T09:00:00Z"}, "e4"
        )
        # Only the head of each resource is claimable: v1 and the other resource's event.
        claimable = self.env["omni.event"]._omni_claim(limit=10)
        self.assertEqual(set(claimable.ids), {v1.id, other.id})
        processed = self._omni_run_ready()
        self.assertEqual([e.id for e in processed if e.resource_key == "C3"], [v1.id, v2.id, v3.id])
        self.assertEqual(self.env["res.partner"].browse(v3.res_id).name, "v3")
        self.assertEqual((v1 | v2 | v3).mapped("state"), ["done"] * 3)

    def test_retrying_event_holds_back_later_events_of_same_resource(self):
        first = self._omni_store(
            self.backend, {"resource": "C5", "fail": "transient", "updated_at": "2026-11-01T10:00:00Z"}, "h1"
        )
        second = self._omni_store(
            self.backend, {"resource": "C5", "name": "after", "updated_at": "2026-11-01T11:00:00Z"}, "h2"
        )
        self._omni_run_ready()
        self.assertEqual(first.state, "retry")
        self.assertEqual(second.state, "pending", "must wait for the earlier event of the same order")

    def test_duplicate_store_is_one_event(self):
        first = self._omni_store(self.backend, {"resource": "C6"}, "dup-1")
        again = self._omni_store(self.backend, {"resource": "C6"}, "dup-1")
        self.assertEqual(first, again)
        self.assertEqual(self.env["omni.event"].search_count([("idempotency_key", "=", "dup-1")]), 1)

    def test_ignore_blocked_event_releases_followers(self):
        blocked = self._omni_store(
            self.backend, {"resource": "C7", "fail": "business", "updated_at": "2026-11-01T10:00:00Z"}, "i1"
        )
        follower = self._omni_store(
            self.backend, {"resource": "C7", "name": "next", "updated_at": "2026-11-01T10:05:00Z"}, "i2"
        )
        self._omni_run_ready()
        self.assertEqual(blocked.state, "blocked")
        self.assertEqual(follower.state, "pending")
        blocked.exception_ids.action_ignore()
        self.assertEqual(blocked.state, "skipped")
        self._omni_run_ready()
        self.assertEqual(follower.state, "done")

    def test_outgoing_events_coalesce_and_process(self):
        Event = self.env["omni.event"]
        first = Event._omni_enqueue_outgoing(
            self.backend, "stock.set", {"sku": "A", "qty": 5}, resource_key="A", coalesce=True
        )
        second = Event._omni_enqueue_outgoing(
            self.backend, "stock.set", {"sku": "A", "qty": 3}, resource_key="A", coalesce=True
        )
        self.assertEqual(first, second)
        self.assertIn('"qty": 3', first.payload)
        self.assertEqual(first.direction, "out")
        # the test channel has no outgoing handler for this topic: it is dead-lettered visibly
        self._omni_run_ready()
        self.assertEqual(first.state, "dead")
        self.assertTrue(first.exception_ids)

    def test_purge_keeps_failures_and_exceptions(self):
        self.backend.retention_days = 10
        done = self._omni_store(self.backend, {"resource": "P1", "name": "p"}, "p1")
        dead = self._omni_store(self.backend, None, "p2", raw=b"garbage")
        fresh = self._omni_store(self.backend, {"resource": "P3", "name": "q"}, "p3")
        self._omni_run_ready()
        old = fields.Datetime.now() - timedelta(days=11)
        (done | dead).write({"processed_at": old})
        exception = dead.exception_ids
        self.env.flush_all()
        purged = self.env["omni.event"]._cron_purge()
        self.assertEqual(purged, 1)
        self.assertFalse(done.exists())
        self.assertTrue(dead.exists())
        self.assertTrue(fresh.exists())
        self.assertTrue(exception.exists())

    def test_large_backlog_wakes_the_second_worker(self):
        worker_2 = self.env.ref("omni_connector_base.cron_omni_event_process_2")
        Trigger = self.env["ir.cron.trigger"]
        Trigger.search([("cron_id", "=", worker_2.id)]).unlink()
        for index in range(25):
            self._omni_store(self.backend, {"resource": f"B{index}", "name": "bulk"}, f"bulk-{index}")
        self.env["omni.event"]._cron_process(batch_limit=1)
        self.assertTrue(Trigger.search([("cron_id", "=", worker_2.id)]), "the second worker is called in")

    def test_outgoing_event_with_same_key_is_queued_once(self):
        Event = self.env["omni.event"]
        first = Event._omni_enqueue_outgoing(self.backend, "refund.create", {"a": 1}, idempotency_key="refund:77")
        again = Event._omni_enqueue_outgoing(self.backend, "refund.create", {"a": 1}, idempotency_key="refund:77")
        self.assertEqual(first, again)


@tagged("post_install", "-at_install", "omni")
class TestBindingUpsert(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env)
        cls.partners = cls.env["res.partner"].create([{"name": f"Bound {index}"} for index in range(3)])

    def test_many_bindings_in_one_statement(self):
        Binding = self.env["omni.binding"]
        first, second, third = self.partners
        with self.assertQueryCount(1):  # one INSERT ... ON CONFLICT for the whole batch
            bindings = Binding._omni_bind_many(self.backend, [(first, "P1"), (second, "P2"), (third, 3)])
        self.assertEqual(len(bindings), 3)
        found = Binding._omni_lookup(self.backend, "res.partner", ["P1", "P2", "3"])
        self.assertEqual(found, {"P1": first, "P2": second, "3": third})
        self.assertEqual(bindings.mapped("company_id"), self.backend.company_id)
        self.assertEqual(set(bindings.mapped("res_model")), {"res.partner"})

    def test_rebinding_updates_in_place_and_time_only_moves_forward(self):
        Binding = self.env["omni.binding"]
        first, second, _third = self.partners
        newer, older = datetime(2026, 11, 2, 8, 0), datetime(2026, 11, 1, 8, 0)
        binding = Binding._omni_bind(self.backend, first, "P1", external_updated_at=newer, digest="d1")
        again = Binding._omni_bind(self.backend, second, "P1", external_updated_at=older)
        self.assertEqual(again, binding, "the same (backend, model, external id) is one row")
        self.assertEqual(binding.res_id, second.id)
        self.assertEqual(binding.external_updated_at, newer, "an older version never moves the clock back")
        self.assertEqual(binding.payload_digest, "d1", "no digest given: the last one is kept")
        Binding._omni_bind(self.backend, second, "P1", external_updated_at=newer + timedelta(hours=1), digest="d2")
        self.assertEqual((binding.external_updated_at, binding.payload_digest), (newer + timedelta(hours=1), "d2"))

    def test_same_key_twice_in_one_batch_last_wins(self):
        first, second, _third = self.partners
        bindings = self.env["omni.binding"]._omni_bind_many(self.backend, [(first, "dup"), (second, "dup")])
        self.assertEqual(len(bindings), 1)
        self.assertEqual(bindings.res_id, second.id)

    def test_nothing_to_bind(self):
        self.assertFalse(self.env["omni.binding"]._omni_bind_many(self.backend, []))


def _rows_touched(plan):
    """Rows a plan node and its children produced or threw away (loops included)."""
    loops = plan.get("Actual Loops", 1)
    rows = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Join Filter", 0)) * loops
    return rows + sum(_rows_touched(child) for child in plan.get("Plans", ()))


@tagged("post_install", "-at_install", "omni")
class TestClaimUnderStaleStatistics(OmniTestMixin, TransactionCase):
    """A burst arrives after the planner's statistics saw a quiet queue (autovacuum analyzes later)."""

    QUEUED = 300

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env)
        # A queue with history: thousands of finished events, none waiting, then ANALYZE.
        cls.env.cr.execute(SQL(
            """INSERT INTO omni_event (backend_id, company_id, direction, topic, idempotency_key, resource_key,
                                       payload, state, attempts, received_at, processed_at)
               SELECT %s, %s, 'in', 'test.event', 'old-' || n, 'old-' || n, %s, 'done', 1,
                      now() at time zone 'UTC' - interval '1 day', now() at time zone 'UTC' - interval '1 day'
                 FROM generate_series(1, 3000) AS n""",
            cls.backend.id, cls.backend.company_id.id, json.dumps({"name": "x" * 200})))
        cls.env.cr.execute("ANALYZE omni_event")
        for index in range(cls.QUEUED):
            cls._omni_store(cls, cls.backend, {"resource": f"burst-{index}", "name": f"b{index}"}, f"burst-{index}")

    def test_claim_reads_a_few_rows_whatever_the_backlog(self):
        statements = []
        execute = sql_db.Cursor.execute

        def recording_execute(cursor, query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and query.code.lstrip().upper().startswith(("SELECT", "SET")):
                statements.append(query)
            return execute(cursor, query, params, log_exceptions)

        with patch.object(sql_db.Cursor, "execute", recording_execute):
            claimed = self.env["omni.event"]._omni_claim(limit=1)
        self.assertEqual(len(claimed), 1)
        touched, plans = 0, []
        for statement in statements:
            if statement.code.lstrip().upper().startswith("SET"):
                self.env.cr.execute(statement)  # planner settings of the claim, replayed in order
                continue
            self.env.cr.execute(SQL("EXPLAIN (ANALYZE, FORMAT JSON) %s", statement))
            plan = self.env.cr.fetchone()[0][0]["Plan"]
            touched += _rows_touched(plan)
            plans.append(f"{_rows_touched(plan)} rows: {' '.join(statement.code.split())[:90]}")
        # The anti-join this replaced compared every queued event with every other one: 90,000
        # rows for 300 queued events. Walking the indexes in order reads a handful.
        self.assertLess(touched, self.QUEUED, f"one claim touched {touched} rows:\n" + "\n".join(plans))
