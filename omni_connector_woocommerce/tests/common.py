"""Shared set-up of the WooCommerce connector tests: a real Odoo, the real ``woocommerce``
library and the local store simulator (``tests/simulators/woocommerce_sim.py``) on 127.0.0.1.

Webhooks are registered in the simulated store and sent by it (signed like WooCommerce)
through the test HTTP server to ``/omni/webhook/<id>``; ``process()`` then runs the event
processor in the test transaction, exactly as the cron does.
"""

import copy
import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path

import requests

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_PATH = REPO / "tests" / "simulators" / "woocommerce_sim.py"
FIXTURES = REPO / "tests" / "fixtures" / "woocommerce"
KEY, SECRET = "ck_odoo_test_0123456789abcdef", "cs_odoo_test_fedcba9876543210"
WEBHOOK_SECRET = "woo-webhook-secret-for-odoo-tests"
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")


def load_simulator():
    """The simulator module, loaded by path (it lives beside the addons, not in them)."""
    name = "omni_tests_woocommerce_sim"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SIMULATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fixture(name="order.json"):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def order_727(**overrides):
    payload = copy.deepcopy(fixture())
    payload.update(overrides)
    return json.loads(json.dumps(payload, default=float))


class WooCase(OmniTestMixin, AccountTestInvoicingHttpCommon):
    """A WooCommerce backend wired to a fresh simulated store, with the fixture's products and tax."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim_module = load_simulator()
        cls.env = cls.env(su=True)
        cls.env["ir.config_parameter"].set_param("web.base.url", cls.base_url())
        company = cls.env.company
        cls.company = company
        Tax = cls.env["account.tax"]
        cls.tax_875 = Tax.create({"name": "CA 8.75%", "amount": 8.75, "amount_type": "percent",
                                  "type_tax_use": "sale", "price_include_override": "tax_excluded",
                                  "company_id": company.id})
        Product = cls.env["product.product"]
        cls.hoodie = Product.create({"name": "Hoodie Blue L", "default_code": "HOODIE-BLU-L", "type": "consu",
                                     "is_storable": True, "list_price": 45, "taxes_id": [Command.clear()]})
        cls.beanie = Product.create({"name": "Beanie", "default_code": "BEANIE-GRY", "type": "consu",
                                     "is_storable": True, "list_price": 20, "taxes_id": [Command.clear()]})
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        cls.stock_location = cls.warehouse.lot_stock_id
        for product in (cls.hoodie, cls.beanie):
            cls.env["stock.quant"]._update_available_quantity(product, cls.stock_location, 50)
        cls.backend = cls._omni_create_backend(
            cls.env,
            name="Woo Store",
            channel="woocommerce",
            company_id=company.id,
            warehouse_id=cls.warehouse.id,
            webhook_secret=WEBHOOK_SECRET,
            woocommerce_store_url="http://127.0.0.1:9",
            woocommerce_consumer_key=KEY,
            woocommerce_consumer_secret=SECRET,
            max_attempts=5,
        )

    def setUp(self):
        super().setUp()
        # A fresh simulated store per test (its state is not rolled back with the database).
        self.sim = self.sim_module.WooCommerceSimulator(KEY, SECRET).start()
        self.addCleanup(self.sim.stop)
        self.backend.sudo().woocommerce_store_url = self.sim.base_url
        self.backend._omni_reset_client()
        self.addCleanup(self.backend._omni_reset_client)
        self.url = f"{self.base_url()}/omni/webhook/{self.backend.id}"

    # ------------------------------------------------------------------ helpers

    def subscribe(self, topics=TOPICS, secret=WEBHOOK_SECRET):
        hooks = [self.sim.add_webhook(topic, self.url, secret) for topic in topics]
        self.send()  # the creation pings
        return hooks

    def send(self):
        """The store sends its pending deliveries to Odoo (through the real HTTP server)."""
        self.env.cr.flush()
        self.env.cr.clear()
        with self.allow_requests(all_requests=True):
            statuses = self.sim.send_pending()
        self.env.invalidate_all()
        return statuses

    def post(self, body, headers):
        self.env.cr.flush()
        self.env.cr.clear()
        with self.allow_requests(all_requests=True):
            response = requests.post(self.url, data=body, headers=headers, timeout=30)
        self.env.invalidate_all()
        return response

    def events(self, **domain):
        conditions = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()]
        return self.env["omni.event"].search(conditions, order="id")

    def process(self, limit=500):
        self.env.cr.flush()
        processed = self._omni_run_ready(limit=limit)
        self.env.cr.flush()
        return processed | self._omni_run_ready(limit=limit)

    def sale_orders(self, external_id="727"):
        return self.env["sale.order"].search(
            [("omni_backend_id", "=", self.backend.id), ("omni_external_id", "=", str(external_id))]
        )

    def open_exceptions(self, text=""):
        return self.env["omni.exception"].search([
            ("backend_id", "=", self.backend.id), ("state", "in", ("open", "assigned")), ("message", "ilike", text),
        ])

    def ship(self, picking, quantities=None, **values):
        if values:
            picking.write(values)
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty if quantities is None else quantities.get(move.product_id, 0)
            move.picked = bool(move.quantity)
        picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")
        return picking
