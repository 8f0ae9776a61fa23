"""Demo Amazon seller account (Amazon.com, USD, merchant-fulfilled): orders arrive by polling.

Amazon sends no order webhooks to HTTP endpoints: Odoo's poll (``searchOrders``, cron *Amazon: poll
orders*) reads what changed. The demo polls every 2 minutes, which Amazon's usage plan allows
(a burst of 20 calls, then one every 3 minutes), and Amazon only answers for orders updated more
than two minutes ago: an Amazon order shows up in Odoo 3 to 5 minutes after it was placed.
Traffic: orders placed in the simulated SP-API (``UNSHIPPED``, paid).
"""

import random
from datetime import datetime, timezone

from ..setup_common import PRODUCTS
from .base import DemoChannel

NAME = "[DEMO] Omni Demo (Amazon.com)"
MARKETPLACE = "ATVPDKIKX0DER"  # Amazon.com
POLL_MINUTES = 2


class AmazonDemo(DemoChannel):
    key = "amazon"
    label = "Amazon"
    simulator = "amazon"

    def configure(self, env, setup, sim):
        from odoo import Command  # noqa: PLC0415 - runs inside Odoo only

        creds = sim["credentials"]
        Backend = env["omni.backend"]
        values = {
            "name": NAME, "channel": "amazon", "company_id": setup["company"].id,
            "warehouse_id": setup["warehouse"].id, "amazon_region": "na",
            "amazon_lwa_client_id": creds["client_id"], "amazon_lwa_client_secret": creds["client_secret"],
            "amazon_refresh_token": creds["refresh_token"], "amazon_seller_id": creds["seller_id"],
            "amazon_endpoint": sim["url"], "amazon_token_url": f"{sim['url']}/auth/o2/token",
            # merchant-fulfilled only: the demo has no FBA warehouse
            "amazon_sync_fba_inventory": False, "amazon_import_fba": False,
        }
        backend = Backend.search([("name", "=", NAME)], limit=1)
        if backend:
            backend.write(values)
        else:
            values["marketplace_ids"] = [Command.create({
                "name": "Amazon.com", "marketplace_ref": MARKETPLACE, "currency_id": env.ref("base.USD").id})]
            backend = Backend.create(values)
        cron = env.ref("omni_connector_marketplace.cron_amazon_poll_orders", raise_if_not_found=False)
        if cron:
            cron.write({"interval_number": POLL_MINUTES, "interval_type": "minutes", "active": True,
                        "priority": 0})  # first in a cron pass: see demo/setup_common.py
        env.cr.commit()
        return {"backend_id": backend.id}

    def traffic(self, runner, info, sim):
        return AmazonTraffic(runner, info, sim)


class AmazonTraffic:
    def __init__(self, runner, info, sim):
        self.runner, self.info, self.sim = runner, info, sim
        self.module = runner.sim_module("amazon")

    def order(self, number):
        order_id = f"114-{self.runner.seed % 10000000:07d}-{number:07d}"
        now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        sku, _name, price, _barcode, _qty = random.choice(PRODUCTS)
        order = self.module.make_order(
            order_id, sku=sku, quantity=random.randint(1, 2), unit_price=f"{price:.2f}", shipping="4.99",
            created=now, updated=now, buyer_email=f"demo{number}@marketplace.amazon.com")
        self.sim.add_order(order)
        return 200, f"Amazon order {order_id} (read by the next poll)"


CHANNEL = AmazonDemo()
