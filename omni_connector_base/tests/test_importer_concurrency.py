"""Two orders of the same new customer imported at the same moment by two workers: one contact."""

# These tests drive their own real database connections (two workers, a crash), so they commit
# on those connections on purpose; the test transaction itself is never committed.
# pylint: disable=invalid-commit

import threading
import time
from decimal import Decimal as D

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from ..canonical import Customer, Line, order_to_dict
from .order_factory import woocommerce_727

EMAIL = "first.time.buyer@example.org"


def _order(external_id):
    return woocommerce_727(
        external_id=external_id,
        name=external_id,
        customer=Customer(email=EMAIL, first_name="First", last_name="Buyer"),
        lines=[
            Line(external_id=f"{external_id}-1", sku="CONC-SKU-1", name="Thing", quantity=D(1), unit_price=D("10.00"))
        ],
        shipping_lines=[],
        fee_lines=[],
        discounts=[],
        payments=[],
        financial_status="pending",
        total_tax=D("0"),
        total=D("10.00"),
    )


@tagged("post_install", "-at_install", "omni")
class TestConcurrentCustomerImport(BaseCase):
    @staticmethod
    def _cursor():
        return sql_db.db_connect(get_db_name()).cursor()

    def setUp(self):
        super().setUp()
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.backend_id = env["omni.backend"].create({"name": "Concurrent import", "channel": "custom"}).id
            env["omni.backend"].browse(self.backend_id).payment_rule_ids.unlink()  # quotations only
            self.product_id = (
                env["product.product"].create({"name": "Thing", "default_code": "CONC-SKU-1", "type": "consu"}).id
            )
            cr.commit()
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(self.backend_id)
            env["sale.order"].search([("omni_backend_id", "=", backend.id)]).unlink()
            partners = env["res.partner"].search([("email", "=", EMAIL)])
            env["omni.partner.key"].search([("partner_id", "in", partners.ids)]).unlink()
            partners.unlink()
            backend.unlink()
            env["product.product"].browse(self.product_id).unlink()
            cr.commit()

    def test_same_new_customer_in_two_workers_gives_one_contact(self):
        import json  # noqa: PLC0415

        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["omni.backend"].browse(self.backend_id)
            body = json.dumps(order_to_dict(_order("C-2"))).encode()
            event_b_id, _new = env["omni.event"]._omni_store_incoming(
                backend,
                body,
                {
                    "idempotency_key": "conc-customer-2",
                    "topic": "orders/upsert",
                    "resource_model": "sale.order",
                    "resource_key": "C-2",
                    "source_ts": False,
                },
            )
            cr.commit()

        outcome = {}

        # The environment is built here: building one takes the registry lock, which the test
        # runner's main thread holds while tests run.
        cr_b = self._cursor()
        env_b = api.Environment(cr_b, SUPERUSER_ID, {})

        def worker_b():
            threading.current_thread().dbname = get_db_name()
            try:
                event = env_b["omni.event"]._omni_claim(limit=1, backend_ids=[self.backend_id])
                outcome["claimed"] = event.id
                event._omni_process()
                outcome["state"] = event.state
                cr_b.commit()
            finally:
                cr_b.close()

        # The refused INSERT is logged by the SQL layer: expected here.
        with self._cursor() as cr_a, mute_logger("odoo.sql_db"):
            env_a = api.Environment(cr_a, SUPERUSER_ID, {})
            backend_a = env_a["omni.backend"].browse(self.backend_id)
            sale_a = env_a["omni.order.importer"]._omni_import_order(backend_a, _order("C-1"))
            env_a.flush_all()
            thread = threading.Thread(target=worker_b)
            thread.start()
            time.sleep(1.0)  # worker B is now waiting on A's uncommitted contact key
            cr_a.commit()
            partner_a = sale_a.partner_id.id
            thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(outcome.get("claimed"), event_b_id)
        self.assertEqual(outcome.get("state"), "retry", "the conflicting worker retries instead of duplicating")

        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            event = env["omni.event"].browse(event_b_id)
            event.next_attempt_at = False
            event._omni_process()
            self.assertEqual(event.state, "done", event.last_error)
            sale_b = env["sale.order"].browse(event.res_id)
            self.assertEqual(sale_b.partner_id.id, partner_a)
            self.assertEqual(env["res.partner"].search_count([("email", "=", EMAIL)]), 1)
            cr.commit()
