"""Shared set-up of the Shopify connector tests: a real Odoo, the real ``shopifyapp`` client
and the local Shopify simulator (``tests/simulators/shopify_sim.py``) on 127.0.0.1.

Webhooks are posted by the simulator's ``WebhookSender`` (signed like Shopify) through the
test HTTP server to ``/omni/webhook/<id>``; ``_process()`` then runs the event processor in
the test transaction, exactly as the cron does.
"""

import copy
import importlib.util
import json
import sys
import unittest
from decimal import Decimal
from pathlib import Path

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.omni_connector_base.tests.common import OmniTestMixin

REPO = Path(__file__).resolve().parents[2]
SIMULATOR_PATH = REPO / "tests" / "simulators" / "shopify_sim.py"
FIXTURES = REPO / "tests" / "fixtures" / "shopify"

TOKEN = "shpat_odoo_test_token_0123456789"
SECRET = "shopify-app-client-secret-for-odoo-tests"
CLIENT_ID = "shopify-app-client-id"
SHOP = "acme-retail.myshopify.com"
LOCATION = "gid://shopify/Location/65544149001"
ORDER_ID = "5829417091234"
SHIRT_VARIANT, MUG_VARIANT = 45110000011, 45110000021
SHIRT_LINE, MUG_LINE = 14417890001, 14417890002
SALE_TRANSACTION = {
    "id": 7301000001,
    "kind": "sale",
    "status": "success",
    "gateway": "shopify_payments",
    "amount": "70.60",
    "currency": "EUR",
    "authorization": "ch_3SShopifyPayCharge01",
    "processed_at": "2026-11-20T10:14:02+01:00",
}


