"""Demo custom storefront: a B2B web shop in USD posting canonical orders to ``/omni/api/v1``.

Its customers pay by card through Stripe: each order carries a Stripe charge id, which the
Stripe demo channel pays out later (``demo/channels/stripe.py``).
"""

import json
import random
from datetime import datetime, timezone
from decimal import Decimal

import requests

from ..setup_common import PRODUCTS
from .base import DemoChannel

NAME = "[DEMO] B2B Web Shop (custom API)"
COMPANIES = ["Acme Office Supplies", "Globex Corp.", "Initech", "Umbrella Retail", "Stark Gifts"]


class CustomApiDemo(DemoChannel):
    key = "custom_api"
    label = "Custom storefront (REST API)"
    simulator = None

    def configure(self, env, setup, sim):
        from odoo import Command  # noqa: PLC0415 - runs inside Odoo only

        Backend = env["omni.backend"]
        backend = Backend.search([("name", "=", NAME)], limit=1)
        if not backend:
            backend = Backend.create({
                "name": NAME, "channel": "custom", "company_id": setup["company"].id,
                "warehouse_id": setup["warehouse"].id,
                "tax_map_ids": [Command.create({"rate": 8.75, "price_include": False,
                                                "tax_id": setup["taxes"]["875_excl"].id})],
            })
        Key = env["omni.api.key"]
        Key.search([("backend_id", "=", backend.id)]).write({"active": False})
        _key, full_key = Key._omni_generate(backend, "[DEMO] storefront key")
        env.cr.commit()
        return {"backend_id": backend.id, "api_key": full_key}

    def traffic(self, runner, info, sim):
        return CustomApiTraffic(runner, info)


class CustomApiTraffic:
    def __init__(self, runner, info):
        self.runner, self.info = runner, info
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {info['api_key']}"

    def order(self, number):
        now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        sku, name, price, _barcode, _qty = random.choice(PRODUCTS)
        quantity = random.randint(1, 4)
        unit = Decimal(str(price))
        net = unit * quantity
        tax = (net * Decimal("0.0875")).quantize(Decimal("0.01"))
        total = net + tax
        external_id = f"B2B-{self.runner.seed}-{number:05d}"
        charge = f"ch_demo_b2b_{self.runner.seed}_{number:05d}"
        company = random.choice(COMPANIES)
        body = {
            "external_id": external_id,
            "name": f"B2B-{number:05d}",
            "currency": "USD",
            "taxes_included": False,
            "created_at": now,
            "updated_at": now,
            "lines": [{"external_id": "L1", "sku": sku, "name": name, "quantity": str(quantity),
                       "unit_price": str(unit), "tax_lines": [{"rate": "0.0875", "amount": str(tax),
                                                              "title": "Sales tax"}]}],
            "customer": {"external_id": f"B2B-C{number % 5}",
                         "email": f"buyer{number % 5}@{company.split()[0].lower()}.demo.example.com",
                         "first_name": "Buyer", "last_name": company},
            "payments": [{"gateway": "stripe", "transaction_id": charge, "amount": str(total), "currency": "USD"}],
            "financial_status": "paid",
            "total": str(total),
            "note": "[DEMO] order posted by the demo storefront",
        }
        response = self.session.post(f"{self.runner.odoo_url}/omni/api/v1/{self.info['backend_id']}/orders",
                                     data=json.dumps(body), headers={"Content-Type": "application/json",
                                                                     "Idempotency-Key": external_id}, timeout=15)
        if response.status_code < 300:
            self.runner.shared.setdefault("stripe_charges", []).append(
                {"charge": charge, "amount": int(total * 100), "order": external_id, "at": self.runner.clock()})
        return response.status_code, f"API order {external_id}"


CHANNEL = CustomApiDemo()
