"""The processor as Odoo's cron worker runs it: ``ir.cron._process_job`` on committed events."""

# The cron worker path commits on its own connections by design; the test transaction itself
# is never committed.
# pylint: disable=invalid-commit

import json

from odoo import SUPERUSER_ID, api
from odoo.tests import BaseCase, tagged

from . import test_concurrency
from .common import WEBHOOK_SECRET

EVENTS = 6


@tagged("post_install", "-at_install", "omni")
class TestProcessorCronBudget(BaseCase):
    _cursor = test_concurrency.TestConcurrentWorkers._cursor  # a real connection of its own

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create(
                {"name": "Cron budget", "channel": "test", "webhook_secret": WEBHOOK_SECRET}
            )
            cls.backend_id = backend.id
            for index in range(EVENTS):
                body = json.dumps({"resource": f"budget-{index}", "name": f"budget partner {index}"}).encode()
                values = backend._omni_webhook_event_values(
                    body, {"X-Omni-Event-Id": f"budget-{index}"}, json.loads(body)
                )
                env["omni.event"]._omni_store_incoming(backend, body, values)
            cron = env.ref("omni_connector_base.cron_omni_event_process")
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_progress")
            cls.progress_before = cr.fetchone()[0]
            cls.cron_id = cron.id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["omni.backend"].browse(cls.backend_id).unlink()
            env["res.partner"].search([("name", "=like", "budget partner %")]).unlink()
            cr.commit()
        super().tearDownClass()

    def test_one_cron_run_drains_the_queue_within_its_budget(self):
        """Odoo gives a job a 10 s budget; a run must use it, not stop after each event (which
        paid a new run, its progress record and its commits per event)."""
        with self._cursor() as cr:
            IrCron = api.Environment(cr, SUPERUSER_ID, {}).registry["ir.cron"]
            job = IrCron._acquire_one_job(cr, self.cron_id, include_not_ready=True)
            self.assertTrue(job, "the processor cron is free to run")
            IrCron._process_job(cr, job)
            cr.commit()
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["omni.event"].search([("backend_id", "=", self.backend_id)])
            self.assertEqual(events.mapped("state"), ["done"] * EVENTS)
            runs = env["ir.cron.progress"].search(
                [("cron_id", "=", self.cron_id), ("id", ">", self.progress_before)], order="id"
            )
            self.assertEqual(len(runs), 1, "one run of the job processed every event")
            self.assertEqual((runs.done, runs.remaining), (EVENTS, 0))
