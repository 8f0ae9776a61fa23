#!/usr/bin/env python3
"""Shopify connector benchmark: a real multi-worker Odoo 19 against the local Shopify simulator.

The simulator (``tests/simulators/shopify_sim.py``) runs in this process on 127.0.0.1 with the
Standard plan's GraphQL cost bucket (2,000 points, 100 points/s restore, real time); Odoo runs
as a prefork server on 127.0.0.1 with its cron threads, and talks to the simulator through the
real ``shopifyapp`` client (the backend's base URL override).

1. **Stock export** - ``--skus`` storable products bound to as many Shopify variants; one
   transaction changes the on-hand quantity of every one of them (the stock hook queues one
   coalesced ``inventory/set`` event per inventory level at commit); the server's processor
   crons push them. Reported: API calls (``inventorySetQuantities`` requests; target ≤ 40 for
   10,000), wall time from the commit until the last event is done (target < 2 min),
   throttled requests (must be 0), events not done, quantities in the shop that differ from
   Odoo's (must be 0).
2. **Order webhooks** - ``--orders`` distinct orders (the shared fixture #1042 under other ids,
   customers and line ids, paid through Shopify Payments: confirmed, invoiced, payment
   registered against the transaction read through the API) delivered as signed webhooks to
   ``/omni/webhook/<id>`` with ``--duplicates`` of them delivered a second time (Shopify
   retries: same webhook id), all in shuffled order, from ``--concurrency`` senders. Reported:
   sale orders created (must equal the distinct orders), stored events, HTTP statuses, intake
   rate and orders/s from the first delivery until the last event is processed.

``--runner cron`` (default) lets the server's cron workers process the events, as in
production; ``--runner shell`` processes them with ``--drainers`` plain processes running the
processor's cron code (the cron workers run at nice 10, so on a machine shared with other jobs
they mostly measure that load).

Run (set-up of 10,000 products takes a few minutes; 1,000 paid orders take about 1 s of CPU
each on this kind of machine)::

    python3 tests/benchmarks/bench_shopify.py --skus 10000 --orders 1000
    python3 tests/benchmarks/bench_shopify.py --skus 10000 --orders 1000 --runner shell

Exit status 1 when a correctness check fails (wrong count, throttled request, event not done).
"""

import argparse
import copy
import json
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

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
from tests.simulators.shopify_sim import ShopifySimulator, WebhookSender

ADDON = "omni_connector_shopify"
TOKEN = "shpat_benchmark_token_0123456789"
SECRET = "benchmark-app-client-secret"
SHOP = "acme-retail.myshopify.com"
MARK = "BENCH_SHOPIFY="
FIXTURE = REPO / "tests" / "fixtures" / "shopify" / "orders_create.json"
VARIANT_BASE, ITEM_BASE = 60_000_000_000, 61_000_000_000
ORDER_BASE, LINE_BASE, CUSTOMER_BASE, TRANSACTION_BASE = 9_100_000_000, 9_200_000_000, 9_300_000_000, 9_400_000_000
TARGET_CALLS_PER_10K, TARGET_STOCK_SECONDS = 40, 120
POLL_SECONDS = 0.25
RESEND_ATTEMPTS = 3

PRELUDE = r"""
import json, time
from odoo import Command
P = json.loads(%r)

def _emit(data):
    print("BENCH_SHOPIFY=" + json.dumps(data, default=str), flush=True)
"""

