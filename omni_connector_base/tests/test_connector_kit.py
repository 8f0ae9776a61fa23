"""The connector kit (CONNECTORS.md): checkpoints, outbox batch helpers, the database pause,
the client cache. On the built-in test channel, so no connector is needed."""

from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..pipeline.errors import TransientError
from .common import OmniTestMixin

TOPIC = "stock/set"


@tagged("post_install", "-at_install", "omni")
class TestConnectorKit(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env)
        cls.Event = cls.env["omni.event"].sudo()

    def _outgoing(self, key="r1", topic=TOPIC):
        return self.Event._omni_enqueue_outgoing(self.backend, topic, {"k": key}, resource_key=key)

    # ------------------------------------------------------------ checkpoints

    def test_checkpoint_since_is_checkpoint_minus_overlap_per_resource_type(self):
        backend = self.backend
        self.assertEqual(backend._omni_checkpoint_since("orders"), backend.create_date - timedelta(minutes=10))
        backend._omni_checkpoint_set("orders", checkpoint=datetime(2026, 11, 20, 12, 0), overlap_minutes=15)
        self.assertEqual(backend._omni_checkpoint_since("orders"), datetime(2026, 11, 20, 11, 45))
        backend._omni_checkpoint_advance("orders", datetime(2026, 11, 21, 8, 0))
        backend._omni_checkpoint_advance("refunds", datetime(2026, 11, 21, 9, 0))
        self.assertEqual(backend._omni_checkpoint_since("orders"), datetime(2026, 11, 21, 7, 45), "overlap kept")
        self.assertEqual(backend._omni_checkpoint_since("refunds"), datetime(2026, 11, 21, 8, 50))
        self.assertEqual(sorted(backend.checkpoint_ids.mapped("resource_type")), ["orders", "refunds"])

    def test_run_poll_advances_only_after_success(self):
        backend = self.backend
        backend._omni_checkpoint_set("orders", checkpoint=datetime(2026, 11, 20, 12, 0))
        with patch.object(type(backend), "_omni_poll", side_effect=TransientError("down")), \
                self.assertRaises(TransientError):
            backend._omni_run_poll("orders")
        self.assertEqual(backend._omni_checkpoint("orders").checkpoint, datetime(2026, 11, 20, 12, 0))
        seen = []
        with patch.object(type(backend), "_omni_poll", lambda self, kind, since: seen.append(since) or (0, 0)):
            self.assertEqual(backend._omni_run_poll("orders"), (0, 0))
        self.assertEqual(seen, [datetime(2026, 11, 20, 11, 50)])
        self.assertGreater(backend._omni_checkpoint("orders").checkpoint, datetime(2026, 11, 20, 12, 0))

    def test_default_hooks_refuse_clearly(self):
        custom = self._omni_create_backend(self.env, channel="custom", name="Custom")
        self.assertEqual(custom._omni_register_webhooks(), {"created": 0, "updated": 0, "unchanged": 0})
        with self.assertRaisesRegex(Exception, "no polling backstop"):
            custom._omni_poll("orders", datetime(2026, 1, 1))
        with self.assertRaisesRegex(Exception, "does not push batches"):
            custom._omni_push_outbox_batch(self.Event)

    # ----------------------------------------------------------------- outbox

    def test_enqueue_many_in_one_statement_coalesces_pending_events(self):
        created = self.Event._omni_enqueue_outgoing_many(self.backend, TOPIC, {f"r{n}": {"n": n} for n in range(3)})
        self.assertEqual(created, 3)
        events = self.Event.search([("backend_id", "=", self.backend.id), ("topic", "=", TOPIC)])
        self.assertEqual(sorted(events.mapped("resource_key")), ["r0", "r1", "r2"])
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(events.company_id, self.backend.company_id)
        # r0..r2 are still pending and unclaimed: only r3 is new.
        self.assertEqual(self.Event._omni_enqueue_outgoing_many(self.backend, TOPIC, {"r0": {}, "r3": {}}), 1)
        # An event that was tried once (a worker took it) is not reused: the change gets its own.
        events.filtered(lambda e: e.resource_key == "r1").write({"attempts": 1})
        self.assertEqual(self.Event._omni_enqueue_outgoing_many(self.backend, TOPIC, {"r1": {}}), 1)
        self.assertEqual(self.Event.search_count([("backend_id", "=", self.backend.id), ("topic", "=", TOPIC)]), 5)

    def test_claim_batch_and_finish_many(self):
        first = self._outgoing("a")
        self._outgoing("b")
        self._outgoing("c")
        self._outgoing("a")  # behind the first event of its resource: not ready
        batch = self.Event._omni_claim_batch(self.backend, TOPIC, 10, exclude=first)
        self.assertEqual(sorted(batch.mapped("resource_key")), ["b", "c"])
        batch._omni_finish_many("done")
        self.assertEqual(set(batch.mapped("state")), {"done"})
        self.assertEqual(batch.mapped("attempts"), [1, 1])
        due = fields.Datetime.now() + timedelta(minutes=5)
        first._omni_finish_many("retry", error="later", next_attempt_at=due)
        self.assertEqual((first.state, first.last_error, first.next_attempt_at), ("retry", "later", due))

    # ------------------------------------------------------------------ pause

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event")
    def test_pause_holds_pushes_of_its_scope_in_every_worker(self):
        stock, other = self._outgoing("s1"), self._outgoing("o1", topic="shipment/create")
        calls = []

        def handle(backend, event):
            calls.append(event.topic)

        self.backend._omni_pause(TOPIC, 120, "Channel down")
        self.assertEqual(self.backend.pause_reason, "Channel down")
        self.assertGreater(self.backend.paused_until, fields.Datetime.now())
        with patch.object(type(self.backend), "_omni_handle_event", handle):
            self._omni_run_ready()
        self.assertEqual(calls, ["shipment/create"], "only the paused scope waits")
        self.assertEqual((stock.state, other.state), ("retry", "done"))
        self.assertIn("waiting", stock.last_error)
        self.assertGreaterEqual(stock.next_attempt_at, fields.Datetime.now() + timedelta(seconds=100))
        self.backend._omni_pause("*", 60, "Maintenance")
        self.backend._omni_resume(TOPIC)
        self._omni_make_due(stock)
        with patch.object(type(self.backend), "_omni_handle_event", handle):
            self._omni_run_ready()
        self.assertEqual(stock.state, "retry", "'*' pauses every push")
        self.backend._omni_resume()
        self.assertFalse(self.backend.paused_until)
        self._omni_make_due(stock)
        with patch.object(type(self.backend), "_omni_handle_event", handle):
            self._omni_run_ready()
        self.assertEqual(stock.state, "done")

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event")
    def test_pause_asked_by_a_failing_handler_survives_its_rollback(self):
        first, second = self._outgoing("x1"), self._outgoing("x2")
        calls = []

        def handle(backend, event):
            calls.append(event.id)
            backend.write({"name": "changed by the handler"})  # rolled back with the savepoint
            raise backend._omni_pause_on_error(TransientError("503", retry_after=5), TOPIC, 30, "Push failed")

        with patch.object(type(self.backend), "_omni_handle_event", handle):
            self._omni_run_ready()
        self.assertEqual(calls, [first.id], "the second push waited for the pause")
        self.assertEqual(self.backend.name, "Test channel")
        self.assertEqual(self.backend.pause_reason, "Push failed")
        self.assertEqual((first.state, second.state), ("retry", "retry"))
        pauses = self.env["omni.backend.pause"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(pauses), 1)
        self.assertEqual(self.backend.read(["connection_version"])[0]["connection_version"], 1,
                         "the pause never writes the backend row")

    # ------------------------------------------------------------ client cache

    def test_client_cache_is_rebuilt_when_a_connection_field_changes(self):
        backend = self.backend
        built = []

        class Client:
            closed = False

            def close(self):
                self.closed = True

        def factory():
            built.append(Client())
            return built[-1]

        self.addCleanup(backend._omni_reset_client)
        with patch.object(type(backend), "_omni_connection_fields", lambda self: {"webhook_secret"}):
            first = backend._omni_client(factory)
            self.assertIs(backend._omni_client(factory), first)
            backend.write({"name": "Renamed"})  # not a connection field
            self.assertIs(backend._omni_client(factory), first)
            backend.with_context(omni_client_state=True).write({"webhook_secret": "learnt-by-the-client"})
            self.assertIs(backend._omni_client(factory), first)
            version = backend.connection_version
            backend.write({"webhook_secret": "rotated"})
            self.assertEqual(backend.connection_version, version + 1)
            second = backend._omni_client(factory)
        self.assertIsNot(second, first)
        self.assertTrue(first.closed)
        self.assertEqual(len(built), 2)
