"""Shared set-up of the eBay tests: a real Odoo, the connector's own client and the local
eBay simulator (``tests/simulators/ebay_sim.py``) on 127.0.0.1, only the base URLs changed."""

import copy
import importlib.util
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_PATH = REPO / "tests" / "simulators" / "ebay_sim.py"
FIXTURES = REPO / "tests" / "fixtures" / "ebay"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def load_simulator():
    name = "omni_tests_ebay_sim"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SIMULATOR_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


class EbayCase(OmniTestMixin, AccountTestInvoicingHttpCommon):
    """An eBay backend with its EBAY_US marketplace, wired to a fresh simulator per test."""

    treatment = "tax"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim_module = load_simulator()
        cls.env = cls.env(su=True, context=dict(cls.env.context, omni_no_trigger=True))
        company = cls.env.company
        cls.usd = company.currency_id
        Product = cls.env["product.product"]
        cls.products = {}
        for sku, price in (("HOODIE-BLU-L", 45), ("MUG-CLASSIC", 15), ("TSHIRT-BLK-M", 29)):
            cls.products[sku] = Product.create({
                "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": price,
                "invoice_policy": "order",
                "taxes_id": [Command.clear()]})
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        cls.backend = cls._omni_create_backend(
            cls.env, name="Northwind (eBay)", channel="ebay", company_id=company.id, warehouse_id=cls.warehouse.id,
            ebay_app_id="placeholder", ebay_cert_id="placeholder", ebay_refresh_token="placeholder",
            ebay_verification_token="verification-token-for-the-odoo-tests-0123456789", max_attempts=5,
            ebay_stock_min_interval=10)
        cls.marketplace = cls.env["omni.marketplace"].create({
            "backend_id": cls.backend.id, "name": "eBay US", "marketplace_ref": "EBAY_US",
            "currency_id": cls.usd.id, "collected_tax_treatment": cls.treatment})

    def setUp(self):
        super().setUp()
        self.sim = self.sim_module.EbaySimulator().start()
        self.addCleanup(self.sim.stop)
        self.backend.sudo().write({
            "ebay_app_id": self.sim.app_id, "ebay_cert_id": self.sim.cert_id,
            "ebay_refresh_token": self.sim.refresh_token, "ebay_api_base_url": self.sim.base_url,
            "ebay_finances_base_url": self.sim.base_url, "ebay_token_url": self.sim.token_url,
            "ebay_signing_key": self.sim.signing_private_pem, "ebay_signing_jwe": self.sim.signing_jwe})
        self.backend._omni_reset_client()
        self.addCleanup(self.backend._omni_reset_client)

    # ------------------------------------------------------------------ helpers

    def seed_fixture_orders(self, modified=None):
        for original in fixture("orders.json")["orders"]:
            order = copy.deepcopy(original)
            if modified:
                order["lastModifiedDate"] = modified
            self.sim.add_order(order)

    def make_order(self, order_id, minutes=0, **kwargs):
        order = self.sim_module.make_order(order_id, T0 + timedelta(minutes=minutes), **kwargs)
        self.sim.add_order(order)
        return order

    def poll(self, since=T0):
        self.backend._omni_checkpoint_set("ebay_orders", checkpoint=since.replace(tzinfo=None), overlap_minutes=10)
        return self.backend._ebay_poll_orders()

    def events(self, **domain):
        conditions = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()]
        return self.env["omni.event"].search(conditions, order="id")

    def process(self, limit=500):
        self.env.cr.flush()
        processed = self._omni_run_ready(limit=limit)
        self.env.cr.flush()
        return processed | self._omni_run_ready(limit=limit)

    def sale(self, order_id):
        return self.env["sale.order"].search([("omni_backend_id", "=", self.backend.id),
                                               ("omni_external_id", "=", order_id)])

    def ship(self, picking, quantities=None, tracking="9400100000000000000001", carrier="USPS"):
        picking.write({"ebay_tracking_number": tracking, "ebay_carrier": carrier})
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty if quantities is None else quantities.get(move.product_id, 0)
            move.picked = bool(move.quantity)
        picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")
        return picking

    def stock(self, sku, quantity):
        self.env["stock.quant"]._update_available_quantity(
            self.products[sku], self.warehouse.lot_stock_id, quantity)
