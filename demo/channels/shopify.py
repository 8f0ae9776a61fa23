"""Demo Shopify shop: the simulated shop's variants, the backend bound to them, signed webhooks.

Orders are put in the simulated shop (what the Admin API answers for them) and announced by an
``orders/create`` webhook signed like Shopify; every fourth order is refunded (``refunds/create``)
a little later; the third order sells ``DEMO-BEANIE-RED``, which Odoo does not know (the exception).
"""

import copy
import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ..setup_common import PRODUCTS, UNKNOWN_SKU
from .base import DemoChannel

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shopify"
NAME = "[DEMO] Omni Demo Store (Shopify)"
LOCATION_ID = "65544149001"  # the simulator's default location
CUSTOMERS = [("Jane", "Doe"), ("Max", "Mustermann"), ("Lena", "Fischer"), ("Tom", "Becker"), ("Ada", "Keller")]


class ShopifyDemo(DemoChannel):
    key = "shopify"
    label = "Shopify"
    simulator = "shopify"

    def configure(self, env, setup, sim):
        from odoo import Command  # noqa: PLC0415 - runs inside Odoo only

        creds = sim["credentials"]
        Backend = env["omni.backend"]
        values = {
            "name": NAME,
            "channel": "shopify",
            "company_id": setup["company"].id,
            "warehouse_id": setup["warehouse"].id,
            "webhook_secret": creds["webhook_secret"],
            "shopify_shop_domain": creds["shop_domain"],
            "shopify_access_token": creds["access_token"],
            "shopify_base_url": sim["url"],
        }
        backend = Backend.search([("name", "=", NAME)], limit=1)
        if backend:
            backend.write(values)
        else:
            values["shopify_location_ids"] = [Command.create({
                "name": "Main warehouse", "shopify_location_id": LOCATION_ID, "warehouse_id": setup["warehouse"].id})]
            values["tax_map_ids"] = [Command.create({"rate": 19.0, "price_include": True,
                                                     "tax_id": setup["taxes"]["19_incl"].id})]
            backend = Backend.create(values)
        env.cr.commit()
        return {"backend_id": backend.id, "webhook_secret": creds["webhook_secret"],
                "shop_domain": creds["shop_domain"]}

    def after_start(self, rpc, info):
        """Once Odoo serves and the simulated shop has its variants: the buttons a person clicks
        (register webhooks, import the variants' mapping, push stock), through Odoo's external API."""
        for method in ("action_shopify_register_webhooks", "action_shopify_import_variants",
                       "action_shopify_push_stock"):
            rpc("omni.backend", method, [[info["backend_id"]]])

    def seed(self, sim):
        """Put the demo catalogue in the simulated shop (variants with stock)."""
        if not any(variant["sku"] == PRODUCTS[0][0] for variant in sim.variants):
            new_on_shopify = (UNKNOWN_SKU, "Beanie Red (new on Shopify)", 19.0, "4006381333979", 0)
            for index, (sku, name, _price, barcode, _qty) in enumerate([*PRODUCTS, new_on_shopify]):
                sim.add_variant(sku, barcode=barcode, quantity=0, title=name.replace("[DEMO] ", ""),
                                variant_id=45110000100 + index, inventory_item_id=46220000100 + index)

    def traffic(self, runner, info, sim):
        self.seed(sim)
        return ShopifyTraffic(runner, info, sim)


