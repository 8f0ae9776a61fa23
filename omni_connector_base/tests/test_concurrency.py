"""Two real database connections against committed events: the claim is the lease."""

# These tests drive their own real database connections (two workers, a crash), so they commit
# on those connections on purpose; the test transaction itself is never committed.
# pylint: disable=invalid-commit

import json
import logging
import time
from unittest.mock import patch

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import BaseCase, tagged

from ..pipeline.errors import BusinessError
from .common import WEBHOOK_SECRET


@tagged("post_install", "-at_install", "omni")
class TestConcurrentWorkers(BaseCase):
    """Uses committed data and separate connections, like two cron workers or two Odoo nodes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create(
                {"name": "Concurrency", "channel": "test", "webhook_secret": WEBHOOK_SECRET}
            )
            cls.backend_id = backend.id
            Event = env["omni.event"]
            ids = []
            for index in range(6):
                body = json.dumps({"resource": f"R{index}", "name": f"n{index}"}).encode()
                values = backend._omni_webhook_event_values(
                    body, {"X-Omni-Event-Id": f"conc-{index}"}, json.loads(body)
                )
                ids.append(Event._omni_store_incoming(backend, body, values)[0])
            cls.event_ids = ids
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(cls.backend_id)
            partners = env["res.partner"].search([("name", "in", [f"n{i}" for i in range(6)])])
            backend.unlink()
            partners.unlink()
            cr.commit()
        super().tearDownClass()

    @staticmethod
    def _dbname():
        from odoo.tests.common import get_db_name  # noqa: PLC0415

        return get_db_name()

    @classmethod
    def _cursor(cls):
        # A real connection of its own, not the test-mode cursor shared with the test.
        return sql_db.db_connect(cls._dbname()).cursor()

    def _claim(self, cr, limit):
        env = api.Environment(cr, SUPERUSER_ID, {})
        return env["omni.event"]._omni_claim(limit=limit, backend_ids=[self.backend_id])

    def test_two_workers_claim_disjoint_events_and_crash_releases_lease(self):
        with self._cursor() as cr1, self._cursor() as cr2:
            first = self._claim(cr1, 4)
            second = self._claim(cr2, 4)
            self.assertEqual(len(first), 4)
            self.assertEqual(len(second), 2, "SKIP LOCKED: the second worker gets the rest, without waiting")
            self.assertFalse(set(first.ids) & set(second.ids))
            self.assertEqual(set(first.ids) | set(second.ids), set(self.event_ids))
            cr2.rollback()

            # Worker 1 "crashes" mid-event: its connection goes away without a commit.
            crashed_ids = set(first.ids)
            env1 = api.Environment(cr1, SUPERUSER_ID, {})
            env1["res.partner"].create({"name": "half-done work that must vanish"})
            cr1.close()

        with self._cursor() as cr3:
            # Everything is claimable again at once: no "in progress" state to time out.
            reclaimed = self._claim(cr3, 10)
            self.assertEqual(set(reclaimed.ids), set(self.event_ids))
            self.assertTrue(crashed_ids <= set(reclaimed.ids))
            env3 = api.Environment(cr3, SUPERUSER_ID, {})
            self.assertFalse(env3["res.partner"].search([("name", "=", "half-done work that must vanish")]))
            # Now a worker processes them all, committing per event like the cron.
            for event in reclaimed:
                event._omni_process()
            cr3.commit()
            states = set(env3["omni.event"].browse(self.event_ids).mapped("state"))
            self.assertEqual(states, {"done"})

    def test_same_resource_never_runs_twice_at_once(self):
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(self.backend_id)
            Event = env["omni.event"]
            ids = []
            for version in (1, 2):
                body = json.dumps(
                    {"resource": "SAME", "name": f"same-v{version}", "updated_at": f"2026-11-01T10:0{version}:00Z"}
                ).encode()
                values = backend._omni_webhook_event_values(
                    body, {"X-Omni-Event-Id": f"same-{version}"}, json.loads(body)
                )
                ids.append(Event._omni_store_incoming(backend, body, values)[0])
            cr.commit()
        try:
            with self._cursor() as cr1, self._cursor() as cr2:
                claimed1 = self._claim(cr1, 10)
                claimed2 = self._claim(cr2, 10)
                same = set(ids)
                self.assertEqual(len(same & set(claimed1.ids)), 1, "only the head of the resource")
                self.assertFalse(same & set(claimed2.ids), "the follower waits while the head is locked")
                cr1.rollback()
                cr2.rollback()
        finally:
            with self._cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["omni.event"].browse(ids).unlink()
                cr.commit()

    def test_duplicate_racing_its_original_is_a_duplicate_not_an_error(self):
        from ..pipeline.errors import ConcurrentDelivery  # noqa: PLC0415

        body = json.dumps({"resource": "RACE", "name": "race"}).encode()
        values = {"idempotency_key": "race-1", "topic": "test.event", "resource_model": "res.partner",
                  "resource_key": "RACE", "source_ts": False}
        try:
            with self._cursor() as first, self._cursor() as second:
                env1 = api.Environment(first, SUPERUSER_ID, {})
                env2 = api.Environment(second, SUPERUSER_ID, {})
                backend2 = env2["omni.backend"].browse(self.backend_id)
                second.execute("SELECT 1 FROM omni_event LIMIT 1")  # the second request's snapshot starts
                env1["omni.event"]._omni_store_incoming(env1["omni.backend"].browse(self.backend_id), body, values)
                first.commit()
                with self.assertRaises(ConcurrentDelivery):
                    env2["omni.event"]._omni_store_incoming(backend2, body, values)
                second.rollback()
                # Retried with a fresh snapshot (what the channel's retry does), it is a plain duplicate.
                event_id, is_new = env2["omni.event"]._omni_store_incoming(backend2, body, values)
                self.assertFalse(is_new)
                self.assertTrue(event_id)
                second.rollback()
        finally:
            with self._cursor() as cr:
                cr.execute("DELETE FROM omni_event WHERE idempotency_key = 'race-1'")
                cr.commit()


@tagged("post_install", "-at_install", "omni")
class TestApiKeyTouchUnderConcurrency(BaseCase):
    """Two requests with the same key: the one whose snapshot is older must still be served."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create({"name": "Key touch", "channel": "custom"})
            key, _secret = env["omni.api.key"]._omni_generate(backend, "touch")
            cls.backend_id, cls.key_id = backend.id, key.id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with TestConcurrentWorkers._cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        super().tearDownClass()

    def test_touch_after_a_concurrent_touch_does_not_fail_the_request(self):
        with TestConcurrentWorkers._cursor() as older, TestConcurrentWorkers._cursor() as newer:
            older_env = api.Environment(older, SUPERUSER_ID, {})
            key_in_older = older_env["omni.api.key"].browse(self.key_id)
            self.assertFalse(key_in_older.last_used_at)  # the older request's snapshot starts here
            api.Environment(newer, SUPERUSER_ID, {})["omni.api.key"].browse(self.key_id)._omni_touch()
            newer.commit()
            # Before: "could not serialize access due to concurrent update", and the order got a 503.
            key_in_older._omni_touch()
            older_env["res.partner"].create({"name": "the request's own work goes on"})
            older.rollback()


