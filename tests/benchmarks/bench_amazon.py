#!/usr/bin/env python3
"""Amazon connector benchmark: a real Odoo 19 (``odoo shell``) against the local SP-API simulator.

The simulator (``tests/simulators/amazon_sim.py``) runs inside the shell process on 127.0.0.1 and
the connector talks to it through the real ``python-amazon-sp-api`` client (endpoint and LWA token
URL changed). Amazon's usage plans are enforced by both sides on a **fast clock** shared by the
simulator and the client's buckets: when the plan is spent the poll stops (no sleeping) and the
benchmark moves the clock to the ``retry_after`` at which the poll's cron would run again.

1. **Orders by polling** - ``--orders`` FBM orders (UNSHIPPED, one line, Amazon.com) updated over
   the last day; polls run until the checkpoint is past them all (``searchOrders``: 0.0056 req/s,
   burst 20, 100 orders a page). Reported: API calls by operation, simulated time the polling took
   at Amazon's rate, wall time of the polls, then orders/s of processing (the event processor
   importing the stored orders into confirmed sale orders with their deliveries) over the first
   ``--process`` orders (all of them with ``--process 0``).
2. **Stock feed** - ``--skus`` storable products, each an FBM listing; one run of the stock cron
   queues every SKU (nothing was sent yet) and the processor sends them: API calls (one
   ``createFeedDocument`` + upload + ``createFeed`` per 10,000 SKUs), wall time, then the
   processing reports read (``getFeed`` + ``getFeedDocument``). The products are set up by copying one
   in SQL (their creation is not measured; through the ORM it was too slow for a session here).
3. **Settlement report** - a ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` report of ``--rows``
   rows (4 rows per sold item; the first orders of part 1 among them), gzip, fetched through the
   reconciliation cron's path (``getReports``, ``getReportDocument``, parse, store), then matched.
   Reported: fetch+import seconds, match seconds, lines matched/unmatched.

    python3 tests/benchmarks/bench_amazon.py --orders 10000 --process 1000 --skus 50000 --rows 100000
    python3 tests/benchmarks/bench_amazon.py --db amazon_bench --keep   # reuse a database

Exit status 1 when a correctness check fails (orders not all stored, SKUs not all sent...).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import REPO, OdooHarnessError, create_database, drop_database, odoo_shell

ADDON = "omni_connector_marketplace"
MARK = "BENCH_AMAZON="

PRELUDE = r"""
import json, sys, time
from datetime import datetime, timedelta, timezone
P = json.loads(%r)
sys.path.insert(0, P["repo"])
from odoo import Command, fields
from tests.simulators.amazon_sim import (AmazonSimulator, FakeClock, make_order, CLIENT_ID, CLIENT_SECRET,
                                         REFRESH_TOKEN, SELLER_ID, iso)
from odoo.addons.omni_connector_marketplace.lib.amazon_client import RateLimiter
from odoo.addons.omni_connector_base.pipeline.errors import TransientError
from odoo.addons.omni_connector_marketplace.models import amazon_backend
env = env(su=True)
clock = FakeClock()
sim = AmazonSimulator(clock=clock).start()

def backend_for(name):
    backend = env["omni.backend"].search([("name", "=", name)], limit=1)
    if not backend:
        backend = env["omni.backend"].create({
            "name": name, "channel": "amazon", "amazon_lwa_client_id": CLIENT_ID,
            "amazon_lwa_client_secret": CLIENT_SECRET, "amazon_refresh_token": REFRESH_TOKEN,
            "amazon_seller_id": SELLER_ID, "amazon_poll_enabled": False, "amazon_export_stock": False,
            "amazon_sync_fba_inventory": False, "amazon_pii_days": 0})
        env["omni.marketplace"].create({"backend_id": backend.id, "name": "Amazon.com",
                                        "marketplace_ref": "ATVPDKIKX0DER", "currency_id": env.ref("base.USD").id})
    backend.write({"amazon_endpoint": sim.base_url, "amazon_token_url": sim.token_url})
    amazon_backend.CLIENT_OPTIONS[backend.id] = {"limiter": RateLimiter(clock=clock, sleep=clock.sleep)}
    backend._omni_reset_client()
    return backend

