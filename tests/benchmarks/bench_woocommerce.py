#!/usr/bin/env python3
"""WooCommerce connector benchmark: a real multi-worker Odoo 19 against the local store simulator.

The simulator (``tests/simulators/woocommerce_sim.py``) runs in this process on 127.0.0.1 and
verifies every request's OAuth 1.0a signature, as a store reached over http does; Odoo runs as
a prefork server on 127.0.0.1 and talks to it through the real ``woocommerce`` library.

1. **Stock export** - ``--skus`` storable products bound to as many simple WooCommerce
   products; one transaction changes the on-hand quantity of every one (the stock hook queues
   one coalesced ``stock/update`` event per binding); the events are processed. Reported: batch
   calls (``POST products/batch``, target <= 100 for 10,000: at most 100 objects a call), wall
   time from the commit until the last event is done, quantities in the store that differ.
2. **Order webhooks** - ``--orders`` distinct orders (the fixture 727 under other ids and
   customers, paid by Stripe: confirmed, invoiced, payment registered) delivered by the store
   as signed ``order.created`` webhooks, plus ``--duplicates`` of them delivered again (a new
   ``X-WC-Webhook-Delivery-ID``, as a re-sent delivery has), shuffled, with ``--drop`` of all
   deliveries lost on the way (WooCommerce never retries). Then one poll (the backstop)
   repairs what was lost. Reported: sale orders (must equal the distinct orders), events,
   orders/s from the first delivery until the last order is processed after the poll.

Events are processed by ``--drainers`` ``odoo shell`` processes running the processor's cron
code (the server's cron workers run at nice 10 and mostly measure a shared machine's load).

Run::

    python3 tests/benchmarks/bench_woocommerce.py --skus 10000 --orders 1000

Exit status 1 when a correctness check fails.
"""

import argparse
import copy
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

if __package__ in (None, ""):  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.bench_shopify import DRAIN_CODE, PRELUDE, states
from tests.benchmarks.bench_webhook_intake import machine_lines
from tests.benchmarks.odoo_server import (
    REPO,
    OdooHarnessError,
    OdooServer,
    create_database,
    drop_database,
    odoo_shell,
    query,
)
from tests.simulators.woocommerce_sim import WooCommerceSimulator

ADDON = "omni_connector_woocommerce"
KEY, SECRET, WEBHOOK_SECRET = "ck_bench_0123456789", "cs_bench_9876543210", "woo-bench-webhook-secret"
MARK = "BENCH_SHOPIFY="  # the shared PRELUDE's marker
FIXTURE = REPO / "tests" / "fixtures" / "woocommerce" / "order.json"
PRODUCT_BASE, ORDER_BASE = 500_000, 800_000
TARGET_CALLS_PER_10K = 100

SETUP_CODE = r"""
from datetime import datetime
company = env.company
tax = env["account.tax"].search([("type_tax_use", "=", "sale"), ("amount", "=", 8.75),
                                 ("price_include_override", "=", "tax_excluded"), ("company_id", "=", company.id)],
                                limit=1)
if not tax:
    tax = env["account.tax"].create({"name": "CA 8.75% (bench)", "amount": 8.75, "amount_type": "percent",
                                     "type_tax_use": "sale", "price_include_override": "tax_excluded",
                                     "company_id": company.id})
Product = env["product.product"]
for sku, price in (("HOODIE-BLU-L", 45), ("BEANIE-GRY", 20)):
    Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": price,
        "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Benchmark store", "channel": "woocommerce", "company_id": company.id, "warehouse_id": warehouse.id,
    "webhook_secret": P["webhook_secret"], "woocommerce_store_url": P["base_url"],
    "woocommerce_consumer_key": P["key"], "woocommerce_consumer_secret": P["secret"],
    "woocommerce_poll_enabled": False,
})
backend._omni_checkpoint_set("woocommerce_orders", checkpoint=datetime(2026, 11, 1))
backend._omni_clearing_journal("stripe")
env["omni.order.importer"]._omni_pricelist(backend, "USD")
env.ref("omni_connector_woocommerce.cron_woocommerce_stock_sync").active = False
started = time.monotonic()
products = Product.create([{"name": f"Bench SKU {n:05d}", "default_code": f"WBENCH-{n:05d}", "type": "consu",
                            "is_storable": True} for n in range(P["skus"])])
env["omni.woocommerce.product"].create([{
    "backend_id": backend.id, "wc_product_id": P["product_base"] + n, "wc_variation_id": 0,
    "sku": product.default_code, "product_id": product.id} for n, product in enumerate(products)])
env.cr.commit()
_emit({"backend_id": backend.id, "location_id": warehouse.lot_stock_id.id, "products": len(products),
       "webhook_url": backend.webhook_url, "setup_seconds": time.monotonic() - started})
"""