SETUP_CODE = r"""
company = env.company
env["res.currency"].with_context(active_test=False).search([("name", "=", "EUR")]).active = True
tax = env["account.tax"].search([("type_tax_use", "=", "sale"), ("amount", "=", 19),
                                 ("price_include_override", "=", "tax_included"), ("company_id", "=", company.id)],
                                limit=1)
if not tax:
    tax = env["account.tax"].create({"name": "MwSt 19% incl. (bench)", "amount": 19, "amount_type": "percent",
                                     "type_tax_use": "sale", "price_include_override": "tax_included",
                                     "company_id": company.id})
Product = env["product.product"]
fixture_products = Product.browse()
for sku, price in (("TSHIRT-BLK-M", 29), ("MUG-CLASSIC", 15)):
    fixture_products |= Product.search([("default_code", "=", sku)], limit=1) or Product.create({
        "name": sku, "default_code": sku, "type": "consu", "is_storable": True, "list_price": price,
        "taxes_id": [Command.clear()]})
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
backend = env["omni.backend"].create({
    "name": "Benchmark shop", "channel": "shopify", "company_id": company.id, "warehouse_id": warehouse.id,
    "webhook_secret": P["secret"], "shopify_shop_domain": P["shop"], "shopify_access_token": P["token"],
    "shopify_base_url": P["base_url"], "shopify_poll_enabled": False,
    "shopify_location_ids": [Command.create({"name": "Main warehouse", "shopify_location_id": P["location"],
                                             "warehouse_id": warehouse.id})],
})
# What the first orders would create concurrently in production is there already (a warm shop
# whose product mapping was imported).
env["omni.shopify.variant"].create([
    {"backend_id": backend.id, "shopify_variant_id": variant_id, "sku": product.default_code, "product_id": product.id}
    for variant_id, product in zip(("45110000011", "45110000021"), fixture_products)])
backend._omni_clearing_journal("shopify_payments")
env["omni.order.importer"]._omni_pricelist(backend, "EUR")
# The hourly stock backstop would queue every never-sent level at the server's start, while the
# measured change is being made: keep the measurement to the stock hook's events.
env.ref("omni_connector_shopify.cron_shopify_stock_sync").active = False
started = time.monotonic()
products = Product.create([{"name": f"Bench SKU {n:05d}", "default_code": f"BENCH-{n:05d}", "type": "consu",
                            "is_storable": True} for n in range(P["skus"])])
created_products = time.monotonic() - started
env["omni.shopify.variant"].create([{
    "backend_id": backend.id, "shopify_variant_id": str(P["variant_base"] + n), "sku": product.default_code,
    "inventory_item_id": f"gid://shopify/InventoryItem/{P['item_base'] + n}", "product_id": product.id,
    "tracked": True} for n, product in enumerate(products)])
env.cr.commit()
_emit({"backend_id": backend.id, "location_id": warehouse.lot_stock_id.id, "products": len(products),
       "product_seconds": created_products, "setup_seconds": time.monotonic() - started})
"""

STOCK_CHANGE_CODE = r"""
backend = env["omni.backend"].browse(P["backend_id"])
location = env["stock.location"].browse(P["location_id"])
products = env["product.product"].search([("default_code", "=like", "BENCH-%")], order="default_code")
Quant = env["stock.quant"]
started = time.monotonic()
for n, product in enumerate(products):
    Quant._update_available_quantity(product, location, P["quantity_base"] + n % 7)
changed = time.monotonic() - started
started = time.monotonic()
env.cr.flush()  # runs the connector's pre-commit hook: one coalesced stock event per level
queued_seconds = time.monotonic() - started
env.cr.execute("SELECT count(*) FROM omni_event WHERE backend_id = %s AND topic = 'inventory/set' "
               "AND state = 'pending'", [backend.id])
queued = env.cr.fetchone()[0]
env.cr.commit()
_emit({"committed_at": time.time(), "changed": len(products), "change_seconds": changed, "queued": queued,
       "queue_seconds": queued_seconds})
"""


# The processor as its cron runs it (a progress record in the context, one commit per event),
# in a plain process: the server's cron workers run at nice 10, so on a machine shared with
# other jobs they measure the machine's load more than the code.
DRAIN_CODE = r"""
Event = env["omni.event"]
CRON = env.ref("omni_connector_base.cron_omni_event_process")
import psycopg2.errors
started, processed, conflicts = time.time(), 0, 0
deadline = time.monotonic() + P["timeout"]
while time.monotonic() < deadline:
    progress = env["ir.cron.progress"].sudo().create({"cron_id": CRON.id, "remaining": 0, "done": 0})
    env.cr.commit()
    try:
        done = Event.with_context(cron_id=CRON.id, ir_cron_progress_id=progress.id,
                                  cron_end_time=time.monotonic() + 3600)._cron_process()
    except psycopg2.errors.SerializationFailure:
        # The processor's claim met a row another drainer changed since this statement's snapshot
        # (FOR UPDATE ... SKIP LOCKED under REPEATABLE READ): what the cron would fail and rerun.
        env.cr.rollback()
        conflicts += 1
        continue
    env.cr.commit()
    processed += done
    if done:
        continue
    env.cr.execute("SELECT count(*) FROM omni_event WHERE backend_id = %s AND topic IN %s "
                   "AND state IN ('pending', 'retry')", [P["backend_id"], tuple(P["topics"])])
    if not env.cr.fetchone()[0]:
        break
    env.cr.rollback()
    time.sleep(0.5)  # events locked by the other drainer, or retrying later
_emit({"started": started, "ended": time.time(), "processed": processed, "conflicts": conflicts})
"""


