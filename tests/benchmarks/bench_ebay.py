#!/usr/bin/env python3
"""eBay connector benchmark: the connector's own client against the local eBay simulator, in a
real Odoo 19 database (in-process registry, the simulator on 127.0.0.1 in a thread).

1. **Polling** ``--orders`` (5,000) orders modified in the window: one ``_ebay_poll_orders``
   (``getOrders`` pages of 200, encoded filter, ``TAX_BREAKDOWN``), every version stored through
   the intake. Reported: API calls (token included), seconds, orders/s read and stored; then a
   second poll over the overlap (must store 0).
2. **Import** the first ``--import-orders`` of them through the processor (the shared importer:
   confirmed, invoiced, payment registered). Reported: seconds, orders/s.
3. **Payout** of ``--transactions`` (20,000) Finances transactions (SALE of the imported orders,
   then SALE, SHIPPING_LABEL and NON_SALE_CHARGE of others): fetch (signed ``getPayouts`` and
   ``getTransactions`` pages of 1,000) + map, import (``_omni_import_settlement``: store and first
   match), and a second ``_omni_match``. Reported: seconds per step, lines, lines matched.

The database must have ``omni_connector_marketplace`` installed (``--db``); the script creates its
own backend and leaves the data (use a copy: ``createdb -T <db> ebay_bench``).

    python3 tests/benchmarks/bench_ebay.py --db ebay_bench --orders 5000 --import-orders 300 \\
        --transactions 20000
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _addons_path():
    import odoo.release  # noqa: PLC0415

    package = Path(odoo.release.__file__).parent
    paths = [p for p in (package / "addons", package.parent / "addons") if p.exists()]
    return ",".join([*map(str, paths), str(REPO)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--import-orders", type=int, default=300)
    parser.add_argument("--transactions", type=int, default=20000)
    args = parser.parse_args()

    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-d", args.db, f"--addons-path={_addons_path()}", "--log-level=warn",
                         "--http-interface=127.0.0.1"])
    from tests.simulators.ebay_sim import EbaySimulator, ebay_time, make_order  # noqa: PLC0415

    sim = EbaySimulator().start()
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    skus = ("BENCH-MUG", "BENCH-TEE")
    for index in range(args.orders):
        lines = (("BENCH-MUG", 1, "15.00"),) if index % 2 else (("BENCH-MUG", 2, "30.00"), ("BENCH-TEE", 1, "29.00"))
        sim.add_order(make_order(f"{50 + index // 100000:02d}-{index:05d}-{index % 97:05d}",
                                 t0 + timedelta(seconds=index), skus=lines, buyer=f"buyer_{index % 1500}"))
    registry = Registry(args.db)
    result = {"orders": args.orders, "load": os.getloadavg()}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"omni_no_trigger": True})
        company = env.company
        for sku in skus:
            if not env["product.product"].search([("default_code", "=", sku)]):
                env["product.product"].create({"name": sku, "default_code": sku, "type": "consu",
                                               "invoice_policy": "order", "taxes_id": [(5, 0, 0)]})
        backend = env["omni.backend"].create({
            "name": f"eBay bench {int(time.time())}", "channel": "ebay", "company_id": company.id,
            "ebay_app_id": sim.app_id, "ebay_cert_id": sim.cert_id, "ebay_refresh_token": sim.refresh_token,
            "ebay_api_base_url": sim.base_url, "ebay_finances_base_url": sim.base_url,
            "ebay_token_url": sim.token_url, "ebay_signing_key": sim.signing_private_pem,
            "ebay_signing_jwe": sim.signing_jwe, "ebay_export_stock": False})
        env["omni.marketplace"].create({"backend_id": backend.id, "name": "eBay US", "marketplace_ref": "EBAY_US",
                                        "currency_id": company.currency_id.id})
        backend._omni_checkpoint_set("ebay_orders", checkpoint=t0.replace(tzinfo=None), overlap_minutes=10)
        cr.commit()

        # 1. polling
        client = backend._ebay_client()
        calls = client.calls
        started = time.perf_counter()
        stored, read = backend._ebay_poll_orders()
        cr.commit()
        seconds = time.perf_counter() - started
        result["poll"] = {"read": read, "stored": stored, "calls": client.calls - calls,
                          "seconds": round(seconds, 2), "orders_per_s": round(read / seconds, 1)}
        backend._omni_checkpoint_set("ebay_orders", checkpoint=(t0 + timedelta(
            seconds=args.orders)).replace(tzinfo=None))
        calls = client.calls
        again = backend._ebay_poll_orders()
        cr.commit()
        result["poll_overlap"] = {"read": again[1], "stored": again[0], "calls": client.calls - calls}

        # 2. import through the processor
        Event = env["omni.event"]
        started = time.perf_counter()
        done = 0
        while done < args.import_orders:
            event = Event._omni_claim(limit=1)
            if not event:
                break
            event._omni_process()
            done += 1
            if done % 25 == 0:
                cr.commit()
        cr.commit()
        seconds = time.perf_counter() - started
        imported = env["sale.order"].search_count([("omni_backend_id", "=", backend.id)])
        result["import"] = {"processed": done, "sale_orders": imported, "seconds": round(seconds, 2),
                            "orders_per_s": round(done / seconds, 2)}

        # 3. payout of N transactions
        orders = env["sale.order"].search([("omni_backend_id", "=", backend.id)])
        totals = {o.omni_external_id: Decimal(str(o.amount_total)) for o in orders}
        transactions, net_total = [], Decimal(0)
        for index in range(args.transactions):
            kind = index % 10
            if index < len(totals):
                order_id = list(totals)[index]
                gross = totals[order_id]
            else:
                order_id, gross = f"99-{index:06d}-00000", Decimal("19.99")
            fee = (gross * Decimal("0.13")).quantize(Decimal("0.01"))
            when = ebay_time(t0 + timedelta(seconds=index))
            if index >= len(totals) and kind == 8:
                tx = {"transactionId": f"L{index}", "orderId": order_id, "transactionType": "SHIPPING_LABEL",
                      "amount": {"value": "5.85", "currency": "USD"}, "bookingEntry": "DEBIT", "transactionDate": when}
                net_total -= Decimal("5.85")
            elif index >= len(totals) and kind == 9:
                tx = {"transactionId": f"A{index}", "transactionType": "NON_SALE_CHARGE", "feeType": "AD_FEE",
                      "amount": {"value": "1.10", "currency": "USD"}, "bookingEntry": "DEBIT", "transactionDate": when}
                net_total -= Decimal("1.10")
            else:
                tx = {"transactionId": order_id, "orderId": order_id, "transactionType": "SALE",
                      "amount": {"value": str(gross - fee), "currency": "USD"},
                      "totalFeeAmount": {"value": str(fee), "currency": "USD"}, "bookingEntry": "CREDIT",
                      "transactionDate": when}
                net_total += gross - fee
            transactions.append(tx)
        sim.add_payout({"payoutId": "7700000001", "payoutStatus": "SUCCEEDED", "payoutDate": ebay_time(
            t0 + timedelta(days=20)), "amount": {"value": str(net_total), "currency": "USD"}}, transactions)
        Account = env["omni.settlement.account"]
        values = Account._omni_default_values(company, "ebay", name=f"eBay bench {backend.id}")
        values.update(backend_id=backend.id, bank_journal_id=env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1).id)
        account = Account.create(values)
        account.action_setup_accounts()
        cr.commit()
        calls = client.calls
        started = time.perf_counter()
        payouts = backend._omni_fetch_settlements()
        data = payouts[0][1]()
        fetch = time.perf_counter() - started
        started = time.perf_counter()
        settlement = account._omni_import_settlement(data)
        cr.commit()
        imported_s = time.perf_counter() - started
        started = time.perf_counter()
        settlement._omni_match()
        cr.commit()
        match = time.perf_counter() - started
        matched = len(settlement.line_ids.filtered(lambda line: line.payment_id))
        result["payout"] = {
            "transactions": args.transactions, "lines": len(data.lines), "calls": client.calls - calls,
            "signed_requests": sim.signed_requests, "fetch_and_map_s": round(fetch, 2),
            "import_s": round(imported_s, 2), "match_s": round(match, 2),
            "lines_with_payment": matched, "state": settlement.state}
    sim.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