STOCK_CHANGE_CODE = r"""
backend = env["omni.backend"].browse(P["backend_id"])
location = env["stock.location"].browse(P["location_id"])
products = env["product.product"].search([("default_code", "=like", "WBENCH-%")], order="default_code")
Quant = env["stock.quant"]
started = time.monotonic()
for n, product in enumerate(products):
    Quant._update_available_quantity(product, location, P["quantity_base"] + n % 7)
env.cr.flush()
changed = time.monotonic() - started
env.cr.execute("SELECT count(*) FROM omni_event WHERE backend_id = %s AND topic = 'stock/update' "
               "AND state = 'pending'", [backend.id])
queued = env.cr.fetchone()[0]
env.cr.commit()
_emit({"committed_at": time.time(), "changed": len(products), "change_seconds": changed, "queued": queued})
"""

POLL_CODE = r"""
backend = env["omni.backend"].browse(P["backend_id"])
started = time.time()
stored = read = pages = 0
left = 1
while left:  # what the poll cron does: one page at a time, each committed with its place
    page_stored, page_read, left = backend._omni_run_poll_page("woocommerce_orders")
    env.cr.commit()
    stored, read, pages = stored + page_stored, read + page_read, pages + 1
_emit({"stored": stored, "read": read, "pages": pages, "seconds": time.time() - started})
"""


def run_shell(dbname, code, params, timeout=3600):
    output = odoo_shell(dbname, (PRELUDE % json.dumps(params)) + code, timeout=timeout)
    for line in output.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise OdooHarnessError(f"the shell printed no result:\n{output[-2000:]}")


def drain(args, dbname, backend_id, topics):
    params = {"backend_id": backend_id, "topics": list(topics), "timeout": args.timeout}
    with ThreadPoolExecutor(max_workers=args.drainers) as pool:
        results = list(pool.map(lambda _n: run_shell(dbname, DRAIN_CODE, params, timeout=args.timeout + 300),
                                range(args.drainers)))
    return min(r["started"] for r in results), max(r["ended"] for r in results)


def bench_stock(args, dbname, sim, setup):
    print(f"\n== Stock export: {args.skus} changed SKUs ==")
    quantity_base = 11
    mark = len(sim.requests)
    change = run_shell(dbname, STOCK_CHANGE_CODE, {"backend_id": setup["backend_id"],
                                                   "location_id": setup["location_id"],
                                                   "quantity_base": quantity_base})
    drain_started, done_at = drain(args, dbname, setup["backend_id"], ["stock/update"])
    calls = [r for r in sim.requests[mark:] if r["path"].endswith("/products/batch")]
    largest = max((len(r.get("body", {}).get("update", [])) for r in calls), default=0)
    wrong = sum(1 for n in range(args.skus) if sim.stock(PRODUCT_BASE + n) != quantity_base + n % 7)
    by_state = states(dbname, setup["backend_id"], ["stock/update"])
    wall = done_at - change["committed_at"]
    target = TARGET_CALLS_PER_10K * max(args.skus, 10000) / 10000
    print(f"quantities changed     {change['changed']} in one transaction ({change['change_seconds']:.1f} s); "
          f"{change['queued']} events queued")
    print(f"API calls              {len(calls)} POST products/batch (target <= {target:.0f}); largest batch "
          f"{largest} objects (store limit 100)")
    print(f"wall time              {wall:.1f} s from commit to the last event done "
          f"({done_at - drain_started:.1f} s of it processing)")
    print(f"throughput             {args.skus / wall:.0f} levels/s")
    print(f"events by state        {by_state}")
    print(f"store quantities wrong {wrong} of {args.skus}")
    return not wrong and set(by_state) == {"done"} and len(calls) <= target and largest <= 100


def build_orders(count):
    template = json.loads(FIXTURE.read_text())
    orders = []
    for n in range(count):
        order = copy.deepcopy(template)
        order_id = ORDER_BASE + n
        order.update(id=order_id, number=str(order_id), customer_id=90_000 + n,
                     transaction_id=f"ch_bench_{order_id}")
        order["billing"] = dict(order["billing"], email=f"woo.customer{n:05d}@example.com")
        orders.append(order)
    return orders


