"""Demo Stripe account: pays out the card payments of the custom storefront every few minutes.

Each payout holds one charge balance transaction per storefront order paid since the last payout
(Stripe's fee: 2.9 % + 0.30), and the bank deposit arrives as a bank statement line (created
through Odoo's external API, as a bank feed would) labelled with the payout id.
"""

import time
from datetime import date

from .base import DemoChannel

NAME = "[DEMO] Stripe (B2B Web Shop)"
SETTLE_AFTER = 10.0  # seconds: a charge is paid out once Odoo had time to import its order


class StripeDemo(DemoChannel):
    key = "stripe"
    label = "Stripe payouts"
    simulator = "stripe"

    def configure(self, env, setup, sim):
        storefront = env["omni.backend"].browse(setup["channels"]["custom_api"]["backend_id"])
        Account = env["omni.settlement.account"]
        values = {"stripe_secret_key": sim["credentials"]["api_key"], "stripe_api_base": sim["url"],
                  "bank_journal_id": setup["bank_journal"].id, "backend_id": storefront.id,
                  "auto_import": True, "import_days": 2}
        account = Account.search([("name", "=", NAME)], limit=1)
        if account:
            account.write(values)
        else:
            defaults = Account._omni_default_values(setup["company"], "stripe", name=NAME)
            defaults.update(values)
            account = Account.create(defaults)
            account.action_setup_accounts()
        env.cr.commit()
        return {"payout_account_id": account.id, "bank_journal_id": setup["bank_journal"].id}

    def traffic(self, runner, info, sim):
        return StripeTraffic(runner, info, sim)


class StripeTraffic:
    def __init__(self, runner, info, sim):
        self.runner, self.info, self.sim = runner, info, sim
        self.module = runner.sim_module("stripe")

    def payout(self, number):
        charges = self.runner.shared.setdefault("stripe_charges", [])
        waiting = [c for c in charges if self.runner.clock() - c["at"] >= SETTLE_AFTER]
        if not waiting:
            return None
        # Stripe pays out charges the shop took; the demo pays out those Odoo has imported already
        # (the others wait for the next payout), so every line of the payout has its Odoo payment.
        imported = {p["omni_transaction_id"] for p in self.runner.rpc(
            "account.payment", "search_read", [[("omni_transaction_id", "in", [c["charge"] for c in waiting])]],
            {"fields": ["omni_transaction_id"]})}
        ready = [c for c in waiting if c["charge"] in imported]
        if not ready:
            return None
        for charge in ready:
            charges.remove(charge)
        now = int(time.time())
        payout_id = f"po_demo_{self.runner.seed}_{number:04d}"
        txns = []
        for index, charge in enumerate(ready):
            fee = round(charge["amount"] * 29 / 1000) + 30
            txns.append(self.module.make_balance_transaction(
                f"txn_demo_{self.runner.seed}_{number:04d}_{index:03d}", charge["amount"], fee=fee,
                currency="usd", type_="charge", source=charge["charge"], created=now - 60,
                description=f"[DEMO] {charge['order']}"))
        payout = self.sim.add_payout({"id": payout_id, "created": now, "arrival_date": now}, txns, [
            {"id": c["charge"], "object": "charge", "amount": c["amount"], "amount_captured": c["amount"],
             "currency": "usd", "metadata": {"order_id": c["order"]}, "status": "succeeded", "paid": True,
             "captured": True, "balance_transaction": t["id"], "created": now - 60}
            for c, t in zip(ready, txns, strict=True)])
        amount = payout["amount"] / 100
        self.runner.rpc("account.bank.statement.line", "create", [{
            "journal_id": self.info["bank_journal_id"], "amount": amount, "date": date.today().isoformat(),
            "payment_ref": f"STRIPE PAYOUT {payout_id}"}])
        return 200, f"Stripe payout {payout_id} of {amount:.2f} USD ({len(ready)} charges) + bank line"


CHANNEL = StripeDemo()
