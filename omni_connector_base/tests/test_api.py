"""The custom-channel REST API, end to end over HTTP, and its API keys.

Every response body is validated against the published OpenAPI document, so the document
and the server cannot drift apart unnoticed.
"""

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import SQL

from ..models.omni_api_key import KEY_PREFIX, hash_key
from .common import OmniTestMixin

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "static" / "api" / "openapi.json"
OPENAPI_URI = "urn:omni:openapi"
ORDERS = "/omni/api/v1/{backend_id}/orders"
REFUNDS = "/omni/api/v1/{backend_id}/refunds"
EVENTS = "/omni/api/v1/{backend_id}/events/{event_id}"


def order_payload(external_id="API-1001", updated_at="2026-11-20T09:14:03Z", **changes):
    """A small valid canonical order, as a storefront would post it."""
    data = {
        "external_id": external_id,
        "name": "#1001",
        "currency": "EUR",
        "taxes_included": True,
        "created_at": "2026-11-20T09:00:00Z",
        "updated_at": updated_at,
        "lines": [{"external_id": "L1", "sku": "MUG-1", "name": "Mug", "quantity": "2", "unit_price": "12.50",
                   "tax_lines": [{"rate": "0.19", "amount": "3.99", "title": "MwSt"}]}],
        "customer": {"external_id": "C7", "email": "jane.doe@example.com", "first_name": "Jane",
                     "last_name": "Doe"},
        "payments": [{"gateway": "stripe", "transaction_id": "ch_1", "amount": "25.00", "currency": "EUR"}],
        "financial_status": "paid",
        "total": "25.00",
    }
    data.update(changes)
    return data


def refund_payload(external_id="R-1", order_external_id="API-1001", **changes):
    data = {
        "external_id": external_id,
        "order_external_id": order_external_id,
        "created_at": "2026-11-22T10:00:00+01:00",
        "currency": "EUR",
        "lines": [{"order_line_external_id": "L1", "quantity": "1", "restock": True, "amount": "12.50",
                   "tax_amount": "2.00"}],
        "amount": "12.50",
        "transactions": [{"gateway": "stripe", "kind": "refund", "amount": "12.50", "currency": "EUR"}],
        "note": "Broken on arrival",
    }
    data.update(changes)
    return data


def with_total(number_text):
    """An order body whose ``total`` is the JSON number written as given (not a string)."""
    return json.dumps(order_payload(total=None)).replace('"total": null', f'"total": {number_text}').encode()


def encode(body):
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


