"""*Process Now* takes the same claim as the cron: an event another worker holds is not run twice."""

# Real connections of their own commit on purpose; the test transaction itself is never committed.
# pylint: disable=invalid-commit

import json

from odoo import SUPERUSER_ID, api
from odoo.tests import BaseCase, TransactionCase, tagged

from .common import WEBHOOK_SECRET, OmniTestMixin
from .test_concurrency import TestConcurrentWorkers


@tagged("post_install", "-at_install", "omni")
class TestProcessNowClaim(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create(
                {"name": "Process now", "channel": "test", "webhook_secret": WEBHOOK_SECRET})
            body = json.dumps({"resource": "PN1", "name": "process-now-once"}).encode()
            values = backend._omni_webhook_event_values(body, {"X-Omni-Event-Id": "pn-1"}, json.loads(body))
            cls.backend_id = backend.id
            cls.event_id = env["omni.event"]._omni_store_incoming(backend, body, values)[0]
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["res.partner"].search([("name", "=", "process-now-once")]).unlink()
            env["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        super().tearDownClass()

    def test_event_locked_by_a_worker_is_not_processed_again(self):
        with TestConcurrentWorkers._cursor() as worker, TestConcurrentWorkers._cursor() as person:
            worker_env = api.Environment(worker, SUPERUSER_ID, {})
            claimed = worker_env["omni.event"]._omni_claim(limit=1, backend_ids=[self.backend_id])
            self.assertEqual(claimed.ids, [self.event_id], "the cron worker holds the event")
            # A person presses Process Now meanwhile (before: it ran the handler and then waited on the lock).
            person.execute("SET lock_timeout = '3s'")
            person_env = api.Environment(person, SUPERUSER_ID, {})
            event = person_env["omni.event"].browse(self.event_id)
            event.action_process_now()
            person_env.flush_all()
            self.assertEqual((event.state, event.attempts), ("pending", 0))
            self.assertFalse(person_env["res.partner"].search([("name", "=", "process-now-once")]))
            person.rollback()
            # The worker applies it, once.
            claimed._omni_process()
            worker.commit()
        with TestConcurrentWorkers._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            event = env["omni.event"].browse(self.event_id)
            self.assertEqual((event.state, event.attempts), ("done", 1))
            self.assertEqual(env["res.partner"].search_count([("name", "=", "process-now-once")]), 1)


@tagged("post_install", "-at_install", "omni")
class TestProcessNowOrder(OmniTestMixin, TransactionCase):
    def test_process_now_keeps_the_resource_order(self):
        backend = self._omni_create_backend(self.env, name="Process now order")
        head = self._omni_store(backend, {"resource": "PO1", "fail": "business"}, "po-head")
        self._omni_run_ready()
        self.assertEqual(head.state, "blocked")
        follower = self._omni_store(backend, {"resource": "PO1", "name": "second"}, "po-follower")
        action = follower.action_process_now()
        self.assertEqual((follower.state, follower.attempts), ("pending", 0), "never overtakes its blocked head")
        self.assertEqual(head.state, "blocked")
        self.assertIn("waiting for an earlier event", action["params"]["message"], "the person is told why")
        # Once the head is out of the way, Process Now applies it.
        head.exception_ids.action_ignore()
        self.assertIs(follower.action_process_now(), True)
        self.assertEqual(follower.state, "done")
