"""Replaying and processing now are Manager actions, server side: over JSON-2 and JSON-RPC too.

Buttons hidden in a view protect nothing; these tests call the public methods the way any
script can, with an Omnichannel User's API key, and check that nothing changed.
"""

import json
from datetime import datetime, timedelta

from odoo.tests import HttpCase, get_db_name, new_test_user, tagged

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestRpcAccess(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="RPC shop")
        cls.omni_user = new_test_user(cls.env, login="rpc_omni_user", groups="omni_connector_base.group_omni_user")
        cls.omni_manager = new_test_user(
            cls.env, login="rpc_omni_manager", groups="omni_connector_base.group_omni_manager"
        )
        expires = datetime.now() + timedelta(days=0.5)
        cls.user_key = cls.env["res.users.apikeys"].with_user(cls.omni_user)._generate("rpc", "t", expires)
        cls.manager_key = cls.env["res.users.apikeys"].with_user(cls.omni_manager)._generate("rpc", "t", expires)

    def setUp(self):
        super().setUp()
        self.blocked = self._omni_store(self.backend, {"resource": "RPC-1", "fail": "business"}, "rpc-blocked")
        self._omni_run_ready()
        self.assertEqual(self.blocked.state, "blocked")
        self.exception = self.blocked.exception_ids
        self.assertTrue(self.exception)
        self.pending = self._omni_store(self.backend, {"resource": "RPC-2", "name": "Ping"}, "rpc-pending")
        self.assertEqual(self.pending.state, "pending")

    # ------------------------------------------------------------------ callers

    def _json2(self, key, model, method, ids):
        response = self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps({"ids": ids}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                     "X-Odoo-Database": get_db_name()},
        )
        return response.status_code, response.json()

    def _jsonrpc(self, user, key, model, method, ids):
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": [get_db_name(), user.id, key, model, method, [ids]]}}
        response = self.url_open("/jsonrpc", data=json.dumps(body), headers={"Content-Type": "application/json"})
        return response.json()

    def _snapshot(self):
        self.env.invalidate_all()
        triggers = self.env["ir.cron.trigger"].search_count([
            ("cron_id", "=", self.env.ref("omni_connector_base.cron_omni_event_process").id)])
        return (
            [(event.state, event.attempts, event.last_error) for event in self.blocked | self.pending],
            self.exception.state,
            len(self.exception.message_ids),
            triggers,
        )

    def _calls(self):
        return [
            ("omni.event", "action_replay", self.blocked.ids),
            ("omni.event", "action_process_now", self.pending.ids),
            ("omni.exception", "action_retry", self.exception.ids),
            ("omni.backend", "action_process_now", self.backend.ids),
        ]

    # -------------------------------------------------------------------- tests

    def test_user_cannot_replay_or_process_now_over_json2(self):
        before = self._snapshot()
        for model, method, ids in self._calls():
            with self.subTest(model=model, method=method):
                status, body = self._json2(self.user_key, model, method, ids)
                self.assertEqual(status, 403, body)
                self.assertEqual(body["name"], "odoo.exceptions.AccessError", body)
                self.assertEqual(self._snapshot(), before, "nothing changed")

    def test_user_cannot_replay_or_process_now_over_jsonrpc(self):
        before = self._snapshot()
        for model, method, ids in self._calls():
            with self.subTest(model=model, method=method):
                body = self._jsonrpc(self.omni_user, self.user_key, model, method, ids)
                self.assertIn("error", body, body)
                self.assertEqual(body["error"]["data"]["name"], "odoo.exceptions.AccessError", body)
                self.assertEqual(self._snapshot(), before, "nothing changed")

    def test_manager_can_replay_and_process_now_over_json2(self):
        status, body = self._json2(self.manager_key, "omni.event", "action_process_now", self.pending.ids)
        self.assertEqual(status, 200, body)
        self.env.invalidate_all()
        self.assertEqual(self.pending.state, "done")
        status, body = self._json2(self.manager_key, "omni.event", "action_replay", self.blocked.ids)
        self.assertEqual(status, 200, body)
        self.env.invalidate_all()
        self.assertEqual(self.blocked.state, "pending")
