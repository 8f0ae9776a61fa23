"""A refund is never a stale version of its order: it is applied whatever order version came later."""

import json

from odoo.tests import HttpCase, tagged

from .common import OmniTestMixin
from .test_api import EVENTS, ORDERS, REFUNDS, order_payload, refund_payload


@tagged("post_install", "-at_install", "omni")
class TestRefundNotStale(OmniTestMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._omni_create_backend(cls.env, name="Refund storefront", channel="custom")
        cls.key = cls.env["omni.api.key"]._omni_generate(cls.backend, "POS")[1]
        cls.env["product.product"].create({"name": "Mug", "default_code": "MUG-1", "type": "consu",
                                           "list_price": 12.5, "taxes_id": [(5, 0, 0)]})

    def _post(self, template, payload):
        response = self.url_open(template.format(backend_id=self.backend.id), data=json.dumps(payload),
                                 headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        self.assertEqual(response.status_code, 202, response.text)
        return self.env["omni.event"].browse(response.json()["event_id"])

    def _order(self, updated_at):
        payload = order_payload(updated_at=updated_at, currency=self.env.company.currency_id.name, payments=[],
                                financial_status="pending", total="25.00")
        payload["lines"][0]["tax_lines"] = []
        return payload

    def test_refund_older_than_the_last_order_version_is_applied(self):
        first = self._post(ORDERS, self._order("2026-11-20T09:14:03Z"))
        self._omni_run_ready()
        self.assertEqual(first.state, "done", first.last_error)
        # The order changed on the channel after the refund was made (a later edit, a tag...).
        later = self._post(ORDERS, self._order("2026-11-25T08:00:00Z"))
        self._omni_run_ready()
        self.assertEqual(later.state, "done", later.last_error)
        # The refund, created 2026-11-22, reaches Odoo after that later version.
        refund = self._post(REFUNDS, refund_payload(currency=self.env.company.currency_id.name, transactions=[]))
        self._omni_run_ready()
        self.assertEqual(refund.state, "done", refund.last_error)
        self.assertEqual(refund.res_model, "account.move")
        credit_note = self.env["account.move"].browse(refund.res_id)
        self.assertEqual(credit_note.move_type, "out_refund")
        # The status endpoint still names the sale order of a refund.
        status = self.url_open(EVENTS.format(backend_id=self.backend.id, event_id=refund.id),
                               headers={"Authorization": f"Bearer {self.key}"}).json()
        self.assertEqual(status["sale_order"], self.env["sale.order"].browse(first.res_id).name)