def process_all(backend, limit=None, commit_every=50):
    # the queued events of ``backend`` only (a database reused by earlier parts keeps theirs)
    Event = env["omni.event"]
    done = 0
    while limit is None or done < limit:
        event = Event._omni_claim(limit=1, backend_ids=[backend.id])
        if not event:
            break
        event._omni_process()
        done += 1
        if done %% commit_every == 0:
            env.cr.commit()
    env.cr.commit()
    return done
"""

ORDERS = PRELUDE + r"""
env.ref("base.USD").active = True
backend = backend_for("Amazon bench orders")
Product = env["product.product"]
skus = [f"BENCH-SKU-{i:02d}" for i in range(50)]
existing = set(Product.search([("default_code", "in", skus)]).mapped("default_code"))
Product.create([{"name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": 15}
                for sku in skus if sku not in existing])
start = datetime.now(timezone.utc) - timedelta(days=1)
for index in range(P["orders"]):
    sim.add_order(make_order(f"901-{index:07d}-{P['run']:07d}", sku=skus[index %% 50], unit_price="15.00",
                             shipping="4.99", updated=iso(start + timedelta(seconds=5 * index)),
                             item_id=f"{P['run']:06d}{index:08d}"))
backend._omni_checkpoint_set("amazon_orders", checkpoint=(start - timedelta(minutes=1)).replace(tzinfo=None),
                             overlap_minutes=0)
backend.amazon_poll_resume = False
env.cr.commit()
simulated_start, wall = clock(), time.time()
polls = stored = read = 0
transient = 0
while True:
    try:
        s, r = backend._amazon_poll_orders()
    except TransientError:  # e.g. the access token expired on Amazon's (fast) clock: the cron retries
        env.cr.rollback()
        transient += 1
        continue
    polls += 1; stored += s; read += r
    env.cr.commit()
    if not backend.amazon_poll_resume:
        break
    clock.advance(1 / 0.0056 + 0.5)  # the poll cron is re-triggered at retry_after
poll_wall, simulated = time.time() - wall, clock() - simulated_start
client = backend._amazon_client()
started = time.time()
processed = process_all(backend, P["process"] or None)
processing = time.time() - started
sales = env["sale.order"].search_count([("omni_backend_id", "=", backend.id), ("state", "=", "sale")])
print("%s" + json.dumps({"orders": P["orders"], "stored": stored, "read": read, "polls": polls,
                         "transient_retries": transient,
                         "api_calls": dict(sim.calls), "tokens": sim.token_requests,
                         "throttled_429": dict(sim.throttled),
                         "client_calls": dict(client.calls), "simulated_hours": round(simulated / 3600, 2),
                         "poll_wall_s": round(poll_wall, 1), "processed": processed, "sale_orders": sales,
                         "processing_s": round(processing, 1),
                         "orders_per_s": round(processed / processing, 1) if processing else None}))
sim.stop()
"""

STOCK = PRELUDE + r"""
backend = backend_for("Amazon bench stock")
Product = env["product.product"]
prefix = f"FEED-{P['run']}-"
started = time.time()
# The products are set-up, not what is measured: one made by the ORM, the others copied from it in SQL
# (two INSERT ... SELECT; creating 50,000 products through the ORM took longer than a session here).
proto = Product.create({"name": f"{prefix}proto", "default_code": f"{prefix}proto", "type": "consu",
                        "is_storable": True})
env.flush_all()

def columns(table, skip):
    env.cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %%s AND table_schema = "
                   "current_schema() AND is_generated = 'NEVER'", (table,))
    return [name for (name,) in env.cr.fetchall() if name not in skip]

