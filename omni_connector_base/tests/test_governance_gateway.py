"""Gateway policies of the custom API over real HTTP: rate limit (429 + Retry-After, refill,
one bucket in PostgreSQL shared by every cursor), scopes (403), rotation and expiry (401
with the reason), sandbox backends (403). Every refusal body is checked against the
published OpenAPI document. The bucket is also driven over separate real connections
(TestGatewayBucketConnections), and against a real two-worker server in
tests/pure/test_gateway_server.py."""

# TestGatewayBucketConnections commits on connections of its own on purpose; the test
# transaction itself is never committed.
# pylint: disable=invalid-commit

import json
from datetime import timedelta

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import BaseCase, HttpCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import SQL

from .common import OmniTestMixin
from .test_api import EVENTS, OPENAPI_PATH, OPENAPI_URI, ORDERS, order_payload


@tagged("post_install", "-at_install", "omni")
class TestGovernanceGateway(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Gateway storefront", channel="custom")
        cls.key_record, cls.key = cls.env["omni.api.key"]._omni_generate(cls.backend, "Gateway POS")
        cls.openapi = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
        cls.registry_ = Registry().with_resource(
            OPENAPI_URI, Resource.from_contents(cls.openapi, default_specification=DRAFT202012))

    # ------------------------------------------------------------------ helpers

    def _get(self, key=None, event_id=0):
        """GET a (missing) event: cheap, and it passes every gateway check before answering 404."""
        self.env.flush_all()
        url = EVENTS.format(backend_id=self.backend.id, event_id=event_id)
        return self.url_open(url, headers={"Authorization": f"Bearer {key or self.key}"})

    def _post_order(self, key=None, external_id="GW-1"):
        self.env.flush_all()
        return self.url_open(ORDERS.format(backend_id=self.backend.id), method="POST",
                             data=json.dumps(order_payload(external_id=external_id)).encode(),
                             headers={"Authorization": f"Bearer {key or self.key}",
                                      "Content-Type": "application/json"})

    def _check(self, response, status, template=EVENTS, method="get"):
        """Status, JSON body, and the body follows the schema the OpenAPI document declares."""
        self.assertEqual(response.status_code, status, response.text[:300])
        responses = self.openapi["paths"][template][method]["responses"]
        self.assertIn(str(status), responses, f"undeclared {status}")
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        schema = {"$ref": OPENAPI_URI + schema["$ref"]} if "$ref" in schema else schema
        body = response.json()
        errors = list(jsonschema.Draft202012Validator(schema, registry=self.registry_).iter_errors(body))
        self.assertFalse(errors, "; ".join(error.message for error in errors))
        return body

    def _limit(self, per_minute, burst, key=None):
        (key or self.key_record).sudo().write({"rate_limit_per_minute": per_minute, "rate_limit_burst": burst})

    def _tokens(self, key=None):
        self.env.cr.execute(SQL("SELECT tokens FROM omni_api_key_bucket WHERE key_id = %s",
                                (key or self.key_record).id))
        row = self.env.cr.fetchone()
        return row and row[0]

    # ------------------------------------------------------------------ rate limit

    def test_defaults(self):
        self.assertEqual((self.key_record.rate_limit_per_minute, self.key_record.rate_limit_burst), (300, 60))
        self.assertTrue(all(self.key_record[f] for f in (
            "scope_orders_write", "scope_refunds_write", "scope_exchanges_write", "scope_events_read")))
        self.assertEqual(self.backend.api_key_rotation_grace_days, 7)

    def test_burst_then_429_with_retry_after(self):
        self._limit(per_minute=6, burst=3)  # one token every 10 s
        for _attempt in range(3):
            self._check(self._get(), 404)
        response = self._get()
        body = self._check(response, 429)
        self.assertEqual(body["error"], "rate limit exceeded")
        retry_after = int(response.headers["Retry-After"])
        self.assertTrue(1 <= retry_after <= 10, retry_after)
        self.assertGreater(retry_after, 5, "almost a whole token is missing at 1 token / 10 s")
        # A refused POST stores nothing.
        self._check(self._post_order(), 429, ORDERS, "post")
        self.assertFalse(self.env["omni.event"].search([("backend_id", "=", self.backend.id)]))

    def test_bucket_refills(self):
        self._limit(per_minute=6, burst=2)  # one token every 10 s: no refill while draining, even under load
        self._check(self._get(), 404)
        self._check(self._get(), 404)
        self._check(self._get(), 429)
        # 25 s pass (the bucket's clock moved back): 2.5 tokens refill, capped at the burst of 2.
        self.env.cr.execute(SQL("UPDATE omni_api_key_bucket SET refilled_at = refilled_at - interval '25 seconds'"
                                " WHERE key_id = %s", self.key_record.id))
        self._check(self._get(), 404)
        self._check(self._get(), 404)
        self._check(self._get(), 429)
        self.assertLess(self._tokens(), 1)

    def test_bucket_is_shared_by_requests_and_cursors(self):
        """The bucket is a row in PostgreSQL: HTTP requests and other cursors draw from it."""
        self._limit(per_minute=1, burst=4)
        self._check(self._get(), 404)
        self._check(self._get(), 404)
        key = self.key_record.sudo()
        # Two more tokens through the model, each in a transaction (cursor) of its own.
        self.assertEqual(key._omni_take_token(), (True, 0))
        self.assertEqual(key._omni_take_token(), (True, 0))
        allowed, retry_after = key._omni_take_token()
        self.assertFalse(allowed)
        self.assertGreater(retry_after, 50)  # one token per minute, almost a whole one missing
        self._check(self._get(), 429)
        # Another key has its own bucket.
        other, other_full = self.env["omni.api.key"]._omni_generate(self.backend, "Other POS")
        self._check(self._get(key=other_full), 404)
        self.assertEqual(self._tokens(other), other.rate_limit_burst - 1)

    # ------------------------------------------------------------------ scopes

    def test_missing_scope_is_403(self):
        self.key_record.sudo().write({"scope_orders_write": False})
        body = self._check(self._post_order(), 403, ORDERS, "post")
        self.assertEqual(body["scope"], "orders:write")
        self.assertIn("orders:write", body["detail"])
        self.assertFalse(self.env["omni.event"].search([("backend_id", "=", self.backend.id)]))
        self._check(self._get(), 404)  # events:read still granted
        self.key_record.sudo().write({"scope_orders_write": True, "scope_events_read": False})
        self.assertEqual(self._check(self._get(), 403)["scope"], "events:read")
        self._check(self._post_order(), 202, ORDERS, "post")

    # ------------------------------------------------------------------ rotation and expiry

    def test_rotation_grace_then_401_with_reason(self):
        self.backend.api_key_rotation_grace_days = 3
        self._limit(per_minute=30, burst=5)
        self.key_record.sudo().scope_refunds_write = False
        action = self.key_record.action_rotate()
        new_full = action["context"]["default_key"]
        new = self.env["omni.api.key"].browse(action["context"]["default_api_key_id"])
        self.assertEqual(self.key_record.replaced_by_id, new)
        self.assertEqual(self.key_record.grace_until - self.key_record.rotated_at, timedelta(days=3))
        self.assertEqual((new.rate_limit_per_minute, new.rate_limit_burst, new.scope_refunds_write), (30, 5, False))
        # Logged on the backend by prefix, never the value of either key.
        bodies = " ".join(self.backend.message_ids.mapped("body"))
        self.assertIn("rotated", bodies)
        self.assertNotIn(self.key, bodies)
        self.assertNotIn(new_full, bodies)
        # During the grace period both keys work.
        self._check(self._get(), 404)
        self._check(self._get(key=new_full), 404)
        # Grace over: the old key is refused with the reason, the new one goes on.
        self.key_record.sudo().grace_until = fields.Datetime.now() - timedelta(seconds=1)
        body = self._check(self._get(), 401)
        rotated_on = fields.Datetime.to_string(self.key_record.rotated_at)
        self.assertEqual(body["detail"], f"key rotated on {rotated_on} UTC")
        self.assertIn("Bearer", self._get().headers["WWW-Authenticate"])
        self._check(self._get(key=new_full), 404)
        self._check(self._post_order(), 401, ORDERS, "post")
        rejections = self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)])
        self.assertIn("API: key rotated", rejections.mapped("reason"))

    def test_expired_key_is_401(self):
        self.key_record.sudo().expires_at = fields.Datetime.now() + timedelta(hours=1)
        self._check(self._get(), 404)
        self.key_record.sudo().expires_at = fields.Datetime.now() - timedelta(seconds=1)
        self.assertEqual(self._check(self._get(), 401)["detail"], "key expired")
        # A wrong key still learns nothing.
        self.assertEqual(self._check(self._get(key="omk_wrong"), 401), {"error": "unauthorized"})

    # ------------------------------------------------------------------ sandbox (neutralized copy)

    def test_sandbox_backend_refuses_writes_like_the_webhook_intake(self):
        self.backend.sudo().sandbox = True  # what data/neutralize.sql sets on a neutralized copy
        body = self._check(self._post_order(), 403, ORDERS, "post")
        self.assertEqual(body["error"], "sandbox copy: writes refused")
        self.assertFalse(self.env["omni.event"].search([("backend_id", "=", self.backend.id)]))
        self.assertIsNone(self._tokens(), "a refused write spends no token")
        # Even a wrong key gets the sandbox answer first (as a webhook does before its signature).
        self._check(self._post_order(key="omk_wrong"), 403, ORDERS, "post")
        # Reading event statuses stays possible.
        self._check(self._get(), 404)
        self.backend.sudo().sandbox = False
        self._check(self._post_order(), 202, ORDERS, "post")