class ShopifyTraffic:
    def __init__(self, runner, info, sim):
        self.runner, self.info, self.sim = runner, info, sim
        module = runner.sim_module("shopify")
        self.module = module
        self.sender = module.WebhookSender(f"{runner.odoo_url}/omni/webhook/{info['backend_id']}",
                                           info["webhook_secret"], shop_domain=info["shop_domain"])
        self.template = json.loads((FIXTURES / "orders_create.json").read_text(), parse_float=Decimal)
        self.refund_template = json.loads((FIXTURES / "refunds_create.json").read_text(), parse_float=Decimal)
        self.orders = []  # (order id, first line id, line sku, line price)
        self.unknown_sent = False
        self.seed = runner.seed

    def _variant_id(self, sku):
        return next(int(v["legacyResourceId"]) for v in self.sim.variants if v["sku"] == sku)

    def order(self, number):
        order = copy.deepcopy(self.template)
        order_id = 6100000000 + self.seed * 1000 + number
        now = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = now.isoformat().replace("+00:00", "Z")
        first, last = random.choice(CUSTOMERS)
        sku_choices = [p[0] for p in PRODUCTS[:2]]
        unknown = number >= 3 and not self.unknown_sent
        order.update({
            "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#D{order_id % 100000}", "order_number": order_id % 100000, "number": order_id % 100000,
            "created_at": stamp, "updated_at": stamp, "processed_at": stamp,
            "email": f"{first.lower()}.{last.lower()}+{number}@demo.example.com",
            "confirmation_number": f"DEMO{number:05d}", "note": "[DEMO] order from the simulated Shopify shop",
        })
        for customer_key in ("customer",):
            if order.get(customer_key):
                order[customer_key] = dict(order[customer_key], id=7200000000 + number, first_name=first,
                                           last_name=last, email=order["email"])
        for index, line in enumerate(order["line_items"]):
            line["id"] = order_id * 10 + index
            # Shopify's REST id is the GraphQL id's number: the poll must read the same line as the webhook.
            line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
            sku = sku_choices[index % len(sku_choices)]
            if unknown and index == 1:
                sku = UNKNOWN_SKU  # in place of the mug, at the mug's price: a new product on the shop
                line.update(title="Beanie Red", name="Beanie Red", variant_title=None)
            line["sku"] = sku
            line["variant_id"] = self._variant_id(sku)
        for index, line in enumerate(order.get("shipping_lines") or []):
            line["id"] = order_id * 10 + 5 + index
        if unknown:
            self.unknown_sent = True
        rest = json.loads(json.dumps(order, default=str))
        rest["transactions"] = [{
            "id": order_id * 10 + 9, "kind": "sale", "status": "success", "gateway": "shopify_payments",
            "amount": str(order["total_price"]), "currency": order["currency"],
            "authorization": f"ch_demo_shopify_{order_id}", "processed_at": stamp}]
        self.sim.add_order_from_rest(rest)
        status = self.sender.send("orders/create", json.dumps(order, default=float).encode())
        if not unknown:  # the order waiting in the exception queue is not refunded
            first_line = order["line_items"][0]
            self.orders.append((order_id, first_line["id"], first_line["sku"], first_line["tax_lines"]))
        return status, f"Shopify order {order['name']}{' (unknown SKU)' if unknown else ''}"

    def refund(self, number):
        if not self.orders:
            return None
        order_id, line_id, sku, tax_lines = self.orders.pop(0)
        refund = copy.deepcopy(self.refund_template)
        now = (datetime.now(timezone.utc) + timedelta(seconds=1)).replace(microsecond=0).isoformat()
        refund.update({"id": 9700000000 + self.seed * 1000 + number, "order_id": order_id, "created_at": now,
                       "processed_at": now, "note": "[DEMO] Wrong size"})
        for item in refund["refund_line_items"]:
            item.update(id=refund["id"] * 10, line_item_id=line_id)
            item["line_item"] = dict(item["line_item"], id=line_id, sku=sku, variant_id=self._variant_id(sku),
                                     tax_lines=tax_lines)
        for txn in refund["transactions"]:
            txn.update(id=refund["id"] * 10 + 1, order_id=order_id, parent_id=order_id * 10 + 9,
                       authorization=f"ch_demo_shopify_{order_id}")
        status = self.sender.send("refunds/create", json.dumps(refund, default=float).encode())
        return status, f"Shopify refund of order {order_id}"


CHANNEL = ShopifyDemo()