template_columns = columns("product_template", {"id", "name", "default_code"})
listed = ", ".join(f'"{name}"' for name in template_columns)
selected = ", ".join(f't."{name}"' for name in template_columns)
if "default_code" in columns("product_template", {}):  # stored on the template too: the same reference
    listed, selected = f"default_code, {listed}", f"%%s || lpad(n.i::text, 6, '0'), {selected}"
    code_params = (prefix,)
else:
    code_params = ()
env.cr.execute(f'''
    INSERT INTO product_template (name, {listed})
    SELECT jsonb_build_object('en_US', %%s || lpad(n.i::text, 6, '0')), {selected}
      FROM product_template t, generate_series(0, %%s - 1) AS n(i) WHERE t.id = %%s
''', (prefix, *code_params, P["skus"], proto.product_tmpl_id.id))
variant_columns = columns("product_product", {"id", "product_tmpl_id", "default_code"})
listed = ", ".join(f'"{name}"' for name in variant_columns)
selected = ", ".join(f'p."{name}"' for name in variant_columns)
env.cr.execute(f'''
    INSERT INTO product_product (product_tmpl_id, default_code, {listed})
    SELECT t.id, t.name->>'en_US', {selected}
      FROM product_template t, product_product p
     WHERE p.id = %%s AND t.name->>'en_US' LIKE %%s AND t.id != %%s
''', (proto.id, prefix + "0%%", proto.product_tmpl_id.id))
env.cr.execute("DELETE FROM product_product WHERE id = %%s", (proto.id,))
env.cr.execute("DELETE FROM product_template WHERE id = %%s", (proto.product_tmpl_id.id,))
env.invalidate_all()
env.cr.commit()
env.cr.execute('''
    INSERT INTO omni_amazon_listing (backend_id, company_id, seller_sku, product_id, fulfillment_channel, export_stock,
                                     active, quantity_sent, create_uid, write_uid, create_date, write_date)
    SELECT %%s, %%s, p.default_code, p.id, 'DEFAULT', true, true, false, 1, 1, now(), now()
      FROM product_product p WHERE p.default_code LIKE %%s
''', (backend.id, backend.company_id.id, prefix + "%%"))
env.cr.commit()
setup = time.time() - started
sim.calls.clear()
started = time.time()
queued = backend._amazon_queue_stock_changes()
env.cr.commit()
queue_s = time.time() - started
processed = process_all(backend, commit_every=1)
push_s = time.time() - started
feeds = env["omni.amazon.feed"].search([("backend_id", "=", backend.id)])
started = time.time()
backend._amazon_check_feeds()
env.cr.commit()
check_s = time.time() - started
pending = env["omni.event"].search_count([("backend_id", "=", backend.id), ("topic", "=", "stock/feed"),
                                          ("state", "!=", "done")])
print("%s" + json.dumps({"skus": P["skus"], "setup_s": round(setup, 1), "queued": queued, "queue_s": round(queue_s, 1),
                         "handler_runs": processed, "push_wall_s": round(push_s, 1), "feeds": len(feeds),
                         "messages": sum(feeds.mapped("message_count")), "report_check_s": round(check_s, 1),
                         "feeds_done": len(feeds.filtered(lambda f: f.state == "done")),
                         "api_calls": dict(sim.calls), "sim_quantities": len(sim.listing_quantities),
                         "events_not_done": pending}))
sim.stop()
"""

SETTLEMENT = PRELUDE + r"""
backend = backend_for("Amazon bench orders")
Account = env["omni.settlement.account"]
account = Account.search([("backend_id", "=", backend.id)], limit=1)
if not account:
    values = Account._omni_default_values(env.company, "amazon", name="Amazon bench payouts")
    values["backend_id"] = backend.id
    account = Account.create(values)
    account.action_setup_accounts()
