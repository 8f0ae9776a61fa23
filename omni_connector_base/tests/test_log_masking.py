"""No personal data in the logs: an order failing in an unforeseen way logs its type and stack only."""

import json
import logging
from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from .common import OmniTestMixin
from .test_api import order_payload

EMAIL = "jane.roe@example.org"
FIRST, LAST = "Janelle", "Roeberts"
PHONE = "+49 30 1234 5678"
STREET = "Kastanienallee 77"
CITY = "Wolfsburg-Nord"
PERSONAL = (EMAIL, FIRST, LAST, PHONE, STREET, CITY, "1234 5678", "jane.roe")


class _Collect(logging.Handler):
    """Every record reaching the root logger (Odoo's own loggers included), traceback and all."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@contextmanager
def captured_logs():
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


def personal_order():
    address = {"first_name": FIRST, "last_name": LAST, "street": STREET, "city": CITY, "zip": "38440",
               "country_code": "DE", "phone": PHONE, "email": EMAIL}
    return order_payload(
        external_id="PII-1",
        customer={"external_id": "C-PII", "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE},
        shipping_address=address,
        billing_address=address,
    )


def _explode(_self, _backend, order, *_args, **_kwargs):
    # An unforeseen failure whose message quotes the customer (as a database error may).
    raise ValueError(f"cannot place {order!r}")


@tagged("post_install", "-at_install", "omni")
class TestLogMasking(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="PII shop", channel="custom")

    def assertNoPersonalData(self, lines):
        text = "\n".join(lines)
        for value in PERSONAL:
            self.assertNotIn(value, text)

    def test_processor_logs_no_personal_data(self):
        body = json.dumps(personal_order()).encode()
        values = {"idempotency_key": "pii-1", "topic": "orders/upsert", "resource_model": "sale.order",
                  "resource_key": "PII-1", "source_ts": False}
        Event = self.env["omni.event"]
        event = Event.browse(Event._omni_store_incoming(self.backend, body, values)[0])
        Importer = type(self.env["omni.order.importer"])
        with patch.object(Importer, "_omni_resolve_partners", _explode), captured_logs() as lines, \
                self.assertLogs("odoo.addons.omni_connector_base", "ERROR") as omni_logs:
            self._omni_run_ready()
        self.assertEqual(event.state, "retry")
        self.assertTrue(any("ValueError" in line for line in omni_logs.output), omni_logs.output)
        self.assertNoPersonalData(lines + omni_logs.output)
        self.assertNotIn(EMAIL, event.last_error or "")

    def test_webhook_intake_logs_no_personal_data(self):
        test_backend = self._omni_create_backend(self.env, name="PII webhook")
        body = json.dumps({"resource": "P1", "name": f"{FIRST} {LAST}", "email": EMAIL, "phone": PHONE,
                           "street": STREET, "city": CITY}).encode()
        Event = type(self.env["omni.event"])

        def fail(_self, _backend, raw_body, *_args, **_kwargs):
            raise RuntimeError(raw_body.decode())

        with patch.object(Event, "_omni_store_incoming", fail), captured_logs() as lines, \
                self.assertLogs("odoo.addons.omni_connector_base", "ERROR") as omni_logs:
            response = self.url_open(f"/omni/webhook/{test_backend.id}", data=body,
                                     headers=self._omni_signed_headers(body, event_id="pii-hook"))
        self.assertEqual(response.status_code, 503)
        self.assertTrue(any("RuntimeError" in line for line in omni_logs.output), omni_logs.output)
        self.assertNoPersonalData(lines + omni_logs.output)