@tagged("post_install", "-at_install", "omni")
class TestGatewayBucketConnections(BaseCase):
    """The bucket with real, separate connections (what a multi-worker server does).

    The first version hung there: the request held ``FOR UPDATE`` on the key row (its last-use
    touch) while the bucket's first insert, on a second connection, needed ``FOR KEY SHARE`` on
    that row for its foreign key. ``tests/pure/test_gateway_server.py`` runs a real server.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].create({"name": "Bucket connections", "channel": "custom"})
            key, _full = env["omni.api.key"]._omni_generate(backend, "bucket")
            key.write({"rate_limit_per_minute": 1, "rate_limit_burst": 2})
            cls.backend_id, cls.key_id = backend.id, key.id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        super().tearDownClass()

    @classmethod
    def _cursor(cls):
        return sql_db.db_connect(get_db_name()).cursor()  # a real connection, not the test cursor

    def _take(self, cr):
        """What the API controller does: READ COMMITTED, one statement, commit."""
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cr.execute("SET LOCAL lock_timeout = '5s'")  # a wait on a lock fails the test, not hangs it
        result = api.Environment(cr, SUPERUSER_ID, {})["omni.api.key"].browse(self.key_id)._omni_take_token()
        cr.commit()
        return result

    def test_touch_of_a_request_in_flight_does_not_block_the_bucket(self):
        with self._cursor() as request_cr, self._cursor() as other_cr:
            # A request of the key is in flight: it touched the key row and has not committed.
            api.Environment(request_cr, SUPERUSER_ID, {})["omni.api.key"].browse(self.key_id)._omni_touch()
            # Another request (another worker) creates the bucket: its foreign key check must not wait.
            self.assertEqual(self._take(other_cr), (True, 0))
            self.assertEqual(self._take(other_cr), (True, 0))
            allowed, retry_after = self._take(other_cr)
            self.assertFalse(allowed)
            self.assertGreater(retry_after, 50)
            request_cr.rollback()

    def test_two_connections_draw_from_one_bucket(self):
        with self._cursor() as first, self._cursor() as second:
            first.execute("DELETE FROM omni_api_key_bucket WHERE key_id = %s", [self.key_id])
            first.commit()
            self.assertEqual(self._take(first), (True, 0))  # creates the bucket: 2 - 1 tokens
            self.assertEqual(self._take(second), (True, 0))  # the same row, seen from another worker
            self.assertFalse(self._take(first)[0])
            self.assertFalse(self._take(second)[0])