def bench_orders(args, dbname, sim, setup):
    duplicates = int(args.orders * args.duplicates)
    print(f"\n== Order webhooks: {args.orders} orders + {duplicates} duplicate deliveries, shuffled, "
          f"{args.drop:.0%} of deliveries lost ==")
    hook = sim.add_webhook("order.created", setup["webhook_url"], WEBHOOK_SECRET)
    sim.pending.clear()  # the creation ping is covered by the tests
    orders = build_orders(args.orders)
    for order in orders:
        sim.add_order(order, notify=False)
    deliveries = [sim.build_delivery(hook, "order.created", order["id"]) for order in orders]
    rng = random.Random(args.seed)
    extra = [sim.build_delivery(hook, "order.created", order["id"]) for order in rng.sample(orders, duplicates)]
    batch = deliveries + extra
    rng.shuffle(batch)
    dropped = set(rng.sample(range(len(batch)), int(len(batch) * args.drop)))
    sent = [delivery for index, delivery in enumerate(batch) if index not in dropped]
    delivered_ids = {json.loads(body)["id"] for _url, body, _headers in sent}
    session = requests.Session()

    def post(delivery):
        url, body, headers = delivery
        try:
            return session.post(url, data=body, headers=headers, timeout=60).status_code
        except requests.RequestException:
            return 0

    started = time.time()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        statuses = Counter(pool.map(post, sent))
    intake_done = time.time()
    _drain_started, webhooks_done = drain(args, dbname, setup["backend_id"], ["order.created"])
    (after_webhooks,) = query(dbname, "SELECT count(*) FROM sale_order WHERE omni_backend_id = %s",
                              (setup["backend_id"],))[0]
    poll = run_shell(dbname, POLL_CODE, {"backend_id": setup["backend_id"]})
    _poll_drain, done_at = drain(args, dbname, setup["backend_id"], ["order.polled"])
    (sale_orders,) = query(dbname, "SELECT count(*) FROM sale_order WHERE omni_backend_id = %s",
                           (setup["backend_id"],))[0]
    (confirmed,) = query(dbname, "SELECT count(*) FROM sale_order WHERE omni_backend_id = %s AND state = 'sale'",
                         (setup["backend_id"],))[0]
    (payments,) = query(dbname, "SELECT count(*) FROM account_payment WHERE omni_backend_id = %s "
                                "AND omni_transaction_id LIKE 'ch_bench_%%'", (setup["backend_id"],))[0]
    by_state = states(dbname, setup["backend_id"], ["order.created", "order.polled"])
    wall = done_at - started
    print(f"deliveries             {len(batch)} built ({duplicates} duplicates), {len(dropped)} lost, "
          f"{len(sent)} sent by {args.concurrency} senders in {intake_done - started:.1f} s; statuses "
          f"{dict(statuses)}; distinct orders delivered {len(delivered_ids)}")
    print(f"after webhooks         {after_webhooks} sale orders ({webhooks_done - started:.1f} s)")
    print(f"poll                   read {poll['read']} orders in {poll['pages']} pages, stored {poll['stored']} "
          f"lost versions in {poll['seconds']:.1f} s (must equal {args.orders - len(delivered_ids)})")
    print(f"sale orders            {sale_orders} (must equal {args.orders}); confirmed {confirmed}; payments "
          f"referenced by Stripe charge {payments}")
    print(f"events by state        {by_state}")
    print(f"wall time              {wall:.1f} s from the first delivery to the last order processed after the poll")
    print(f"orders per second      {args.orders / wall:.2f}")
    return (sale_orders == args.orders and confirmed == args.orders and payments == args.orders
            and poll["stored"] == args.orders - len(delivered_ids)
            and set(by_state) <= {"done"} and statuses.get(200, 0) == len(sent))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10000, help="changed SKUs of the stock export (0: skip)")
    parser.add_argument("--orders", type=int, default=1000, help="distinct orders delivered as webhooks (0: skip)")
    parser.add_argument("--duplicates", type=float, default=0.3, help="share of orders delivered twice")
    parser.add_argument("--drop", type=float, default=0.1, help="share of deliveries lost on the way")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel webhook senders")
    parser.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers")
    parser.add_argument("--drainers", type=int, default=2, help="processor processes")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for a queue to drain")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", help="database name (default: a new one, dropped at the end)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    dbname = args.db or f"woo_bench_{int(time.time())}"
    sim = WooCommerceSimulator(KEY, SECRET).start()
    ok = True
    try:
        started = time.monotonic()
        if not args.db:
            create_database(dbname, [ADDON])
        print(f"database {dbname} with {ADDON} installed in {time.monotonic() - started:.0f} s")
        for line in machine_lines(dbname):
            print(line)
        for n in range(args.skus):
            sim.add_product(f"WBENCH-{n:05d}", stock=0, product_id=PRODUCT_BASE + n)
        with OdooServer(dbname, workers=args.workers, max_cron_threads=0) as server:
            setup = run_shell(dbname, SETUP_CODE, {
                "webhook_secret": WEBHOOK_SECRET, "base_url": sim.base_url, "key": KEY, "secret": SECRET,
                "skus": args.skus, "product_base": PRODUCT_BASE})
            setup["webhook_url"] = f"{server.base_url}/omni/webhook/{setup['backend_id']}"
            print(f"setup                  {setup['products']} bound products in {setup['setup_seconds']:.0f} s; "
                  f"server {server.base_url}, {args.workers} HTTP workers; {args.drainers} drainer processes")
            if args.skus:
                ok = bench_stock(args, dbname, sim, setup) and ok
            if args.orders:
                ok = bench_orders(args, dbname, sim, setup) and ok
            errors = [line for line in server.log_tail(400).splitlines() if " ERROR " in line]
            if errors:
                print("\nserver errors:\n" + "\n".join(errors[-10:]))
    finally:
        sim.stop()
        if not args.keep_db and not args.db:
            drop_database(dbname)
    print("\nresult                 " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
