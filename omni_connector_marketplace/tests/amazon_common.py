"""Shared set-up of the Amazon tests: real Odoo, the real ``python-amazon-sp-api`` client through
``lib/amazon_client.py`` and the local SP-API simulator (``tests/simulators/amazon_sim.py``) on
127.0.0.1, with only the endpoint and the LWA token URL changed."""

import copy
import importlib.util
import json
import sys
import unittest
from pathlib import Path

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

from ..lib import amazon_client
from ..models import amazon_backend

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_PATH = REPO / "tests" / "simulators" / "amazon_sim.py"
FIXTURES = REPO / "tests" / "fixtures" / "amazon"
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
FBA_ORDER, FBM_ORDER, FBA_ORDER_2 = "114-1234567-1234567", "114-7654321-7654321", "114-5550001-5550001"


def load_simulator():
    name = "omni_tests_amazon_sim"
    if name in sys.modules:
        return sys.modules[name]
    if not SIMULATOR_PATH.exists():
        raise unittest.SkipTest(f"Amazon simulator not found at {SIMULATOR_PATH}")
    spec = importlib.util.spec_from_file_location(name, SIMULATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def fixture_text(name):
    return (FIXTURES / name).read_text()


class AmazonCase(OmniTestMixin, AccountTestInvoicingCommon):
    """An Amazon seller account (Amazon.com USD, Amazon.de EUR) wired to a fresh simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim_module = load_simulator()
        cls.env = cls.env(su=True)
        cls.usd = cls.env.ref("base.USD")
        cls.eur = cls.setup_other_currency("EUR", rates=[("2020-01-01", 0.9)])
        company = cls.env.company
        cls.tax_19_incl = cls.env["account.tax"].create({
            "name": "MwSt 19% incl.", "amount": 19, "amount_type": "percent", "type_tax_use": "sale",
            "price_include_override": "tax_included", "company_id": company.id})
        Product = cls.env["product.product"]
        cls.products = {}
        for sku, name, price in (("TSHIRT-BLK-M", "Organic T-Shirt", 29), ("MUG-CLASSIC", "Classic Mug", 15),
                                 ("HOODIE-BLU-L", "Hoodie Blue L", 45)):
            cls.products[sku] = Product.create({"name": name, "default_code": sku, "type": "consu",
                                                "is_storable": True, "list_price": price,
                                                "taxes_id": [Command.clear()]})
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        cls.team_us = cls.env["crm.team"].create({"name": "Amazon US"})
        cls.backend = cls._omni_create_backend(
            cls.env, name="Northwind (Amazon)", channel="amazon", company_id=company.id,
            warehouse_id=cls.warehouse.id, max_attempts=5, amazon_region="na",
            amazon_lwa_client_id=cls.sim_module.CLIENT_ID, amazon_lwa_client_secret=cls.sim_module.CLIENT_SECRET,
            amazon_refresh_token=cls.sim_module.REFRESH_TOKEN, amazon_seller_id=cls.sim_module.SELLER_ID,
            amazon_timeout=5)
        cls.us = cls.env["omni.marketplace"].create({
            "backend_id": cls.backend.id, "name": "Amazon.com", "marketplace_ref": US, "currency_id": cls.usd.id,
            "team_id": cls.team_us.id})
        cls.de = cls.env["omni.marketplace"].create({
            "backend_id": cls.backend.id, "name": "Amazon.de", "marketplace_ref": DE, "currency_id": cls.eur.id,
            "prices_include_tax": True})
        # Stock to ship from
        for product in cls.products.values():
            cls.env["stock.quant"]._update_available_quantity(product, cls.warehouse.lot_stock_id, 50)

    def setUp(self):
        super().setUp()
        self.sim = self.sim_module.AmazonSimulator().start()
        self.addCleanup(self.sim.stop)
        self.backend.write({"amazon_endpoint": self.sim.base_url, "amazon_token_url": self.sim.token_url})
        self.backend._omni_reset_client()
        self.addCleanup(self.backend._omni_reset_client)
        amazon_backend.CLIENT_OPTIONS.pop(self.backend.id, None)
        self.addCleanup(amazon_backend.CLIENT_OPTIONS.pop, self.backend.id, None)
        amazon_client._TOKENS.clear()

    # ------------------------------------------------------------------ helpers

    def search_fixture(self, order_id):
        for order in fixture("orders_v2026_search.json")["orders"]:
            if order["orderId"] == order_id:
                return copy.deepcopy(order)
        raise KeyError(order_id)

    def mfn_fixture(self):
        return copy.deepcopy(fixture("order_v2026_get_mfn.json")["order"])

    def poll(self):
        """One poll from the start of time (checkpoint before the fixtures' dates), then process."""
        stored, read = self.backend._amazon_poll_orders()
        self._omni_run_ready()
        return stored, read

    def rewind(self, when="2026-11-01 00:00:00"):
        self.backend._omni_checkpoint_set("amazon_orders", checkpoint=when, overlap_minutes=0)
        self.backend.sudo().amazon_poll_resume = False

    def sale(self, order_id):
        return self.env["sale.order"].search([("omni_backend_id", "=", self.backend.id),
                                              ("omni_external_id", "=", order_id)])

    def events(self, topic=None, **domain):
        search = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()]
        if topic:
            search.append(("topic", "=", topic))
        return self.env["omni.event"].search(search)
