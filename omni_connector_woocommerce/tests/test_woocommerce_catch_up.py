"""The catch-up import ("Import orders modified since…") as Odoo's cron worker runs it: the base's
``_omni_catch_up`` moves the checkpoint back, ``ir.cron._process_job`` runs the poll cron on
committed data, its progress advances page by page, an interruption resumes from the next page,
and nothing is stored twice. The simulated store is reached over loopback by the real library."""

# The cron worker path commits on its own connections by design (the base's TestProcessorCronBudget
# does the same); the test transaction itself is never committed.
# pylint: disable=invalid-commit

import json
from datetime import datetime

from odoo import SUPERUSER_ID, api
from odoo.tests import BaseCase, tagged

from odoo.addons.omni_connector_base.tests import test_concurrency

from ..models.omni_backend import POLL_RESOURCE
from .common import KEY, SECRET, WEBHOOK_SECRET, load_simulator, order_727

ORDERS = 250  # three pages of 100


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceCatchUpCron(BaseCase):
    _cursor = test_concurrency.TestConcurrentWorkers._cursor  # a real connection of its own

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = load_simulator().WooCommerceSimulator(KEY, SECRET).start()
        for index in range(ORDERS):
            cls.sim.add_order(order_727(id=5000 + index, number=str(5000 + index)), notify=False)
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create({
                "name": "Woo catch-up (cron)", "channel": "woocommerce", "webhook_secret": WEBHOOK_SECRET,
                "woocommerce_store_url": cls.sim.base_url, "woocommerce_consumer_key": KEY,
                "woocommerce_consumer_secret": SECRET,
            })
            cls.backend_id = backend.id
            cron = env.ref("omni_connector_woocommerce.cron_woocommerce_poll_orders")
            cls.cron_id = cron.id
            cr.execute("SELECT coalesce(max(id), 0) FROM ir_cron_progress")
            cls.progress_before = cr.fetchone()[0]
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["omni.exception"].search([("backend_id", "=", cls.backend_id)]).unlink()
            env["omni.event"].search([("backend_id", "=", cls.backend_id)]).unlink()
            env["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        cls.sim.stop()
        super().tearDownClass()

    def run_cron(self):
        """One run of the poll job, as the cron worker runs it; returns its progress record's (done, remaining)."""
        with self._cursor() as cr:
            IrCron = api.Environment(cr, SUPERUSER_ID, {}).registry["ir.cron"]
            job = IrCron._acquire_one_job(cr, self.cron_id, include_not_ready=True)
            self.assertTrue(job, "the poll cron is free to run")
            IrCron._process_job(cr, job)
            cr.commit()
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            run = env["ir.cron.progress"].search(
                [("cron_id", "=", self.cron_id), ("id", ">", self.progress_before)], order="id desc", limit=1)
            self.__class__.progress_before = run.id
            return run.done, run.remaining

    def state(self):
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(self.backend_id)
            events = env["omni.event"].search([("backend_id", "=", self.backend_id), ("topic", "=", "order.polled")])
            exceptions = env["omni.exception"].search(
                [("backend_id", "=", self.backend_id), ("state", "=", "open"), ("message", "ilike", "Polling")])
            return {
                "keys": events.mapped("idempotency_key"),
                "resume": backend._omni_poll_resume(POLL_RESOURCE),
                "progress": backend.woocommerce_import_progress,
                "checkpoint": backend.woocommerce_poll_checkpoint,
                "poll_exceptions": len(exceptions),
            }

    def order_pages(self):
        return [(r["query"].get("page"), r["status"]) for r in self.sim.requests if r["path"].endswith("/orders")]

    def test_catch_up_advances_per_page_resumes_after_an_interruption_and_stores_nothing_twice(self):
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(self.backend_id)
            backend.woocommerce_import_since = datetime(2026, 11, 1)
            backend.action_woocommerce_import_since()
            self.assertEqual(backend.catch_up_since, datetime(2026, 11, 1))
            self.assertTrue(env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron_id)]),
                            "the poll cron is triggered")
            cr.commit()

        # The store fails on page 2: the run keeps page 1 (committed, one step of progress) and stops.
        self.sim.inject_fault("500", match=lambda entry: entry["path"].endswith("/orders")
                              and entry["query"].get("page") == "2")
        done, remaining = self.run_cron()
        self.assertEqual(done, 1, "one page read and committed")
        state = self.state()
        self.assertEqual(len(state["keys"]), 100)
        self.assertEqual(state["resume"]["cursor"], 2, "the next run starts at page 2")
        self.assertEqual(state["resume"]["since"], "2026-10-31 23:50:00", "the catch-up's date minus the overlap")
        self.assertIn("1 page(s) read, 100 objects, 100 new; about 2 page(s) to go", state["progress"])
        self.assertEqual(state["poll_exceptions"], 1)
        self.assertEqual(state["checkpoint"], datetime(2026, 11, 1), "the checkpoint moves only at the end")

        # The next run resumes at page 2: two more steps, nothing left, every order stored once.
        done, remaining = self.run_cron()
        self.assertEqual((done, remaining), (2, 0), "pages 2 and 3, one step each")
        self.assertEqual(self.order_pages(), [("1", 200), ("2", 500), ("2", 200), ("3", 200)])
        state = self.state()
        self.assertEqual(len(state["keys"]), ORDERS)
        self.assertEqual(len(set(state["keys"])), ORDERS, "no order stored twice")
        self.assertIsNone(state["resume"])
        self.assertFalse(state["progress"])
        self.assertGreater(state["checkpoint"], datetime(2026, 12, 1), "complete: the checkpoint moved to the start")

        # The same catch-up again reads the three pages and stores nothing.
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["omni.backend"].browse(self.backend_id)._omni_catch_up(datetime(2026, 11, 1))
            cr.commit()
        done, remaining = self.run_cron()
        self.assertEqual((done, remaining), (3, 0))
        self.assertEqual(len(self.state()["keys"]), ORDERS)
        self.assertEqual(json.dumps(self.order_pages()[-3:]), json.dumps([["1", 200], ["2", 200], ["3", 200]]))