def run_shell(dbname, code, params, timeout=3600):
    output = odoo_shell(dbname, (PRELUDE % json.dumps(params)) + code, timeout=timeout)
    for line in output.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise OdooHarnessError(f"the shell printed no result:\n{output[-2000:]}")


def wait_until_drained(dbname, backend_id, topics, timeout):
    """Seconds until no event of ``topics`` is pending or retrying (time.time() when it happened)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (left,) = query(
            dbname,
            "SELECT count(*) FROM omni_event WHERE backend_id = %s AND topic IN %s AND state IN ('pending', 'retry')",
            (backend_id, tuple(topics)),
        )[0]
        if not left:
            return time.time()
        time.sleep(POLL_SECONDS)
    return None


def drain(args, dbname, backend_id, topics):
    """Wait until the events of ``topics`` are processed; return ``(started, ended)`` (time.time()).

    ``--runner cron``: the server's cron workers process them (``started`` is None: the
    caller knows when the events were queued). ``--runner shell``: ``--drainers`` processes
    run the processor's cron code side by side (SKIP LOCKED shares the queue).
    """
    if args.runner == "cron":
        return None, wait_until_drained(dbname, backend_id, topics, args.timeout)
    params = {"backend_id": backend_id, "topics": list(topics), "timeout": args.timeout}
    with ThreadPoolExecutor(max_workers=args.drainers) as pool:
        results = list(
            pool.map(lambda _n: run_shell(dbname, DRAIN_CODE, params, timeout=args.timeout + 300), range(args.drainers))
        )
    print(
        f"drainers               {args.drainers} processes; events their runs processed "
        f"{[r['processed'] for r in results]}; claim serialization conflicts (run restarted) "
        f"{[r['conflicts'] for r in results]}"
    )
    return min(r["started"] for r in results), max(r["ended"] for r in results)


def states(dbname, backend_id, topics):
    return dict(
        query(
            dbname,
            "SELECT state, count(*) FROM omni_event WHERE backend_id = %s AND topic IN %s GROUP BY state",
            (backend_id, tuple(topics)),
        )
    )


# ------------------------------------------------------------------------- stock
def bench_stock(args, dbname, sim, setup, server):
    print(f"\n== Stock export: {args.skus} changed SKUs ==")
    quantity_base = 11
    mark = len(sim.requests)
    throttled_before = sim.throttled_requests
    change = run_shell(
        dbname,
        STOCK_CHANGE_CODE,
        {"backend_id": setup["backend_id"], "location_id": setup["location_id"], "quantity_base": quantity_base},
    )
    drain_started, done_at = drain(args, dbname, setup["backend_id"], ["inventory/set"])
    calls = [r for r in sim.requests[mark:] if r.get("operation") == "inventorySetQuantities"]
    throttled = sim.throttled_requests - throttled_before
    wrong = sum(
        1
        for n in range(args.skus)
        if sim.quantity(f"gid://shopify/InventoryItem/{ITEM_BASE + n}") != quantity_base + n % 7
    )
    by_state = states(dbname, setup["backend_id"], ["inventory/set"])
    wall = (done_at - (drain_started or change["committed_at"])) if done_at else float("nan")
    since = "the drainers' start" if drain_started else "commit"
    print(f"quantities changed     {change['changed']} in one transaction ({change['change_seconds']:.1f} s)")
    print(f"events queued          {change['queued']} at commit ({change['queue_seconds']:.2f} s, pre-commit hook)")
    print(
        f"API calls              {len(calls)} inventorySetQuantities (target <= "
        f"{TARGET_CALLS_PER_10K * args.skus / 10000:.0f}); {len(calls) and args.skus / len(calls):.0f} "
        "quantities per call"
    )
    print(
        f"wall time              {wall:.1f} s from {since} to the last event done (target < {TARGET_STOCK_SECONDS} s)"
    )
    if len(calls) > 1:
        print(f"push span              {calls[-1]['at'] - calls[0]['at']:.1f} s from the first call to the last")
    print(f"throughput             {args.skus / wall:.0f} levels/s")
    print(f"throttled requests     {throttled} (must be 0); bucket left {sim.available:.0f} of {sim.bucket_size:.0f}")
    costs = [c.get("requested_cost") for c in calls]
    print(f"cost per call          {min(costs, default=0)}..{max(costs, default=0)} points requested")
    print(f"events by state        {by_state}")
    print(f"shop quantities wrong  {wrong} of {args.skus}")
    ok = (
        done_at is not None
        and not throttled
        and not wrong
        and set(by_state) == {"done"}
        and len(calls) <= TARGET_CALLS_PER_10K * max(args.skus, 10000) / 10000
    )
    return ok


# ------------------------------------------------------------------------ orders
def build_orders(count):
    """``count`` distinct orders shaped like the fixture (paid, 70.60 EUR), with their transactions."""
    template = json.loads(FIXTURE.read_text(), parse_float=Decimal)
    orders = []
    for n in range(count):
        order = copy.deepcopy(template)
        order_id = ORDER_BASE + n
        order.update(
            id=order_id,
            admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
            name=f"#B{n:05d}",
            order_number=50000 + n,
        )
        for index, line in enumerate(order["line_items"]):
            line["id"] = LINE_BASE + 10 * n + index
            line["admin_graphql_api_id"] = f"gid://shopify/LineItem/{line['id']}"
        # One new customer per order: two workers creating the same new contact at once is a
        # separate concern (the importer retries one of them), measured by bench_order_import.
        order["customer"] = dict(order["customer"], id=CUSTOMER_BASE + n, email=f"customer{n:05d}@example.com")
        order["email"] = order["customer"]["email"]
        transaction = {
            "id": TRANSACTION_BASE + n,
            "kind": "sale",
            "status": "success",
            "gateway": "shopify_payments",
            "amount": "70.60",
            "currency": "EUR",
            "processed_at": order["processed_at"],
        }
        orders.append((order, transaction))
    return orders


def bench_orders(args, dbname, sim, setup, server):
    duplicates = int(args.orders * args.duplicates)
    print(f"\n== Order webhooks: {args.orders} orders + {duplicates} duplicate deliveries, shuffled ==")
    orders = build_orders(args.orders)
    for order, transaction in orders:
        rest = json.loads(json.dumps(dict(order, transactions=[transaction]), default=str))
        sim.add_order_from_rest(rest)
    sender = WebhookSender(
        f"{server.base_url}/omni/webhook/{setup['backend_id']}", SECRET, shop_domain=SHOP, timeout=60
    )
    deliveries = [sender.build("orders/create", json.dumps(order, default=float).encode()) for order, _t in orders]
    rng = random.Random(args.seed)
    batch = deliveries + rng.sample(deliveries, duplicates)
    rng.shuffle(batch)
    mark = len(sim.requests)
    started = time.time()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        answers = list(pool.map(sender.deliver, batch))
    statuses = Counter(answers)
    # Shopify re-sends a delivery that was not answered 200 (the intake answers 503 when it
    # cannot store right now), with the same webhook id.
    failed = [delivery for delivery, status in zip(batch, answers, strict=True) if status != 200]
    resent = Counter()
    for _attempt in range(RESEND_ATTEMPTS):
        if not failed:
            break
        time.sleep(1)
        answers = [sender.deliver(delivery) for delivery in failed]
        resent.update(answers)
        failed = [delivery for delivery, status in zip(failed, answers, strict=True) if status != 200]
    intake_done = time.time()
    drain_started, done_at = drain(args, dbname, setup["backend_id"], ["orders/create"])
    sender.close()
    (sale_orders,) = query(
        dbname, "SELECT count(*) FROM sale_order WHERE omni_backend_id = %s", (setup["backend_id"],)
    )[0]
    (confirmed,) = query(
        dbname, "SELECT count(*) FROM sale_order WHERE omni_backend_id = %s AND state = 'sale'", (setup["backend_id"],)
    )[0]
    (payments,) = query(
        dbname,
        "SELECT count(*) FROM account_payment WHERE omni_backend_id = %s AND omni_transaction_id IS NOT NULL",
        (setup["backend_id"],),
    )[0]
    by_state = states(dbname, setup["backend_id"], ["orders/create"])
    stored = sum(by_state.values())
    wall = (done_at - started) if done_at else float("nan")
    api_reads = [r for r in sim.requests[mark:] if r.get("operation") == "order"]
    print(
        f"deliveries sent        {len(batch)} ({duplicates} duplicates) by {args.concurrency} senders in "
        f"{intake_done - started:.1f} s ({len(batch) / (intake_done - started):.0f} req/s); statuses "
        f"{dict(statuses)}; re-sent as Shopify would: {dict(resent) or 'none'}"
    )
    print(f"events stored          {stored} (must equal {args.orders}); by state {by_state}")
    print(
        f"sale orders            {sale_orders} (must equal {args.orders}); confirmed {confirmed}; payments "
        f"referenced by transaction {payments}"
    )
    print(f"transaction reads      {len(api_reads)} API calls; throttled requests {sim.throttled_requests}")
    print(f"wall time              {wall:.1f} s from the first delivery to the last order processed")
    print(f"orders per second      {args.orders / wall:.2f} (distinct orders / wall time)")
    if drain_started:
        processing = done_at - drain_started
        print(
            f"processing             {processing:.1f} s by the drainers: {args.orders / processing:.2f} orders/s "
            "(intake and processing run one after the other here)"
        )
    return (
        done_at is not None
        and sale_orders == args.orders
        and stored == args.orders
        and set(by_state) == {"done"}
        and not failed
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=10000, help="changed SKUs of the stock export (0: skip)")
    parser.add_argument("--orders", type=int, default=1000, help="distinct orders delivered as webhooks (0: skip)")
    parser.add_argument("--duplicates", type=float, default=0.3, help="share of orders delivered twice")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel webhook senders")
    parser.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers")
    parser.add_argument("--cron-threads", type=int, default=2, help="Odoo cron workers (processor crons)")
    parser.add_argument(
        "--runner",
        choices=("cron", "shell"),
        default="cron",
        help="who processes the events: the server's cron workers (nice 10), or --drainers "
        "odoo shell processes running the processor's cron code (the server then has no cron)",
    )
    parser.add_argument("--drainers", type=int, default=2, help="processor processes with --runner shell")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for a queue to drain")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", help="database name (default: a new one, dropped at the end)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database after the run")
    args = parser.parse_args()

    dbname = args.db or f"omni_bench_shopify_{int(time.time())}"
    sim = ShopifySimulator(access_token=TOKEN, api_secret=SECRET, shop_domain=SHOP)  # Standard plan bucket
    sim.start()
    ok = True
    try:
        started = time.monotonic()
        create_database(dbname, [ADDON])
        print(f"database {dbname} with {ADDON} installed in {time.monotonic() - started:.0f} s")
        for line in machine_lines(dbname):
            print(line)
        print(
            f"simulator              {sim.base_url}, bucket {sim.bucket_size:.0f} points, restore "
            f"{sim.restore_rate:.0f}/s (Standard plan), mutation cost 10"
        )
        for n in range(args.skus):
            sim.add_variant(f"BENCH-{n:05d}", variant_id=VARIANT_BASE + n, inventory_item_id=ITEM_BASE + n, quantity=0)
        setup = run_shell(
            dbname,
            SETUP_CODE,
            {
                "secret": SECRET,
                "shop": SHOP,
                "token": TOKEN,
                "base_url": sim.base_url,
                "skus": args.skus,
                "location": sim.default_location,
                "variant_base": VARIANT_BASE,
                "item_base": ITEM_BASE,
            },
        )
        print(
            f"setup                  {setup['products']} products with bound variants in {setup['setup_seconds']:.0f} s"
        )
        cron_threads = args.cron_threads if args.runner == "cron" else 0
        with OdooServer(dbname, workers=args.workers, max_cron_threads=cron_threads) as server:
            print(
                f"odoo server            {server.base_url}, {args.workers} HTTP workers, "
                f"{cron_threads} cron threads; events processed by "
                + ("the server's cron workers" if args.runner == "cron" else f"{args.drainers} shell processes")
            )
            if args.skus:
                ok = bench_stock(args, dbname, sim, setup, server) and ok
            if args.orders:
                ok = bench_orders(args, dbname, sim, setup, server) and ok
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