@tagged("post_install", "-at_install", "omni")
class TestOutcomeConflictInCron(BaseCase):
    """Chaos suite: two processor crons recording outcomes that touch the same exception row. The
    later one's UPDATE met "could not serialize access due to concurrent update" after the handler's
    savepoint, the cron run failed with a traceback and the server logged a bad query."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create(
                {"name": "Outcome conflict", "channel": "test", "webhook_secret": WEBHOOK_SECRET})
            body = json.dumps({"resource": "R-outcome", "name": "outcome-conflict partner"}).encode()
            values = backend._omni_webhook_event_values(body, {"X-Omni-Event-Id": "outcome-1"}, json.loads(body))
            event = env["omni.event"].browse(env["omni.event"]._omni_store_incoming(backend, body, values)[0])
            # A first attempt failed and opened an exception; the retry is due now.
            event.sudo().write({"state": "retry", "attempts": 1, "next_attempt_at": fields.Datetime.now()})
            exception = env["omni.exception"]._omni_raise_for_event(event, BusinessError("first attempt failed"))
            cron = env.ref("omni_connector_base.cron_omni_event_process")
            progress = env["ir.cron.progress"].create({"cron_id": cron.id, "remaining": 0, "done": 0})
            cls.backend_id, cls.event_id, cls.exception_id = backend.id, event.id, exception.id
            cls.cron_id, cls.progress_id = cron.id, progress.id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["omni.exception"].browse(cls.exception_id).unlink()
            env["omni.backend"].browse(cls.backend_id).unlink()
            env["res.partner"].search([("name", "=", "outcome-conflict partner")]).unlink()
            env["ir.cron.progress"].browse(cls.progress_id).unlink()
            cr.commit()
        super().tearDownClass()

    def test_conflict_on_the_outcome_is_retried_in_a_new_transaction_without_an_error_line(self):
        with TestConcurrentWorkers._cursor() as worker, TestConcurrentWorkers._cursor() as person:
            registry_backend = type(api.Environment(worker, SUPERUSER_ID, {})["omni.backend"])
            original = registry_backend._omni_handle_event
            handled = []

            def handle_while_a_person_assigns_the_exception(backend, event):
                if not handled:
                    # A person assigns the exception while the cron works on the event: committed after
                    # the cron's transaction began, before it records the outcome.
                    api.Environment(person, SUPERUSER_ID, {})["omni.exception"].browse(self.exception_id).write(
                        {"user_id": SUPERUSER_ID})
                    person.commit()
                handled.append(event.id)
                return original(backend, event)

            context = {"cron_id": self.cron_id, "ir_cron_progress_id": self.progress_id,
                       "cron_end_time": time.monotonic() + 120}
            Event = api.Environment(worker, SUPERUSER_ID, context)["omni.event"]
            with patch.object(registry_backend, "_omni_handle_event", handle_while_a_person_assigns_the_exception), \
                    self.assertLogs("odoo.addons.omni_connector_base.models.omni_event", logging.INFO) as logs, \
                    self.assertNoLogs("odoo.sql_db", level="ERROR"):
                processed = Event._cron_process()
            self.assertIn("met a concurrent change", "\n".join(logs.output))
            self.assertEqual(handled.count(self.event_id), 2, "handled, rolled back, handled again")
            self.assertGreaterEqual(processed, 1)
            worker.commit()
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(env["omni.event"].browse(self.event_id).state, "done")
            exception = env["omni.exception"].browse(self.exception_id)
            self.assertEqual(exception.state, "resolved")
            self.assertEqual(exception.user_id.id, SUPERUSER_ID, "the person's assignment is kept")
            self.assertEqual(exception.occurrence_count, 1, "the event was not counted as failing again")


@tagged("post_install", "-at_install", "omni")
class TestFirstCheckpointUnderConcurrency(BaseCase):
    """Authorization suite: two managers' "Import orders since..." at once on a channel without a
    checkpoint yet; the later one's INSERT met the unique constraint, answered to the person as "The
    operation cannot be completed" (and a server error line), instead of a conflict Odoo retries."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with TestConcurrentWorkers._cursor() as cr:
            cls.backend_id = api.Environment(cr, SUPERUSER_ID, {})["omni.backend"].create(
                {"name": "First checkpoint", "channel": "test"}).id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with TestConcurrentWorkers._cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        super().tearDownClass()

    def test_the_later_one_meets_a_retryable_conflict_and_its_retry_sets_the_checkpoint(self):
        moment = fields.Datetime.now().replace(microsecond=0)
        with TestConcurrentWorkers._cursor() as first, TestConcurrentWorkers._cursor() as second:
            in_first = api.Environment(first, SUPERUSER_ID, {})["omni.backend"].browse(self.backend_id)
            in_second = api.Environment(second, SUPERUSER_ID, {})["omni.backend"].browse(self.backend_id)
            self.assertFalse(in_second._omni_checkpoint("orders"))  # the second request's snapshot starts here
            in_first._omni_checkpoint_set("orders", overlap_minutes=5)
            first.commit()
            # odoo.sql_db logs the conflict (the proof counts it as retried, paired with the retry's line)
            with self.assertLogs("odoo.sql_db", "ERROR"), self.assertRaises(psycopg2.errors.SerializationFailure):
                in_second._omni_checkpoint_set("orders", checkpoint=moment)
            second.rollback()
            in_second.env.invalidate_all()
            in_second._omni_checkpoint_set("orders", checkpoint=moment)  # what Odoo's request retry runs
            second.commit()
            checkpoint = in_second._omni_checkpoint("orders")
            self.assertEqual((checkpoint.checkpoint, checkpoint.overlap_minutes), (moment, 5))