known = env["sale.order"].search([("omni_backend_id", "=", backend.id)],
                                 limit=P["rows"] // 4).mapped("omni_external_id")
header = ("settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\t"
          "transaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\t"
          "amount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\t"
          "merchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id")
rows, total = [], 0
settlement_id = f"9{P['run']:010d}"
items = P["rows"] // 4
for index in range(items):
    order_id = known[index] if index < len(known) else f"902-{index:07d}-0000001"
    for kind, description, cents in (("ItemPrice", "Principal", 1500), ("ItemPrice", "Shipping", 499),
                                     ("ItemFees", "Commission", -225), ("ItemFees", "ShippingHB", -75)):
        total += cents
        rows.append(f"{settlement_id}\t\t\t\t\t\tOrder\t{order_id}\t\t\tS{index}\tAmazon.com\t{kind}\t{description}\t"
                    f"{cents / 100:.2f}\tMFN\t2026-11-12\t2026-11-12 09:01:44 UTC\tI{index}\t\t\tBENCH-SKU-00\t1\t")
summary = (f"{settlement_id}\t2026-11-08 00:00:00 UTC\t2026-11-22 00:00:00 UTC\t2026-11-24 00:00:00 UTC\t"
           f"{total / 100:.2f}\tUSD" + "\t" * 18)
text = "\n".join([header, summary, *rows]) + "\n"
sim.add_settlement_report(text)
sim.calls.clear()
started = time.time()
settlements = account._omni_import_from_source()
env.cr.commit()
fetch_import = time.time() - started
settlement = settlements[:1]
started = time.time()
settlement._omni_match()
env.cr.commit()
match_s = time.time() - started
states = {}
for state, count in env["omni.settlement.line"]._read_group([("settlement_id", "=", settlement.id)], ["match_state"],
                                                             ["__count"]):
    states[state] = count
print("%s" + json.dumps({"rows": len(rows), "report_bytes": len(text), "lines": len(settlement.line_ids),
                         "fetch_import_s": round(fetch_import, 1), "match_s": round(match_s, 1),
                         "state": settlement.state, "line_states": states, "api_calls": dict(sim.calls),
                         "orders_in_odoo_referenced": min(len(known), items)}))
sim.stop()
"""


def _shell(dbname, template, params, timeout):
    code = template % (json.dumps(params), MARK)
    out = odoo_shell(dbname, code, timeout=timeout)
    for row in out.splitlines():
        if row.startswith(MARK):
            return json.loads(row[len(MARK):])
    raise OdooHarnessError(f"no {MARK} line in the shell output:\n{out[-3000:]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--process", type=int, default=1000,
                        help="orders imported to measure orders/s (0: all of them)")
    parser.add_argument("--skus", type=int, default=50000)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--db", default=None, help="reuse this database (must have the addon installed)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--only", choices=("orders", "stock", "settlement"), action="append")
    args = parser.parse_args(argv)
    dbname = args.db or f"amazon_bench_{os.getpid()}"
    if not args.db:
        print(f"creating {dbname} with {ADDON} ...", flush=True)
        create_database(dbname, [ADDON])
    params = {"repo": str(REPO), "orders": args.orders, "process": args.process, "skus": args.skus,
              "rows": args.rows, "run": int(time.time()) % 1_000_000}
    results, ok = {}, True
    try:
        parts = args.only or ["orders", "stock", "settlement"]
        if "orders" in parts:
            results["orders"] = result = _shell(dbname, ORDERS, params, timeout=7200)
            print("orders:", json.dumps(result), flush=True)
            ok &= result["stored"] == args.orders
        if "stock" in parts:
            results["stock"] = result = _shell(dbname, STOCK, params, timeout=7200)
            print("stock:", json.dumps(result), flush=True)
            ok &= result["messages"] == args.skus and result["events_not_done"] == 0
        if "settlement" in parts:
            results["settlement"] = result = _shell(dbname, SETTLEMENT, params, timeout=7200)
            print("settlement:", json.dumps(result), flush=True)
            ok &= result["rows"] == (args.rows // 4) * 4
    finally:
        if not args.keep and not args.db:
            drop_database(dbname)
    print("load:", os.getloadavg())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