def load_simulator():
    """The simulator module, loaded by path (it lives beside the addons, not in them)."""
    name = "omni_tests_shopify_sim"
    if name in sys.modules:
        return sys.modules[name]
    if not SIMULATOR_PATH.exists():
        raise unittest.SkipTest(f"Shopify simulator not found at {SIMULATOR_PATH}")
    spec = importlib.util.spec_from_file_location(name, SIMULATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def fixture_bytes(name):
    return (FIXTURES / name).read_bytes()


def fixture(name):
    return json.loads(fixture_bytes(name), parse_float=Decimal)


def dumps(payload):
    """JSON as Shopify writes it: Decimals stay numbers (0.19, 26.1), text amounts stay text."""
    return json.dumps(payload, default=float).encode()


class ShopifyCase(OmniTestMixin, AccountTestInvoicingHttpCommon):
    """A Shopify backend wired to a fresh simulator, with the fixture's products and taxes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sim_module = load_simulator()
        cls.sim_module = sim_module
        cls.env = cls.env(su=True)
        cls.eur = cls.setup_other_currency("EUR", rates=[("2020-01-01", 0.9)])
        company = cls.env.company
        cls.tax_19_incl = cls.env["account.tax"].create(
            {
                "name": "MwSt 19% incl.",
                "amount": 19,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include_override": "tax_included",
                "company_id": company.id,
            }
        )
        Product = cls.env["product.product"]
        cls.shirt = Product.create(
            {
                "name": "Organic T-Shirt Black M",
                "default_code": "TSHIRT-BLK-M",
                "type": "consu",
                "is_storable": True,
                "list_price": 29,
                "taxes_id": [Command.clear()],
            }
        )
        cls.mug = Product.create(
            {
                "name": "Classic Mug",
                "default_code": "MUG-CLASSIC",
                "type": "consu",
                "is_storable": True,
                "list_price": 15,
                "taxes_id": [Command.clear()],
            }
        )
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.backend = cls._omni_create_backend(
            cls.env,
            name="Acme Retail (Shopify)",
            channel="shopify",
            company_id=company.id,
            warehouse_id=cls.warehouse.id,
            webhook_secret=SECRET,
            shopify_shop_domain=SHOP,
            shopify_access_token=TOKEN,
            max_attempts=5,
            shopify_location_ids=[
                Command.create(
                    {"name": "Main warehouse", "shopify_location_id": "65544149001", "warehouse_id": cls.warehouse.id}
                )
            ],
        )
        cls.sender = sim_module.WebhookSender(
            f"{cls.base_url()}/omni/webhook/{cls.backend.id}", SECRET, shop_domain=SHOP
        )
        cls.addClassCleanup(cls.sender.close)

    def setUp(self):
        super().setUp()
        # A fresh simulated shop per test (its state is not rolled back with the database)...
        self.sim = self.sim_module.ShopifySimulator(
            access_token=TOKEN, api_secret=SECRET, client_id=CLIENT_ID, shop_domain=SHOP
        )
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.shirt_variant = self.sim.add_variant(
            "TSHIRT-BLK-M", variant_id=SHIRT_VARIANT, inventory_item_id=46220000011, quantity=0
        )
        self.mug_variant = self.sim.add_variant(
            "MUG-CLASSIC", variant_id=MUG_VARIANT, inventory_item_id=46220000021, quantity=0
        )
        self.backend.sudo().shopify_base_url = self.sim.base_url
        # ... and a fresh client (no cost-bucket knowledge from another test).
        self.backend._shopify_reset_client()
        self.addCleanup(self.backend._shopify_reset_client)

    # ------------------------------------------------------------------ payloads

    @staticmethod
    def order_payload(order_id=ORDER_ID, name="#1042", updated_at=None, **overrides):
        """The fixture order, optionally under another id (line ids stay: they are per order)."""
        payload = copy.deepcopy(fixture("orders_create.json"))
        if order_id != ORDER_ID:
            payload["id"] = int(order_id)
            payload["admin_graphql_api_id"] = f"gid://shopify/Order/{order_id}"
            payload["name"] = name
            for index, line in enumerate(payload["line_items"]):
                line["id"] = int(f"{order_id[-6:]}{index + 1:03d}")
                line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
        if updated_at:
            payload["updated_at"] = updated_at
        payload.update(overrides)
        return payload

    @staticmethod
    def one_shirt(payload):
        """Edit ``payload`` in place: one T-shirt instead of two (totals follow, to the cent)."""
        shirt = payload["line_items"][0]
        shirt.update(quantity=1, current_quantity=1, fulfillable_quantity=1)
        shirt["tax_lines"][0]["price"] = "4.17"
        shirt["discount_allocations"][0]["amount"] = "2.90"
        payload.update(
            total_line_items_price="44.00",
            total_discounts="4.40",
            subtotal_price="39.60",
            total_tax="7.11",
            total_price="44.50",
            current_total_price="44.50",
            current_subtotal_price="39.60",
            current_total_tax="7.11",
        )
        payload["discount_codes"][0]["amount"] = "4.40"
        payload["tax_lines"][0]["price"] = "7.11"
        return payload

    def seed_order(self, payload, transactions=(SALE_TRANSACTION,)):
        """Put the order in the simulated shop (what the API returns for it)."""
        rest = copy.deepcopy(payload)
        rest["transactions"] = [
            dict(tx, amount=str(payload["total_price"])) if tx is SALE_TRANSACTION else tx for tx in transactions
        ]
        return self.sim.add_order_from_rest(json.loads(dumps(rest)))

    # ------------------------------------------------------------------ delivery

    def deliver(self, topic, payload, **kwargs):
        """POST one signed webhook through the HTTP server; return the response's status."""
        body = payload if isinstance(payload, bytes) else dumps(payload)
        return self.post_delivery(self.sender.build(topic, body, **kwargs))

    def post_delivery(self, delivery):
        self.env.cr.flush()
        self.env.cr.clear()
        with self.allow_requests(all_requests=True):
            status = self.sender.deliver(delivery)
        self.env.invalidate_all()
        return status

    def events(self, **domain):
        conditions = [("backend_id", "=", self.backend.id)] + [(k, "=", v) for k, v in domain.items()]
        return self.env["omni.event"].search(conditions, order="id")

    def process(self, limit=500):
        """Queue what the transaction changed (stock) and run the processor like the cron."""
        self.env.cr.flush()
        processed = self._omni_run_ready(limit=limit)
        self.env.cr.flush()
        return processed | self._omni_run_ready(limit=limit)

    def sale_orders(self, external_id=ORDER_ID):
        return self.env["sale.order"].search(
            [("omni_backend_id", "=", self.backend.id), ("omni_external_id", "=", str(external_id))]
        )

    def sim_requests(self, operation, since=0):
        return [r for r in self.sim.requests[since:] if r.get("operation") == operation]

    def ship(self, picking, quantities=None, **tracking):
        """Validate ``picking`` shipping ``quantities`` ({product: qty}, default all); the rest
        goes to a backorder."""
        if tracking:
            picking.write(tracking)
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty if quantities is None else quantities.get(move.product_id, 0)
            move.picked = bool(move.quantity)
        picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")
        return picking