@tagged("post_install", "-at_install", "omni")
class TestCustomApi(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Storefront", channel="custom")
        cls.other_backend = cls._omni_create_backend(cls.env, name="Other storefront", channel="custom")
        cls.test_backend = cls._omni_create_backend(cls.env, name="Diagnostic", channel="test")
        ApiKey = cls.env["omni.api.key"]
        cls.key_record, cls.key = ApiKey._omni_generate(cls.backend, "POS Berlin")
        cls.other_key_record, cls.other_key = ApiKey._omni_generate(cls.other_backend, "Other POS")
        cls.openapi = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
        cls.schema_registry = Registry().with_resource(
            OPENAPI_URI, Resource.from_contents(cls.openapi, default_specification=DRAFT202012))

    # ------------------------------------------------------------------ helpers

    def _url(self, template, backend=None, **values):
        backend_id = backend if isinstance(backend, int) else (backend or self.backend).id
        return template.format(backend_id=backend_id, **values)

    def _post(self, body, template=ORDERS, *, key=None, backend=None, headers=None,
              content_type="application/json"):
        request_headers = {}
        if content_type:
            request_headers["Content-Type"] = content_type
        key = self.key if key is None else key
        if key:
            request_headers["Authorization"] = f"Bearer {key}"
        request_headers.update(headers or {})
        data = body() if callable(body) else encode(body)
        return self.url_open(self._url(template, backend), data=data, headers=request_headers, method="POST")

    def _get_event(self, event_id, key=None, backend=None):
        key = self.key if key is None else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.url_open(self._url(EVENTS, backend, event_id=event_id), headers=headers)

    def _schema(self, template, method, status):
        """The response schema the OpenAPI document declares (fails if the status is undeclared)."""
        responses = self.openapi["paths"][template][method]["responses"]
        self.assertIn(str(status), responses, f"{method.upper()} {template} answered an undeclared {status}")
        content = responses[str(status)]["content"]["application/json"]
        return content["schema"]

    def _validate(self, instance, schema):
        if "$ref" in schema and schema["$ref"].startswith("#"):
            schema = {"$ref": OPENAPI_URI + schema["$ref"]}
        validator = jsonschema.Draft202012Validator(schema, registry=self.schema_registry)
        errors = sorted(validator.iter_errors(instance), key=str)
        self.assertFalse(errors, "; ".join(error.message for error in errors))

    def _check(self, response, status, template=ORDERS, method="post"):
        """Assert the status, a JSON body, and that the body follows the OpenAPI document."""
        self.assertEqual(response.status_code, status, response.text[:500])
        self.assertTrue(response.headers["Content-Type"].startswith("application/json"))
        body = response.json()
        self._validate(body, self._schema(template, method, status))
        return body

    def _events(self, backend=None):
        return self.env["omni.event"].search([("backend_id", "=", (backend or self.backend).id)])

    def _rejections(self):
        return self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)])

    # ------------------------------------------------------------------ intake

    def test_order_is_stored_and_accepted(self):
        orders_before = self.env["sale.order"].search_count([])
        payload = order_payload()
        self._validate(payload, {"$ref": "#/components/schemas/Order"})  # the sample follows the contract
        body = json.dumps(payload, indent=1).encode()
        response = self._post(body, headers={"User-Agent": "storefront/1.0", "X-Request-Id": "req-1"})
        answer = self._check(response, 202)
        self.assertEqual(answer["state"], "pending")
        self.assertIs(answer["duplicate"], False)
        self.assertIn("no-store", response.headers["Cache-Control"])
        self.assertNotIn("session_id", response.headers.get("Set-Cookie", ""))
        event = self._events()
        self.assertEqual(event.ids, [answer["event_id"]])
        self.assertEqual(event.direction, "in")
        self.assertEqual(event.topic, "orders/upsert")
        self.assertEqual(event.resource_model, "sale.order")
        self.assertEqual(event.resource_key, "API-1001")
        self.assertEqual(event.idempotency_key, "order:API-1001:2026-11-20T09:14:03Z")
        self.assertEqual(event.source_ts, datetime(2026, 11, 20, 9, 14, 3))
        self.assertEqual(event._omni_payload_bytes(), body, "the raw body is kept exactly")
        headers = json.loads(event.headers)
        self.assertEqual(headers["X-Request-Id"], "req-1")
        self.assertEqual(headers["X-Omni-Api-Key-Id"], self.key_record.id)
        self.assertNotIn("Authorization", headers)
        self.assertNotIn(self.key, event.headers)
        self.assertEqual(self.env["sale.order"].search_count([]), orders_before, "intake creates no order")

    def test_duplicate_post_is_the_same_event(self):
        first = self._check(self._post(order_payload()), 202)
        second = self._check(self._post(order_payload()), 202)
        self.assertEqual(second["event_id"], first["event_id"])
        self.assertIs(second["duplicate"], True)
        # The same instant in another offset is the same version.
        third = self._check(self._post(order_payload(updated_at="2026-11-20T10:14:03+01:00")), 202)
        self.assertEqual(third["event_id"], first["event_id"])
        self.assertEqual(len(self._events()), 1)
        # An edit (newer updated_at) is a new event of the same order.
        edited = self._check(self._post(order_payload(updated_at="2026-11-20T11:00:00Z", note="edited")), 202)
        self.assertNotEqual(edited["event_id"], first["event_id"])
        self.assertIs(edited["duplicate"], False)
        self.assertEqual(self._events().mapped("resource_key"), ["API-1001", "API-1001"])

    def test_idempotency_key_header_is_respected(self):
        headers = {"Idempotency-Key": "pos-42/attempt 1"}
        first = self._check(self._post(order_payload(), headers=headers), 202)
        event = self._events()
        self.assertEqual(event.idempotency_key, "pos-42/attempt 1")
        again = self._check(self._post(order_payload(), headers=headers), 202)
        self.assertEqual(again["event_id"], first["event_id"])
        self.assertIs(again["duplicate"], True)
        # Without the header, the derived key is another delivery of the same version.
        derived = self._check(self._post(order_payload()), 202)
        self.assertNotEqual(derived["event_id"], first["event_id"])
        # The same key for a different body would lose that body: refused, nothing stored.
        reused = self._check(self._post(order_payload(external_id="API-2"), headers=headers), 422)
        self.assertEqual([f["field"] for f in reused["fields"]], ["Idempotency-Key"])
        reused = self._check(self._post(refund_payload(), REFUNDS, headers=headers), 422, REFUNDS)
        self.assertEqual([f["field"] for f in reused["fields"]], ["Idempotency-Key"])
        for bad in ("x" * 256, "tab\tbed", "café"):
            self._check(self._post(order_payload(), headers={"Idempotency-Key": bad}), 400)
        self.assertEqual(len(self._events()), 2)

    def test_refund_is_stored_behind_its_order(self):
        payload = refund_payload()
        self._validate(payload, {"$ref": "#/components/schemas/Refund"})
        answer = self._check(self._post(payload, REFUNDS), 202, REFUNDS)
        event = self.env["omni.event"].browse(answer["event_id"])
        self.assertEqual(event.topic, "refunds/create")
        self.assertEqual(event.resource_model, "omni.refund", "a refund is not a version of its order")
        self.assertEqual(event.resource_key, "API-1001", "refunds serialize with their order")
        self.assertEqual(event.idempotency_key, "refund:R-1")
        self.assertEqual(event.source_ts, datetime(2026, 11, 22, 9, 0, 0))
        again = self._check(self._post(payload, REFUNDS), 202, REFUNDS)
        self.assertEqual((again["event_id"], again["duplicate"]), (event.id, True))
        # A refund must carry its own id: it is the idempotency key.
        missing = self._check(self._post(refund_payload(external_id=None), REFUNDS), 422, REFUNDS)
        self.assertIn("external_id", [f["field"] for f in missing["fields"]])

    # -------------------------------------------------------------- refusals

    def test_missing_bad_revoked_or_foreign_key_is_401(self):
        cases = {
            "missing": {"key": ""},
            "wrong": {"key": KEY_PREFIX + "not-a-real-key"},
            "other backend": {"key": self.other_key},
            "basic scheme": {"key": "", "headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
            "empty bearer": {"key": "", "headers": {"Authorization": "Bearer "}},
            "huge": {"key": "x" * 5000},
        }
        for label, kwargs in cases.items():
            with self.subTest(label):
                response = self._post(order_payload(), **kwargs)
                body = self._check(response, 401)
                self.assertEqual(body, {"error": "unauthorized"})
                self.assertIn("Bearer", response.headers["WWW-Authenticate"])
        self.key_record.action_revoke()
        self._check(self._post(order_payload()), 401)
        self.assertFalse(self._events(), "nothing is stored without a valid key")
        self.assertFalse(self._events(self.other_backend))
        reasons = set(self._rejections().mapped("reason"))
        self.assertEqual(reasons, {"API: missing key", "API: invalid key"})
        self.assertTrue(all(r.http_status == 401 for r in self._rejections()))
        # The status endpoint is protected the same way.
        self._check(self._get_event(1, key="omk_wrong"), 401, EVENTS, "get")

    def test_bad_json_is_400(self):
        cases = [b"", b"{", b'{"external_id": "A",}', b"NaN", b'{"total": Infinity}', b"\xef\xbb\xbf{}",
                 b"\xff\xfe{\x00}\x00", b"{} trailing", b"'single'"]
        for body in cases:
            with self.subTest(body=body):
                answer = self._check(self._post(body), 400)
                self.assertEqual(answer["error"], "invalid JSON")
                self.assertTrue(answer["detail"])
        form = self._check(self._post(b"a=1", content_type="application/x-www-form-urlencoded"), 400)
        self.assertIn("application/json", form["detail"])
        self.assertFalse(self._events())

    def test_schema_violations_are_422_with_field_paths(self):
        data = order_payload(currency="eur")
        data["lines"][0]["quantity"] = "0"
        answer = self._check(self._post(data), 422)
        self.assertEqual(answer["error"], "validation")
        fields_ = {f["field"] for f in answer["fields"]}
        self.assertEqual(fields_, {"lines[0].quantity", "currency"})
        cases = {
            b"[]": "$",
            b'"order"': "$",
            json.dumps(order_payload(lines=[])).encode(): "lines",
            json.dumps(order_payload(updated_at="2026-11-20T09:14:03")).encode(): "updated_at",
            # exact JSON decimals are accepted, but not exponent forms or too many digits
            with_total("2.5e1"): "total",
            with_total("1" * 40): "total",
            json.dumps(order_payload(name="Mug\x00")).encode(): "name",
            json.dumps(order_payload(external_id="E" * 256)).encode(): "external_id",
        }
        for body, field in cases.items():
            with self.subTest(field=field, body=body[:60]):
                answer = self._check(self._post(body), 422)
                self.assertIn(field, [f["field"] for f in answer["fields"]])
        self._check(self._post(with_total("25.00")), 202)
        self.assertEqual(len(self._events()), 1)

    def test_oversize_body_is_413(self):
        self.backend.webhook_max_bytes = 1024
        body = order_payload(note="x" * 2000)
        self._check(self._post(body), 413)

        def chunks():  # no Content-Length: read up to the limit, never further
            yield b'{"note": "'
            for _i in range(20):
                yield b"x" * 100
            yield b'"}'

        self._check(self._post(chunks), 413)
        self.assertFalse(self._events())
        self.assertEqual(set(self._rejections().mapped("http_status")), {413})
        # Within the limit, the same order is accepted, with or without a Content-Length.
        self.backend.webhook_max_bytes = 4096
        self._check(self._post(lambda: iter([json.dumps(order_payload()).encode()])), 202)
        self._check(self._post(order_payload()), 202)
        self.assertEqual(len(self._events()), 1)

    def test_unknown_inactive_or_non_custom_backend_is_404(self):
        for backend in (999999, self.test_backend.id, 2**40):
            with self.subTest(backend=backend):
                self._check(self._post(order_payload(), backend=backend), 404)
                self._check(self._post(refund_payload(), REFUNDS, backend=backend), 404, REFUNDS)
                self._check(self._get_event(1, backend=backend), 404, EVENTS, "get")
        self.backend.active = False
        self._check(self._post(order_payload()), 404)
        self.assertFalse(self._events())

    def test_wrong_method_is_json_405(self):
        response = self.url_open(self._url(ORDERS), headers={"Authorization": f"Bearer {self.key}"})
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response.json(), {"error": "method not allowed"})
        self.assertEqual(response.headers["Allow"], "POST")
        response = self.url_open(self._url(EVENTS, event_id=1), data=b"{}", method="POST")
        self.assertEqual(response.status_code, 405)

    # ---------------------------------------------------------------- status

    def test_event_status_follows_the_import(self):
        posted = self._check(self._post(order_payload()), 202)
        event_id = posted["event_id"]
        status = self._check(self._get_event(event_id), 200, EVENTS, "get")
        self.assertEqual(status, {"event_id": event_id, "state": "pending", "topic": "orders/upsert",
                                  "sale_order": None, "record": None, "error": None})
        self._omni_run_ready()
        status = self._check(self._get_event(event_id), 200, EVENTS, "get")
        event = self.env["omni.event"].browse(event_id)
        self.assertNotEqual(status["state"], "pending", "the processor picked the event up")
        self.assertEqual(status["state"], event.state)
        if status["state"] == "done":  # with the shared order importer
            order = self.env["sale.order"].browse(event.res_id)
            self.assertEqual(status["sale_order"], order.name)
            self.assertEqual(status["record"],
                             {"model": "sale.order", "id": order.id, "name": order.display_name})
        else:  # without it (or when it refuses), the reason is reported, masked
            self.assertIsInstance(status["error"], str)
            self.assertNotIn("jane.doe@example.com", status["error"])
        # Another backend's key, or another backend's URL, never shows the event.
        foreign = self._get_event(event_id, key=self.other_key, backend=self.other_backend)
        self._check(foreign, 404, EVENTS, "get")
        self._check(self._get_event(event_id, key=self.other_key), 401, EVENTS, "get")
        self._check(self._get_event(999999999), 404, EVENTS, "get")
        self._check(self._get_event(2**62), 404, EVENTS, "get")

    def test_posted_order_becomes_a_sale_order(self):
        """End to end with the shared importer: POST, process, GET names the sale order.

        The one test here that depends on the importer's behaviour (the others only on the API's).
        """
        product = self.env["product.product"].create({"name": "Mug", "default_code": "MUG-1", "type": "consu",
                                                      "list_price": 12.5, "taxes_id": [(5, 0, 0)]})
        currency = self.env.company.currency_id.name
        payload = order_payload(currency=currency, payments=[], financial_status="pending", total="25.00")
        payload["lines"][0]["tax_lines"] = []
        event_id = self._check(self._post(payload), 202)["event_id"]
        self._omni_run_ready()
        status = self._check(self._get_event(event_id), 200, EVENTS, "get")
        event = self.env["omni.event"].browse(event_id)
        self.assertEqual(status["state"], "done", status["error"])
        order = self.env["sale.order"].browse(event.res_id)
        self.assertEqual(order.order_line.product_id, product)
        self.assertEqual(status["sale_order"], order.name)
        self.assertEqual(status["record"], {"model": "sale.order", "id": order.id, "name": order.display_name})
        self.assertIsNone(status["error"])
        # Posting the same version again changes nothing.
        again = self._check(self._post(payload), 202)
        self.assertEqual((again["event_id"], again["state"], again["duplicate"]), (event_id, "done", True))
        # A refund of it becomes a credit note; the status still names the sale order.
        refund = refund_payload(currency=currency, transactions=[])
        refund_id = self._check(self._post(refund, REFUNDS), 202, REFUNDS)["event_id"]
        self._omni_run_ready()
        status = self._check(self._get_event(refund_id), 200, EVENTS, "get")
        self.assertEqual(status["state"], "done", status["error"])
        self.assertEqual(status["sale_order"], order.name)
        credit_note = self.env["account.move"].browse(status["record"]["id"])
        self.assertEqual((status["record"]["model"], credit_note.move_type), ("account.move", "out_refund"))

    def test_event_status_reports_sale_order_and_record(self):
        partner = self.env["res.partner"].create({"name": "Jane Doe", "email": "jane.doe@example.com"})
        order = self.env["sale.order"].create({"partner_id": partner.id})
        order_event = self.env["omni.event"].browse(self._check(self._post(order_payload()), 202)["event_id"])
        order_event.sudo().write({"state": "done", "res_model": "sale.order", "res_id": order.id})
        status = self._check(self._get_event(order_event.id), 200, EVENTS, "get")
        self.assertEqual(status["sale_order"], order.name)
        self.assertEqual(status["record"],
                         {"model": "sale.order", "id": order.id, "name": order.display_name})
        # A refund's record is its credit note; its sale order is the one bound to the order id.
        self.env["omni.binding"]._omni_bind(self.backend, order, "API-1001")
        refund_event = self.env["omni.event"].browse(
            self._check(self._post(refund_payload(), REFUNDS), 202, REFUNDS)["event_id"])
        refund_event.sudo().write({"state": "done", "res_model": "res.partner", "res_id": partner.id})
        status = self._check(self._get_event(refund_event.id), 200, EVENTS, "get")
        self.assertEqual(status["topic"], "refunds/create")
        self.assertEqual(status["sale_order"], order.name)
        self.assertEqual(status["record"]["model"], "res.partner")
        # A failure is reported with personal data masked; a deleted record is simply gone.
        refund_event.sudo().write({"state": "blocked", "last_error": "No customer for jane.doe@example.com",
                                   "res_model": False, "res_id": False})
        status = self._check(self._get_event(refund_event.id), 200, EVENTS, "get")
        self.assertEqual(status["state"], "blocked")
        self.assertIsNone(status["sale_order"])
        self.assertNotIn("jane.doe@example.com", status["error"])
        order_event.sudo().write({"res_id": 999999999})
        status = self._check(self._get_event(order_event.id), 200, EVENTS, "get")
        self.assertIsNone(status["record"])

    # ------------------------------------------------------------ robustness

    def test_junk_never_500(self):
        nested_list = b"[" * 50000 + b"]" * 50000
        nested_object = b'{"a":' * 5000 + b"1" + b"}" * 5000
        order = order_payload()
        junk = [
            b"", b" ", b"null", b"true", b"0", b"-1", b"[]", b"[{}]", b'"str"', b"{}", b"\x00", b"\x00{}",
            b"1e999999", b"9" * 5000, b'{"external_id": null}', b'{"external_id": 1e999999}',
            b'{"lines": [{"quantity": 1e400}]}', b'{"lines": "x"}', b'{"lines": {"0": {}}}',
            b'{"lines": [1, 2]}',
            b'{"name": "\\u0000"}', b'{"name": "\\ud800"}', b'{"\\u0000": 1}', b'{"\\ud800": 1}', b"\xff\xfe",
            '{"name": "Ünïcødé 🎉 ﷽", "external_id": "Ø"}'.encode(), nested_list, nested_object,
            '{"a": "\u2028\u2029"}'.encode(), b'{"a": 1, "a": 2}', json.dumps(order).encode("utf-16"),
            json.dumps(order_payload(external_id=True)).encode(),
            json.dumps(order_payload(external_id={"id": 1})).encode(),
            json.dumps(order_payload(external_id=10**40)).encode(),
            json.dumps(order_payload(external_id="\x00")).encode(),
            json.dumps(order_payload(external_id="\ud800")).encode(),
            json.dumps(order_payload(currency=123)).encode(),
            json.dumps(order_payload(taxes_included="yes")).encode(),
            json.dumps(order_payload(updated_at="not a date")).encode(),
            json.dumps(order_payload(updated_at="2026-13-45T99:99:99Z")).encode(),
            json.dumps(order_payload(updated_at="0000-01-01T00:00:00Z")).encode(),
            json.dumps(order_payload(updated_at="9999-12-31T23:59:59-23:59")).encode(),
            json.dumps(order_payload(customer=[1])).encode(),
            json.dumps(order_payload(note_attributes={"k": 1})).encode(),
            json.dumps(order_payload(tags=[1, None])).encode(),
            json.dumps(order_payload(lines=[{}] * 500)).encode(),
            json.dumps(order_payload(payments=[{"amount": 25.0, "gateway": "x", "currency": "E"}])).encode(),
            with_total("25.0000000000000000000000000000001"),  # floats for money
            with_total("25.5"), with_total("-0.0"), with_total("1E2"), with_total("0.1e-99999"),
            json.dumps(order_payload(name="x" * 200000)).encode(),
            json.dumps(order_payload(external_id="x" * 100000)).encode(),
            json.dumps(refund_payload()).encode(),  # a refund posted as an order
        ]
        self.assertGreater(len(junk), 30)
        for template in (ORDERS, REFUNDS):
            for index, body in enumerate(junk):
                with self.subTest(template=template, index=index, body=body[:40]):
                    response = self._post(body, template)
                    self.assertLess(response.status_code, 500)
                    self._check(response, response.status_code, template)
        odd_requests = [
            {"content_type": "text/plain"},
            {"content_type": None},
            {"content_type": "multipart/form-data; boundary=x"},
            {"headers": {"Idempotency-Key": "é"}},
            {"headers": {"Authorization": "Bearer " + self.key + "\t"}},
            {"headers": {"Content-Encoding": "gzip"}},
        ]
        for index, kwargs in enumerate(odd_requests):
            with self.subTest(odd=index):
                response = self._post(order_payload(external_id=f"ODD-{index}"), **kwargs)
                self.assertLess(response.status_code, 500)
                self.assertIsInstance(response.json(), dict)
        for event_id in (0, 99999999999999999999):
            self.assertLess(self._get_event(event_id).status_code, 500)

    def test_server_failure_is_a_clean_503(self):
        Event = self.env.registry["omni.event"]

        message = "storage down for " + "jane.doe@example.com"  # kept off the raising line

        def explode(*_args, **_kwargs):
            raise RuntimeError(message)

        self.patch(Event, "_omni_store_incoming", explode)
        with self.assertLogs("odoo.addons.omni_connector_base.controllers.api", "ERROR") as logs:
            response = self._post(order_payload())
        body = self._check(response, 503)
        self.assertEqual(body, {"error": "temporarily unavailable"})
        self.assertEqual(response.headers["Retry-After"], "5")
        self.assertNotIn("Traceback", response.text)
        self.assertNotIn("jane.doe@example.com", "\n".join(logs.output))
        self.assertNotIn(self.key, "\n".join(logs.output))

    # ------------------------------------------------------------------- keys

    def test_key_is_hashed_and_never_stored(self):
        self.assertTrue(self.key.startswith(KEY_PREFIX))
        self.assertGreaterEqual(len(self.key), 40)
        self.assertEqual(self.key_record.key_hash, hashlib.sha256(self.key.encode()).hexdigest())
        self.assertEqual(self.key_record.key_hash, hash_key(self.key))
        self.assertEqual(self.key_record.key_prefix, self.key[:8])
        # Use the key (and a wrong one), so every table it could leak into has had its chance.
        self._check(self._post(order_payload()), 202)
        wrong_key = KEY_PREFIX + "guessed-but-wrong"
        self._check(self._post(order_payload(), key=wrong_key), 401)
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"))
        tables = [row[0] for row in self.env.cr.fetchall()]
        self.assertIn("omni_api_key", tables)
        leaks = []
        for secret in (self.key, self.key[8:], wrong_key):
            for table in tables:
                self.env.cr.execute(SQL("SELECT 1 FROM %s t WHERE strpos(t::text, %s) > 0 LIMIT 1",
                                        SQL.identifier(table), secret))
                if self.env.cr.fetchone():
                    leaks.append(table)
        self.assertFalse(leaks, "a full API key is stored in the database")

    def test_wizard_shows_the_key_once(self):
        manager = new_test_user(self.env, "omni_api_manager", groups="omni_connector_base.group_omni_manager")
        backend = self.backend.with_user(manager)
        action = backend.action_new_api_key()
        self.assertEqual(action["res_model"], "omni.api.key.wizard")
        wizard_form = Form(self.env["omni.api.key.wizard"].with_user(manager).with_context(**action["context"]),
                           view="omni_connector_base.view_omni_api_key_wizard_form")
        wizard_form.name = "B2B portal"
        wizard = wizard_form.save()
        shown = wizard.action_generate()
        self.assertFalse(wizard.exists(), "the naming step is not kept")
        full_key = shown["context"]["default_key"]
        key = self.env["omni.api.key"].browse(shown["context"]["default_api_key_id"])
        self.assertEqual((key.name, key.backend_id, key.create_uid), ("B2B portal", self.backend, manager))
        self.assertEqual(key.key_hash, hash_key(full_key))
        show = Form(self.env["omni.api.key.wizard"].with_user(manager).with_context(**shown["context"]),
                    view="omni_connector_base.view_omni_api_key_wizard_show_form")
        self.assertEqual(show.key, full_key, "the full key is shown in the dialog")
        self.assertNotIn("key", {name for name, field in self.env["omni.api.key.wizard"]._fields.items()
                                 if field.store})
        # It works right away, and cannot be obtained again from the key record.
        self._check(self._post(order_payload(), key=full_key), 202)
        self.assertNotIn(full_key, json.dumps(key.with_user(manager).read()[0], default=str))
        fresh = Form(self.env["omni.api.key.wizard"].with_user(manager).with_context(**action["context"]),
                     view="omni_connector_base.view_omni_api_key_wizard_show_form")
        self.assertFalse(fresh.key)
        # The creation is on the backend's chatter, without the key.
        messages = self.backend.message_ids.mapped("body")
        self.assertTrue(any("B2B portal" in str(body) for body in messages))
        self.assertFalse(any(full_key in str(body) for body in messages))
        with self.assertRaises(UserError):
            self.test_backend.action_new_api_key()
        with self.assertRaises(UserError):
            self.env["omni.api.key"]._omni_generate(self.test_backend, "nope")

    def test_revoked_key_fails_for_good(self):
        self._check(self._post(order_payload()), 202)
        self.key_record.action_revoke()
        self.assertFalse(self.key_record.active)
        self._check(self._post(order_payload(external_id="API-2")), 401)
        with self.assertRaises(UserError):
            self.key_record.action_unarchive()
        self.assertIn("revoked", str(self.backend.message_ids[:1].body))
        self.assertNotIn(self.key_record, self.backend.api_key_ids)

    def test_last_used_is_recorded_at_most_once_a_minute(self):
        self.assertFalse(self.key_record.last_used_at)
        self._check(self._post(order_payload()), 202)
        self.key_record.invalidate_recordset(["last_used_at"])
        self.assertTrue(self.key_record.last_used_at)
        recent = fields.Datetime.now() - timedelta(seconds=10)
        self.key_record.sudo().write({"last_used_at": recent})
        self._check(self._post(order_payload()), 202)
        self.key_record.invalidate_recordset(["last_used_at"])
        self.assertEqual(self.key_record.last_used_at, recent)
        old = fields.Datetime.now() - timedelta(minutes=5)
        self.key_record.sudo().write({"last_used_at": old})
        self._check(self._get_event(self._events()[:1].id), 200, EVENTS, "get")
        self.key_record.invalidate_recordset(["last_used_at"])
        self.assertGreater(self.key_record.last_used_at, old)

    def test_key_access_rights(self):
        user = new_test_user(self.env, "omni_api_user", groups="omni_connector_base.group_omni_user")
        with self.assertRaises(AccessError):
            self.env["omni.api.key"].with_user(user).search([])
        manager = new_test_user(self.env, "omni_api_mgr2", groups="omni_connector_base.group_omni_manager")
        ApiKey = self.env["omni.api.key"].with_user(manager)
        self.assertEqual(ApiKey.search([("id", "=", self.key_record.id)]), self.key_record)
        other_company = self.env["res.company"].create({"name": "Other Retail Co"})
        foreign = self._omni_create_backend(self.env, name="Foreign", channel="custom",
                                            company_id=other_company.id)
        foreign_key, _full = self.env["omni.api.key"]._omni_generate(foreign, "Foreign POS")
        self.assertFalse(ApiKey.search([("id", "=", foreign_key.id)]),
                         "keys follow their backend's company")
