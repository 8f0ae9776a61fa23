"""Demo WooCommerce store (USD, 8.75 % sales tax on top): orders arrive by the store's signed webhooks.

Set-up in Odoo: the backend with the simulated store's REST keys and the webhook secret. Once Odoo
serves, the buttons a person clicks: *Register Webhooks* (the store then points ``order.*`` at
``/omni/webhook/<id>``), *Import Products* (binds the store's products by SKU) and *Push Stock*.
Traffic: an order is saved in the simulated store, which sends its ``order.created`` delivery at
once (WooCommerce's Action Scheduler), signed ``X-WC-Webhook-Signature``. The 5-minute poll is the
backstop (and checks the webhooks stay active).
"""

import random
from datetime import datetime, timezone
from decimal import Decimal

from ..setup_common import PRODUCTS
from .base import DemoChannel

NAME = "[DEMO] Omni Demo Woo Store (WooCommerce)"
RATE = Decimal("0.0875")
SHIPPING = Decimal("5.00")
CUSTOMERS = [("Olivia", "Nguyen", "Sacramento"), ("Liam", "Garcia", "San Jose"), ("Emma", "Chen", "Oakland"),
             ("Noah", "Patel", "Fresno"), ("Mia", "Lopez", "Santa Cruz")]


def _cents(value):
    return value.quantize(Decimal("0.01"))


class WooCommerceDemo(DemoChannel):
    key = "woocommerce"
    label = "WooCommerce"
    simulator = "woocommerce"

    def configure(self, env, setup, sim):
        from odoo import Command  # noqa: PLC0415 - runs inside Odoo only

        creds = sim["credentials"]
        Backend = env["omni.backend"]
        values = {
            "name": NAME, "channel": "woocommerce", "company_id": setup["company"].id,
            "warehouse_id": setup["warehouse"].id, "webhook_secret": creds["webhook_secret"],
            "woocommerce_store_url": sim["url"], "woocommerce_consumer_key": creds["consumer_key"],
            "woocommerce_consumer_secret": creds["consumer_secret"],
        }
        backend = Backend.search([("name", "=", NAME)], limit=1)
        if backend:
            backend.write(values)
        else:
            values["tax_map_ids"] = [Command.create({"rate": 8.75, "price_include": False,
                                                     "tax_id": setup["taxes"]["875_excl"].id})]
            backend = Backend.create(values)
        env.cr.commit()
        return {"backend_id": backend.id}

    def after_start(self, rpc, info):
        for method in ("action_woocommerce_register_webhooks", "action_woocommerce_import_products",
                       "action_woocommerce_push_stock"):
            rpc("omni.backend", method, [[info["backend_id"]]])

    def seed(self, sim):
        """The demo catalogue in the simulated store (simple products, stock set by Odoo's push)."""
        known = {product["sku"] for product in sim.products.values()}
        for index, (sku, name, _price, _barcode, _qty) in enumerate(PRODUCTS):
            if sku not in known:
                sim.add_product(sku, stock=0, product_id=9300 + index, name=name.replace("[DEMO] ", ""))

    def traffic(self, runner, info, sim):
        self.seed(sim)
        return WooCommerceTraffic(runner, info, sim)


class WooCommerceTraffic:
    def __init__(self, runner, info, sim):
        self.runner, self.info, self.sim = runner, info, sim
        self.product_ids = {product["sku"]: product["id"] for product in sim.products.values()}

    def order(self, number):
        order_id = 300000 + (self.runner.seed % 10000) * 1000 + number
        now = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
        sku, name, price, _barcode, _qty = random.choice(PRODUCTS)
        quantity = random.randint(1, 3)
        subtotal = _cents(Decimal(str(price)) * quantity)
        line_tax = _cents(subtotal * RATE)
        shipping_tax = _cents(SHIPPING * RATE)
        total = subtotal + line_tax + SHIPPING + shipping_tax
        first, last, city = random.choice(CUSTOMERS)
        email = f"{first.lower()}.{last.lower()}@woo.demo.example.com"
        address = {"first_name": first, "last_name": last, "company": "", "address_1": "100 Demo Street",
                   "address_2": "", "city": city, "state": "CA", "postcode": "95814", "country": "US"}
        order = {
            "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_demo{order_id}",
            "created_via": "checkout", "version": "9.4.2", "status": "processing", "currency": "USD",
            "prices_include_tax": False, "date_created": stamp, "date_created_gmt": stamp,
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": str(SHIPPING),
            "shipping_tax": str(shipping_tax), "cart_tax": str(line_tax), "total": str(total),
            "total_tax": str(line_tax + shipping_tax), "customer_id": 0,
            "customer_note": "[DEMO] order from the simulated WooCommerce store",
            "billing": dict(address, email=email, phone="(555) 555-0100"), "shipping": dict(address, phone=""),
            "payment_method": "stripe", "payment_method_title": "Credit Card (Stripe)",
            "transaction_id": f"ch_demo_woo_{order_id}", "date_paid": stamp, "date_paid_gmt": stamp,
            "date_completed": None, "meta_data": [],
            "line_items": [{
                "id": order_id * 10 + 1, "name": name.replace("[DEMO] ", ""),
                "product_id": self.product_ids.get(sku, 0), "variation_id": 0, "quantity": quantity,
                "tax_class": "", "subtotal": str(subtotal), "subtotal_tax": str(line_tax), "total": str(subtotal),
                "total_tax": str(line_tax), "taxes": [{"id": 1, "total": str(line_tax), "subtotal": str(line_tax)}],
                "meta_data": [], "sku": sku, "price": float(price)}],
            "tax_lines": [{"id": order_id * 10 + 2, "rate_code": "US-CA-STATE TAX-1", "rate_id": 1,
                           "label": "CA State Tax", "compound": False, "tax_total": str(line_tax),
                           "shipping_tax_total": str(shipping_tax), "rate_percent": 8.75, "meta_data": []}],
            "shipping_lines": [{"id": order_id * 10 + 3, "method_title": "Flat rate", "method_id": "flat_rate",
                                "instance_id": "2", "total": str(SHIPPING), "total_tax": str(shipping_tax),
                                "taxes": [{"id": 1, "total": str(shipping_tax), "subtotal": ""}], "meta_data": []}],
            "fee_lines": [], "coupon_lines": [], "refunds": [],
        }
        self.sim.add_order(order)  # queues order.created for the store's active webhooks
        statuses = self.sim.send_pending()  # the store's Action Scheduler sends them now
        status = statuses[-1] if statuses else "no webhook"
        return status, f"WooCommerce order #{order_id} (webhook)"


CHANNEL = WooCommerceDemo()
