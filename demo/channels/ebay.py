"""Demo eBay seller (eBay US, USD): orders arrive by polling, payouts through the Finances API.

eBay sends no order webhooks to REST applications: Odoo's poll (``GET /sell/fulfillment/v1/order``,
cron *Omnichannel: poll eBay orders*, every minute in the demo) reads the orders modified since its
checkpoint. Every few minutes eBay pays out the orders Odoo has imported: a ``SUCCEEDED`` payout
whose ``SALE`` transactions carry eBay's final value fee (13.25 % + 0.30), read by the payout
account *[DEMO] eBay payouts* through signed Finances calls, with its bank statement line.
"""

import random
from datetime import date, datetime, timezone
from decimal import Decimal

from ..setup_common import PRODUCTS
from .base import DemoChannel

NAME = "[DEMO] Omni Demo (eBay US)"
PAYOUT_ACCOUNT = "[DEMO] eBay payouts"
SETTLE_AFTER = 10.0  # seconds: an order is paid out once Odoo had time to import it
BUYERS = ["pdx_rosecity_jo", "steelcity_sam", "lakeshore_kim", "desert_dan", "harbor_lee"]


class EbayDemo(DemoChannel):
    key = "ebay"
    label = "eBay"
    simulator = "ebay"

    def configure(self, env, setup, sim):
        from odoo import Command  # noqa: PLC0415 - runs inside Odoo only

        creds = sim["credentials"]
        Backend = env["omni.backend"]
        values = {
            "name": NAME, "channel": "ebay", "company_id": setup["company"].id,
            "warehouse_id": setup["warehouse"].id, "ebay_app_id": creds["app_id"], "ebay_cert_id": creds["cert_id"],
            "ebay_refresh_token": creds["refresh_token"], "ebay_signing_key": creds["signing_key"],
            "ebay_signing_jwe": creds["signing_jwe"], "ebay_api_base_url": sim["url"],
            "ebay_finances_base_url": sim["url"], "ebay_token_url": f"{sim['url']}/identity/v1/oauth2/token",
            "ebay_verification_token": "omni-demo-ebay-verification-token-0123456789",
        }
        backend = Backend.search([("name", "=", NAME)], limit=1)
        if backend:
            backend.write(values)
        else:
            values["marketplace_ids"] = [Command.create({
                "name": "eBay US", "marketplace_ref": "EBAY_US", "currency_id": env.ref("base.USD").id})]
            backend = Backend.create(values)
        cron = env.ref("omni_connector_marketplace.cron_ebay_poll_orders", raise_if_not_found=False)
        if cron:
            cron.write({"interval_number": 1, "interval_type": "minutes", "active": True,
                        "priority": 0})  # first in a cron pass: see demo/setup_common.py
        Account = env["omni.settlement.account"]
        account_values = {"backend_id": backend.id, "bank_journal_id": setup["bank_journal"].id,
                          "auto_import": True, "import_days": 2}
        account = Account.search([("name", "=", PAYOUT_ACCOUNT)], limit=1)
        if account:
            account.write(account_values)
        else:
            defaults = Account._omni_default_values(setup["company"], "ebay", name=PAYOUT_ACCOUNT)
            defaults.update(account_values)
            account = Account.create(defaults)
            account.action_setup_accounts()
        env.cr.commit()
        return {"backend_id": backend.id, "payout_account_id": account.id, "bank_journal_id": setup["bank_journal"].id}

    def traffic(self, runner, info, sim):
        return EbayTraffic(runner, info, sim)


class EbayTraffic:
    def __init__(self, runner, info, sim):
        self.runner, self.info, self.sim = runner, info, sim
        self.module = runner.sim_module("ebay")
        self.unpaid = []  # (order id, total, placed at)

    def order(self, number):
        order_id = f"{number % 100:02d}-{self.runner.seed % 100000:05d}-{number:05d}"
        sku, _name, price, _barcode, _qty = random.choice(PRODUCTS)
        quantity = random.randint(1, 2)
        cost = f"{Decimal(str(price)) * quantity:.2f}"
        order = self.module.make_order(order_id, datetime.now(timezone.utc).replace(microsecond=0),
                                       skus=((sku, quantity, cost),), buyer=random.choice(BUYERS))
        self.sim.add_order(order)
        total = Decimal(order["pricingSummary"]["total"]["value"])
        self.unpaid.append((order_id, total, self.runner.clock()))
        return 200, f"eBay order {order_id} (read by the next poll)"

    def payout(self, number):
        waiting = [entry for entry in self.unpaid if self.runner.clock() - entry[2] >= SETTLE_AFTER]
        if not waiting:
            return None
        imported = {o["omni_external_id"] for o in self.runner.rpc(
            "sale.order", "search_read", [[("omni_backend_id", "=", self.info["backend_id"]),
                                           ("omni_external_id", "in", [entry[0] for entry in waiting])]],
            {"fields": ["omni_external_id"]})}
        ready = [entry for entry in waiting if entry[0] in imported]
        if not ready:
            return None
        for entry in ready:
            self.unpaid.remove(entry)
        now = datetime.now(timezone.utc)
        stamp = self.module.ebay_time(now)
        payout_id = f"66{self.runner.seed % 100000:05d}{number:04d}"
        transactions, net_total = [], Decimal(0)
        for order_id, total, _at in ready:
            fee = (total * Decimal("0.1325") + Decimal("0.30")).quantize(Decimal("0.01"))
            net = total - fee
            net_total += net
            transactions.append({
                "transactionId": order_id, "orderId": order_id, "payoutId": payout_id, "salesRecordReference": "0",
                "transactionType": "SALE", "amount": {"value": str(net), "currency": "USD"},
                "totalFeeBasisAmount": {"value": str(total), "currency": "USD"},
                "totalFeeAmount": {"value": str(fee), "currency": "USD"},
                "orderLineItems": [{"lineItemId": f"{order_id.replace('-', '')}00",
                                    "feeBasisAmount": {"value": str(total), "currency": "USD"},
                                    "marketplaceFees": [{"feeType": "FINAL_VALUE_FEE",
                                                         "amount": {"value": str(fee), "currency": "USD"}}]}],
                "bookingEntry": "CREDIT", "transactionDate": stamp, "transactionStatus": "PAYOUT",
                "paymentsEntity": "eBay Commerce Inc."})
        self.sim.add_payout({
            "payoutId": payout_id, "payoutStatus": "SUCCEEDED", "payoutStatusDescription": "Funds sent",
            "amount": {"value": str(net_total), "currency": "USD"}, "payoutDate": stamp,
            "transactionCount": len(transactions),
            "payoutInstrument": {"instrumentType": "BANK", "nickname": "[DEMO] Bank", "accountLastFourDigits": "4021"},
        }, transactions)
        self.runner.rpc("account.bank.statement.line", "create", [{
            "journal_id": self.info["bank_journal_id"], "amount": float(net_total), "date": date.today().isoformat(),
            "payment_ref": f"EBAY COMMERCE {payout_id}"}])
        return 200, f"eBay payout {payout_id} of {net_total} USD ({len(ready)} orders) + bank line"


CHANNEL = EbayDemo()
