"""What a person sees of a queue that does not move: the event it waits for, a paused channel."""

from odoo.tests import TransactionCase, tagged

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestQueueVisibility(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Queue shop")

    def _blocked_head_and_follower(self):
        head = self._omni_store(self.backend, {"resource": "W1", "fail": "business"}, "wait-head")
        self._omni_run_ready()
        self.assertEqual(head.state, "blocked")
        follower = self._omni_store(self.backend, {"resource": "W1", "name": "second"}, "wait-follower")
        other = self._omni_store(self.backend, {"resource": "W2", "name": "free"}, "wait-other")
        return head, follower, other

    def test_follower_shows_the_event_it_waits_for(self):
        head, follower, other = self._blocked_head_and_follower()
        self.assertEqual(follower.waiting_event_id, head)
        self.assertIn(f"event {head.id}", follower.queue_note)
        self.assertFalse(other.waiting_event_id)
        self.assertFalse(head.waiting_event_id)
        Event = self.env["omni.event"]
        scope = [("backend_id", "=", self.backend.id)]
        self.assertEqual(Event.search([*scope, ("waiting_event_id", "!=", False)]), follower)
        self.assertEqual(Event.search([*scope, ("waiting_event_id", "=", head.id)]), follower)
        self.assertEqual(Event.search([*scope, ("waiting_event_id", "=", False)]), head | other)
        # The search view offers the filter.
        arch = Event.get_view(self.env.ref("omni_connector_base.view_omni_event_search").id, "search")["arch"]
        self.assertIn('name="filter_waiting"', arch)
        self.assertIn('name="filter_paused"', arch)
        # Once the head is out of the way the follower flows and shows nothing any more.
        head.exception_ids.action_ignore()
        follower.invalidate_recordset(["waiting_event_id", "queue_note"])  # computed on display, not stored
        self.assertFalse(follower.waiting_event_id)
        self.assertIn(follower, self._omni_run_ready())

    def test_events_of_an_archived_backend_are_paused_and_resume(self):
        event = self._omni_store(self.backend, {"resource": "P1", "name": "paused"}, "paused-1")
        self.backend.action_archive()
        self.assertTrue(event.is_paused)
        self.assertIn("archived", event.queue_note)
        Event = self.env["omni.event"]
        self.assertEqual(Event.search([("backend_id", "=", self.backend.id), ("is_paused", "=", True)]), event)
        self.assertFalse(self._omni_run_ready(), "nothing of a paused channel is processed")
        cron = self.env.ref("omni_connector_base.cron_omni_event_process")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.backend.action_unarchive()
        self.assertFalse(event.is_paused)
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
                        "reactivating the channel wakes the processor")
        self.assertIn(event, self._omni_run_ready())
        self.assertEqual(event.state, "done")
