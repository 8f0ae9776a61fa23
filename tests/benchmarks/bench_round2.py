#!/usr/bin/env python3
"""Performance, round 2 (issue 15): every ratio measured side by side in one run, both sides printed.

One fresh database with ``omni_connector_base``, 50 products with a 10 % tax, two ``custom``
channel backends (paid orders: A only CONFIRMS them; B confirms, invoices, registers the payment
into the stripe clearing journal and reconciles it with the invoice) and a ``test`` backend for
webhooks. Orders are the ones of ``bench_order_import.py`` (5 lines of 50 SKUs + shipping, 10 %
tax, about half from returning customers). Sections (``--sections``, all by default):

``import``   one ``odoo shell`` process, interleaved rounds of ``--chunk`` orders of each way,
             the order of the ways rotating every round: pipeline confirm-only (events stored
             untimed, drained by the processor cron's code ``_cron_process``, one commit per
             event) vs the raw ORM (create + confirm, one commit per order) vs an XML-RPC
             middleware (against a ``--workers 2`` server); and pipeline full workflow (backend B)
             vs the raw ORM doing the same (create, confirm, ``_create_invoices`` + post, payment
             into the same clearing journal + post, reconcile the receivable lines).
``scaleout`` the processor crons of real prefork servers (``--workers 1 --max-cron-threads 1``
             each, separate processes, one database) drain one queue: one server vs two, rounds
             alternating; each round stores ``--scale-orders`` events in one transaction (its
             commit triggers the crons) and times the commit to the last event done.
``web``      closed loop: ``--senders`` client threads, rounds alternating between ``GET
             /web/health`` and signed ``POST /omni/webhook/<id>`` (``--web-rounds`` of
             ``--web-requests`` each), p99 of each pooled; open loop: ``--rate`` webhooks/s of
             order-sized signed bodies for ``--open-seconds`` while the server's cron drains the
             events as they come (``--workers 4 --max-cron-threads 1``).
``growth``   cost per order at two database sizes side by side: the database of this run at
             about ``--small`` sale orders (grown through the pipeline), and a copy of it
             (``createdb -T``) grown set-based to ``--large`` sale orders by cloning its orders
             with their lines, taxes, deliveries, moves, contacts, dedupe keys, bindings and
             events (new ids, every unique value suffixed), then ``VACUUM ANALYZE`` on both.
             Batches of ``--growth-batch`` orders alternate between the two databases; each
             batch is preceded by a fixed Python+SQL calibration workload, and the ratio is also
             given divided by the calibration ratio. Queries per order of both.

Run (about 40 minutes on 2 shared cores)::

    python3 tests/benchmarks/bench_round2.py
"""

import argparse
import contextlib
import json
import os
import random
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.bench_order_import import (
    CRON_RUN_CODE,
    REFERENCES_CODE,
    catalog,
    event_row,
    make_specs,
    plain_row,
    run_shell,
    write_jsonl,
)
from tests.benchmarks.bench_webhook_intake import Delivery, load_signer, machine_lines, percentile, run_load
from tests.benchmarks.odoo_server import OdooServer, create_database, drop_database, query

ADDON = "omni_connector_base"
TARGETS = {"confirm": 1.0, "full": 1.0, "xmlrpc": 2.0, "closed": 1.2, "open_p99_ms": 50.0, "scaleout": 1.7,
           "growth": 1.1}
ROWS = []  # (figure, target, measured) for the summary table


def load_line():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def row(figure, target, measured):
    ROWS.append((figure, target, measured))
    print(f"ROW | {figure} | {target} | {measured}", flush=True)


# ------------------------------------------------------------------------------ setup

SETUP_CODE = r"""
company = env.company
Tax = env["account.tax"]
tax = Tax.search([("name", "=", "Bench sales tax 10%"), ("company_id", "=", company.id)], limit=1) or Tax.create({
    "name": "Bench sales tax 10%", "amount": 10, "amount_type": "percent", "type_tax_use": "sale",
    "price_include_override": "tax_excluded", "company_id": company.id})
Product = env["product.product"]
existing = set(Product.search([("default_code", "in", [p[0] for p in P["products"]])]).mapped("default_code"))
for sku, name, price in P["products"]:
    if sku not in existing:
        Product.create({"name": name, "default_code": sku, "type": "consu", "list_price": float(price),
                        "taxes_id": [Command.set([tax.id])]})
backends = {}
for key, full in (("confirm", False), ("full", True)):
    backend = env["omni.backend"].create({"name": "Round 2 %s %s" % (key, P["tag"]), "channel": "custom",
                                          "company_id": company.id, "retry_base_delay": 1})
    paid = backend.payment_rule_ids.filtered(lambda rule: rule.financial_status == "paid")
    paid.write({"confirm_order": True, "create_invoice": full, "register_payment": full})
    backends[key] = backend
hooks = env["omni.backend"].create({"name": "Round 2 webhooks", "channel": "test", "webhook_secret": P["secret"],
                                    "company_id": company.id})
journal = backends["full"]._omni_clearing_journal("stripe")
admin = env.ref("base.user_admin")
admin.password = P["admin_password"]
env.cr.commit()
_emit({"backends": {key: backend.id for key, backend in backends.items()}, "hooks_id": hooks.id, "tax_id": tax.id,
       "journal_id": journal.id, "currency": company.currency_id.name, "admin_login": admin.login,
       "shipping_product_id": backends["confirm"]._omni_shipping_product("standard").id})
"""

STORE_CODE = r"""
def _store_for(backend_id, rows):
    backend = env["omni.backend"].browse(backend_id)
    for row in rows:
        Event._omni_store_incoming(backend, row["body"].encode(), {
            "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
            "resource_key": row["resource_key"], "source_ts": row["source_ts"]})
    env.cr.commit()
"""

FULL_ORM_CODE = r"""
JOURNAL = P["journal_id"]

def orm_full_import(row):
    partner = Partner.search([("email_normalized", "=", row["email"].lower())], limit=1)
    if not partner:
        partner = Partner.create({"name": row["name"], "email": row["email"], "street": row["street"],
                                  "city": row["city"], "zip": row["zip"], "country_id": COUNTRY,
                                  "customer_rank": 1})
    skus = [line["sku"] for line in row["lines"]]
    products = {p.default_code: p.id for p in Product.search([("default_code", "in", skus)])}
    lines = [Command.create({"product_id": products[line["sku"]], "name": line["name"],
                             "product_uom_qty": line["qty"], "price_unit": float(line["price"]),
                             "tax_ids": [Command.set([TAX])]}) for line in row["lines"]]
    lines.append(Command.create({"product_id": SHIPPING, "name": "Standard shipping", "product_uom_qty": 1,
                                 "price_unit": float(row["shipping"]), "tax_ids": [Command.set([TAX])]}))
    order = SaleOrder.create({"partner_id": partner.id, "client_order_ref": row["ref"], "origin": row["origin"],
                              "order_line": lines})
    order.action_confirm()
    invoice = order._create_invoices()
    invoice.action_post()
    payment = env["account.payment"].create({
        "payment_type": "inbound", "partner_type": "customer", "partner_id": partner.commercial_partner_id.id,
        "amount": invoice.amount_total, "currency_id": order.currency_id.id, "journal_id": JOURNAL,
        "memo": "ch_" + row["ref"], "payment_reference": "ch_" + row["ref"]})
    payment.action_post()
    account = invoice.line_ids.filtered(lambda line: line.display_type == "payment_term").account_id[:1]
    (payment.move_id.line_ids | invoice.line_ids).filtered(
        lambda line: line.account_id == account and not line.reconciled).reconcile()
    env.cr.commit()
"""

# Interleaved rounds of the five ways; the pipeline's events of a round are stored (untimed) just
# before its chunk is drained, so the two backends' events never mix in one drain.
COMPARE_CODE = r"""
middleware = Middleware()
data = {way: _rows(path) for way, path in P["paths"].items()}
W, K = P["warmup"], P["chunk"]
BACKENDS = P["backends"]

def _pipe(key, rows):
    _store_for(BACKENDS[key], rows)
    before = _snap()
    done = _cron_run(len(rows))
    return before, done

def _orm(function, rows):
    before = _snap()
    for row in rows:
        function(row)
    return before, len(rows)

def _rpc(rows):
    before = (_server_cpu(), _snap())
    for row in rows:
        middleware.import_order(row)
    return before, len(rows)

WAYS = {
    "pipe_confirm": lambda rows: _pipe("confirm", rows),
    "orm_confirm": lambda rows: _orm(orm_import, rows),
    "rpc": _rpc,
    "pipe_full": lambda rows: _pipe("full", rows),
    "orm_full": lambda rows: _orm(orm_full_import, rows),
}
for way, function in WAYS.items():  # warm-up, untimed
    if W:
        function(data[way][:W])
middleware.calls = 0
totals = {way: dict.fromkeys(("wall", "cpu", "pg", "queries", "machine", "server", "server_pg", "orders"), 0.0)
          for way in WAYS}
names = list(WAYS)
rounds = (len(data["orm_confirm"]) - W + K - 1) // K
for index in range(rounds):
    shift = index % len(names)
    for way in names[shift:] + names[:shift]:
        rows = data[way][W + index * K:W + (index + 1) * K]
        if not rows:
            continue
        before, done = WAYS[way](rows)
        if way == "rpc":
            server_before, before = before
            server_after = _server_cpu()
            totals[way]["server"] += server_after[0] - server_before[0]
            totals[way]["server_pg"] += server_after[1] - server_before[1]
        for key, value in _delta(before, _snap()).items():
            totals[way][key] += value
        totals[way]["orders"] += done
_emit({"totals": totals, "rounds": rounds, "left": _queued(), "rpc_calls": middleware.calls})
"""


class Run:
    def __init__(self, args):
        self.args = args
        self.tag = secrets.token_hex(3)
        self.dbname = f"perf_round2_{os.getpid()}_{int(time.time())}"
        self.workdir = Path(tempfile.mkdtemp(prefix="omni-round2-"))
        self.secret = secrets.token_urlsafe(24)
        self.setup = {}
        self.failures = []

    def events(self, name, specs):
        return write_jsonl(self.workdir / f"{name}.jsonl", [event_row(spec, self.setup["currency"]) for spec in specs])

    def plain(self, name, specs):
        return write_jsonl(self.workdir / f"{name}.jsonl", [plain_row(spec) for spec in specs])


def setup(run):
    params = {"tag": run.tag, "secret": run.secret, "admin_password": secrets.token_urlsafe(16),
              "products": [[p.sku, p.name, str(p.price)] for p in catalog()]}
    run.setup = run_shell(run.dbname, SETUP_CODE, params, timeout=900)
    run.setup["admin_password"] = params["admin_password"]
    print(f"setup             backends confirm-only {run.setup['backends']['confirm']}, full workflow "
          f"{run.setup['backends']['full']} (clearing journal {run.setup['journal_id']}), webhooks "
          f"{run.setup['hooks_id']}", flush=True)


# ----------------------------------------------------------------------------- import


def section_import(run):
    args = run.args
    count = args.warmup + args.orders
    seed = args.seed
    paths = {
        "pipe_confirm": run.events("pipe_confirm", make_specs("pc", run.tag, count, seed)),
        "orm_confirm": run.plain("orm_confirm", make_specs("oc", run.tag, count, seed)),
        "rpc": run.plain("rpc", make_specs("rc", run.tag, count, seed)),
        "pipe_full": run.events("pipe_full", make_specs("pf", run.tag, count, seed)),
        "orm_full": run.plain("orm_full", make_specs("of", run.tag, count, seed)),
    }
    print(f"\n== import: {args.orders} orders per way (+{args.warmup} warm-up), interleaved rounds of {args.chunk}; "
          f"load {load_line()} ==", flush=True)
    with OdooServer(run.dbname, workers=2, max_cron_threads=0) as server:
        print(f"server            {shlex.join(server.command)}", flush=True)
        params = {"warmup": args.warmup, "chunk": args.chunk, "budget": 24 * 3600, "paths": paths,
                  "backends": run.setup["backends"], "backend_id": run.setup["backends"]["confirm"],
                  "tax_id": run.setup["tax_id"], "shipping_product_id": run.setup["shipping_product_id"],
                  "journal_id": run.setup["journal_id"], "url": server.base_url, "login": run.setup["admin_login"],
                  "password": run.setup["admin_password"], "server_pgid": server.process.pid}
        result = run_shell(run.dbname, CRON_RUN_CODE + REFERENCES_CODE + STORE_CODE + FULL_ORM_CODE + COMPARE_CODE,
                           params, timeout=600 + 5 * 10 * count)
    totals = result["totals"]
    labels = {"pipe_confirm": "pipeline, confirm-only", "orm_confirm": "raw ORM, confirm-only",
              "rpc": "XML-RPC middleware, confirm-only", "pipe_full": "pipeline, full workflow",
              "orm_full": "raw ORM, full workflow"}
    rate = {}
    for way, total in totals.items():
        orders = max(total["orders"], 1)
        rate[way] = total["orders"] / total["wall"] if total["wall"] else 0.0
        cpu = (total["server"] + total["server_pg"]) if way == "rpc" else (total["cpu"] + total["pg"])
        queries = "" if way == "rpc" else f", {total['queries'] / orders:.1f} queries/order"
        other = max(total["machine"] - total["cpu"] - total["pg"] - total["server"] - total["server_pg"], 0)
        print(f"{labels[way]:<34} {int(total['orders']):>5} orders {rate[way]:6.2f} orders/s "
              f"{total['wall'] * 1000 / orders:7.1f} ms/order, CPU {cpu * 1000 / orders:6.1f} ms/order"
              f"{queries}, other processes {other / max(total['wall'] * (os.cpu_count() or 1), 1e-9):.0%} "
              "of the machine", flush=True)
    if result["left"]:
        run.failures.append(f"import: {result['left']} events left queued")

    def ratio(ours, theirs):
        return f"{rate[ours]:.2f} / {rate[theirs]:.2f} orders/s = {rate[ours] / rate[theirs]:.2f}x"

    row("pipeline vs raw ORM, confirm-only orders", ">= 1.0x", ratio("pipe_confirm", "orm_confirm"))
    row("pipeline vs raw ORM, full workflow (confirm + invoice + payment into clearing + reconcile)", ">= 1.0x",
        ratio("pipe_full", "orm_full"))
    row("pipeline vs XML-RPC middleware (confirm-only)", ">= 2.0x", ratio("pipe_confirm", "rpc"))
    check_full(run, make_specs("pf", run.tag, count, seed))


def check_full(run, specs):
    refs = tuple(spec.external_id for spec in specs)
    (orders, invoiced, paid), = query(run.dbname, """
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM sale_order_line_invoice_rel r JOIN sale_order_line l ON l.id = r.order_line_id
                     JOIN account_move_line ml ON ml.id = r.invoice_line_id JOIN account_move m ON m.id = ml.move_id
                    WHERE l.order_id = o.id AND m.state = 'posted')),
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM sale_order_line_invoice_rel r JOIN sale_order_line l ON l.id = r.order_line_id
                     JOIN account_move_line ml ON ml.id = r.invoice_line_id JOIN account_move m ON m.id = ml.move_id
                    WHERE l.order_id = o.id AND m.payment_state IN ('paid', 'in_payment')))
          FROM sale_order o WHERE o.omni_backend_id = %s AND o.omni_external_id IN %s""",
                                    (run.setup["backends"]["full"], refs))
    print(f"check full        {orders} sale orders of {len(specs)}, {invoiced} with a posted invoice, {paid} paid "
          f"-> {'OK' if orders == invoiced == paid == len(specs) else 'WRONG'}")
    if not orders == invoiced == paid == len(specs):
        run.failures.append("full workflow: not every order invoiced and paid")


# --------------------------------------------------------------------------- scale-out


def done_count(dbname, backend_id, keys):
    return query(dbname, "SELECT count(*) FROM omni_event WHERE backend_id = %s AND resource_key IN %s "
                 "AND state NOT IN ('pending', 'retry')", (backend_id, keys))[0][0]


def queued(dbname):
    return query(dbname, "SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry')")[0][0]


def wait_for_empty_queue(dbname, timeout=900):
    """Wait until no event is pending or retrying (an earlier section's backlog must not be timed)."""
    deadline = time.monotonic() + timeout
    while queued(dbname) and time.monotonic() < deadline:
        time.sleep(1)
    return not queued(dbname)


def section_scaleout(run):
    args = run.args
    backend_id = run.setup["backends"]["confirm"]
    print(f"\n== scale-out: {args.scale_rounds} rounds per side of {args.scale_orders} orders; load {load_line()} ==",
          flush=True)
    results = {1: [0, 0.0], 2: [0, 0.0]}
    with OdooServer(run.dbname, workers=1, max_cron_threads=1) as first:
        print(f"server 1          {shlex.join(first.command)}", flush=True)
        for index in range(2 * args.scale_rounds):
            servers = 1 if index % 2 == 0 else 2
            if index % 4 >= 2:
                servers = 3 - servers  # order of the sides: 1, 2, 2, 1, 1, 2...
            specs = make_specs(f"so{index}", run.tag, args.scale_orders, args.seed + 10 + index)
            path = run.events(f"scale{index}", specs)
            keys = tuple(spec.external_id for spec in specs)
            with contextlib.ExitStack() as stack:
                if not wait_for_empty_queue(run.dbname):
                    run.failures.append("scale-out: the queue did not empty before a round")
                if servers == 2:
                    stack.enter_context(OdooServer(run.dbname, workers=1, max_cron_threads=1))
                    time.sleep(3)  # its cron worker connects and listens
                # One transaction stores the round's events; its commit triggers the crons.
                run_shell(run.dbname, CRON_RUN_CODE + STORE_CODE + "_store_for(P['backend_id'], _rows(P['path']))\n"
                          "_emit({})\n", {"backend_id": backend_id, "path": path, "budget": 60}, timeout=900)
                deadline = time.monotonic() + 900
                while done_count(run.dbname, backend_id, keys) < len(keys) and time.monotonic() < deadline:
                    time.sleep(0.5)
            finished = done_count(run.dbname, backend_id, keys)
            if finished < len(keys):
                run.failures.append(f"scale-out round {index}: {finished} of {len(keys)} done")
            # From the commit (the last event's intake time, just before it) to the last event done:
            # the shell's start-up and the polling are not the processors' time.
            (wall,), = query(run.dbname, "SELECT extract(epoch FROM max(processed_at) - max(received_at)) "
                             "FROM omni_event WHERE backend_id = %s AND resource_key IN %s", (backend_id, keys))
            wall = float(wall)
            results[servers][0] += finished
            results[servers][1] += wall
            print(f"round {index + 1}           {servers} server(s): {finished} orders in {wall:.1f} s "
                  f"({finished / wall:.2f} orders/s); load {load_line()}", flush=True)
    one, two = (results[n][0] / results[n][1] for n in (1, 2))
    row("scale-out: two Odoo servers (separate processes, one database) draining one queue, vs one server",
        ">= 1.7x", f"{two:.2f} / {one:.2f} orders/s = {two / one:.2f}x")


# -------------------------------------------------------------------------------- web


def order_webhooks(run, prefix, count):
    """Signed webhook deliveries of the test channel (JSON bodies about an order's size)."""
    sign = load_signer()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    deliveries = []
    for index in range(count):
        updated = (start + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z")
        body = json.dumps({"resource": f"{prefix}-r{index}", "name": f"Contact {prefix} {index}",
                           "updated_at": updated, "note": "x" * 1500}).encode()  # about an order's size
        headers = {"Content-Type": "application/json", "X-Omni-Topic": "test.upsert",
                   "X-Omni-Event-Id": f"{prefix}-{index:07d}", "X-Omni-Hmac-Sha256": sign(run.secret, body),
                   "User-Agent": "omni-bench-round2/1"}
        deliveries.append(Delivery("POST", f"/omni/webhook/{run.setup['hooks_id']}", body, headers,
                                   f"{prefix}-{index:07d}"))
    return deliveries


def section_web(run):
    args = run.args
    print(f"\n== web: closed loop {args.senders} senders, {args.web_rounds} rounds per side of {args.web_requests} "
          f"requests; open loop {args.rate:g}/s for {args.open_seconds:g} s; load {load_line()} ==", flush=True)
    health = Delivery("GET", "/web/health", None, {"User-Agent": "omni-bench-round2/1"})
    with OdooServer(run.dbname, workers=4, max_cron_threads=1) as server:
        print(f"server            {shlex.join(server.command)}", flush=True)
        run_load(server.port, [health] * 200, args.senders)
        run_load(server.port, order_webhooks(run, f"warm{run.tag}", 200), args.senders)
        latencies = {"health": [], "webhook": []}
        statuses = {"health": {}, "webhook": {}}
        for index in range(2 * args.web_rounds):
            side = ("health", "webhook")[(index + index // 2) % 2]  # health, webhook, webhook, health, ...
            deliveries = [health] * args.web_requests if side == "health" else \
                order_webhooks(run, f"cl{run.tag}x{index}", args.web_requests)
            result = run_load(server.port, deliveries, args.senders)
            latencies[side] += [outcome.latency * 1000 for outcome in result.outcomes]
            for outcome in result.outcomes:
                statuses[side][outcome.status] = statuses[side].get(outcome.status, 0) + 1
        p99 = {}
        for side in ("health", "webhook"):
            values = sorted(latencies[side])
            p99[side] = percentile(values, 0.99)
            print(f"closed loop {side:<7} {len(values)} requests, p50 {percentile(values, 0.5):.1f} ms, p90 "
                  f"{percentile(values, 0.9):.1f} ms, p99 {p99[side]:.1f} ms, max {values[-1]:.1f} ms; status "
                  f"{statuses[side]}", flush=True)
        row("closed loop, 16 senders: webhook p99 / /web/health p99 at the same load", "<= 1.2x",
            f"{p99['webhook']:.0f} ms vs {p99['health']:.0f} ms = {p99['webhook'] / p99['health']:.2f}x")
        # open loop: webhooks arrive while the cron worker processes a backlog of orders (stored in
        # one transaction just before; its commit triggers the cron) and the webhooks' own events
        count = int(args.rate * args.open_seconds)
        deliveries = order_webhooks(run, f"ol{run.tag}", count)
        backlog = make_specs("ob", run.tag, args.open_backlog, args.seed + 77)
        backlog_keys = tuple(spec.external_id for spec in backlog)
        backend_id = run.setup["backends"]["confirm"]
        run_shell(run.dbname, CRON_RUN_CODE + STORE_CODE + "_store_for(P['backend_id'], _rows(P['path']))\n_emit({})\n",
                  {"backend_id": backend_id, "path": run.events("open_backlog", backlog), "budget": 60}, timeout=900)
        began = time.perf_counter()
        result = run_load(server.port, deliveries, args.senders, rate=args.rate)
        orders_done = done_count(run.dbname, backend_id, backlog_keys)
        values = sorted(outcome.latency * 1000 for outcome in result.outcomes)
        processed = query(run.dbname, "SELECT count(*) FROM omni_event WHERE backend_id = %s AND idempotency_key "
                          "LIKE %s AND state = 'done' AND processed_at <= now() at time zone 'UTC'",
                          (run.setup["hooks_id"], f"ol{run.tag}-%"))[0][0]
        bad = sum(outcome.status != 200 for outcome in result.outcomes)
        print(f"open loop         {count} webhooks offered at {args.rate:g}/s in {time.perf_counter() - began:.1f} s, "
              f"p50 {percentile(values, 0.5):.1f} ms, p90 {percentile(values, 0.9):.1f} ms, p99 "
              f"{percentile(values, 0.99):.1f} ms, max {values[-1]:.1f} ms; {bad} not 200; {processed} of their "
              f"events and {orders_done} of {len(backlog)} backlog orders processed by the cron worker when the "
              "load ended",
              flush=True)
        row(f"open loop at {args.rate:g} webhooks/s with the processor draining at the same time", "p99 < 50 ms",
            f"p99 {percentile(values, 0.99):.1f} ms (p50 {percentile(values, 0.5):.1f} ms; meanwhile the cron worker "
            f"processed {orders_done} orders and {processed} of the {count} webhook events)")
        if bad:
            run.failures.append(f"web: {bad} open-loop webhooks not answered 200")
        began = time.perf_counter()
        drained = wait_for_empty_queue(run.dbname)
        print(f"open loop drain   the cron worker finished the rest of the queue {time.perf_counter() - began:.0f} s "
              f"after the load{'' if drained else ' (NOT drained in time)'}", flush=True)
        problems = server.log_problems()
        if problems:
            run.failures.append(f"web: {len(problems)} error lines in the server log: {problems[:2]}")


# ----------------------------------------------------------------------------- growth

GROW_CODE = r"""
_store_for(P["backend_id"], _rows(P["path"]))
_drain()
_emit({"left": _queued()})
"""

# The tables cloned to grow the database, each with the column naming its source rows.
CLONE_SQL = r"""
CREATE TEMP TABLE src_so AS SELECT id FROM sale_order WHERE omni_backend_id = %(backend)s;
CREATE TEMP TABLE src_partner AS
    SELECT partner_id AS id FROM sale_order WHERE id IN (SELECT id FROM src_so)
    UNION SELECT partner_invoice_id FROM sale_order WHERE id IN (SELECT id FROM src_so)
    UNION SELECT partner_shipping_id FROM sale_order WHERE id IN (SELECT id FROM src_so)
    UNION SELECT id FROM res_partner
           WHERE parent_id IN (SELECT partner_id FROM sale_order WHERE id IN (SELECT id FROM src_so));
CREATE TEMP TABLE src_sol AS SELECT id FROM sale_order_line WHERE order_id IN (SELECT id FROM src_so);
CREATE TEMP TABLE src_picking AS SELECT id FROM stock_picking WHERE sale_id IN (SELECT id FROM src_so);
CREATE TEMP TABLE src_move AS SELECT id FROM stock_move WHERE picking_id IN (SELECT id FROM src_picking);
CREATE TEMP TABLE src_sml AS SELECT id FROM stock_move_line WHERE move_id IN (SELECT id FROM src_move);
CREATE TEMP TABLE src_binding AS SELECT id FROM omni_binding WHERE backend_id = %(backend)s;
CREATE TEMP TABLE src_event AS SELECT id FROM omni_event WHERE backend_id = %(backend)s;
CREATE TEMP TABLE src_pkey AS SELECT id FROM omni_partner_key WHERE partner_id IN (SELECT id FROM src_partner);
"""

CLONED = [  # table, source set, {column: table whose offset it takes}
    ("res_partner", "src_partner", {"parent_id": "res_partner", "commercial_partner_id": "res_partner"}),
    ("sale_order", "src_so", {"partner_id": "res_partner", "partner_invoice_id": "res_partner",
                              "partner_shipping_id": "res_partner"}),
    ("sale_order_line", "src_sol", {"order_id": "sale_order", "order_partner_id": "res_partner"}),
    ("stock_picking", "src_picking", {"sale_id": "sale_order", "partner_id": "res_partner"}),
    ("stock_move", "src_move", {"picking_id": "stock_picking", "sale_line_id": "sale_order_line",
                                "partner_id": "res_partner"}),
    ("stock_move_line", "src_sml", {"move_id": "stock_move", "picking_id": "stock_picking"}),
    ("omni_partner_key", "src_pkey", {"partner_id": "res_partner"}),
    ("omni_binding", "src_binding", {}),
    ("omni_event", "src_event", {}),
]
REL_CLONED = [("account_tax_sale_order_line_rel", "sale_order_line_id", "sale_order_line")]
# Unique values suffixed per copy (text columns of unique indexes, and what dedupe searches).
SUFFIXED = {"res_partner": ["email", "email_normalized", "name", "complete_name"],
            "sale_order": ["name", "omni_external_id", "client_order_ref", "omni_channel_order_name"],
            "stock_picking": ["name"], "omni_partner_key": ["key"], "omni_binding": ["external_id"],
            "omni_event": ["idempotency_key", "resource_key"]}


def clone_database(dbname, backend_id, target):
    """Grow ``dbname`` to about ``target`` sale orders by copying the backend's orders set-based."""
    import psycopg2  # noqa: PLC0415 - installed with Odoo

    began = time.monotonic()
    with contextlib.closing(psycopg2.connect(dbname=dbname)) as conn:
        conn.autocommit = False
        cr = conn.cursor()
        cr.execute("SET session_replication_role = replica")  # no FK triggers: ids are remapped consistently
        cr.execute(CLONE_SQL, {"backend": backend_id})
        cr.execute("SELECT count(*) FROM src_so")
        per_copy = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM sale_order")
        copies = max((target - cr.fetchone()[0]) // max(per_copy, 1), 0)
        columns = {}
        for table, _src, _fks in CLONED + [(rel, None, None) for rel, _c, _t in REL_CLONED]:
            cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                       "ORDER BY ordinal_position", (table,))
            columns[table] = [name for (name,) in cr.fetchall()]
        offsets = {}
        for table, _src, _fks in CLONED:
            cr.execute(f"SELECT COALESCE(max(id), 0) FROM {table}")
            offsets[table] = cr.fetchone()[0]
        res_model_of = {"sale_order": "sale.order", "sale_order_line": "sale.order.line", "res_partner": "res.partner"}
        for copy in range(1, copies + 1):
            for table, src, fks in CLONED:
                exprs = []
                for column in columns[table]:
                    if column == "id":
                        exprs.append(f"id + {offsets[table] * copy}")
                    elif column in fks:
                        other = fks[column]
                        source = dict((t, s) for t, s, _f in CLONED)[other]
                        exprs.append(f'CASE WHEN "{column}" IN (SELECT id FROM {source}) '
                                     f'THEN "{column}" + {offsets[other] * copy} ELSE "{column}" END')
                    elif column in SUFFIXED.get(table, ()):
                        exprs.append(f"""CASE WHEN "{column}" IS NULL THEN NULL ELSE 'c{copy}.' || "{column}" END""")
                    elif table in ("omni_binding", "omni_event") and column == "res_id":
                        cases = " ".join(f"WHEN res_model = '{model}' THEN res_id + {offsets[t] * copy}"
                                         for t, model in res_model_of.items())
                        exprs.append(f"CASE {cases} ELSE res_id END")
                    else:
                        exprs.append(f'"{column}"')
                names = ", ".join(f'"{column}"' for column in columns[table])
                cr.execute(f'INSERT INTO {table} ({names}) SELECT {", ".join(exprs)} FROM {table} '
                           f"WHERE id IN (SELECT id FROM {src})")
            for rel, column, table in REL_CLONED:
                other_columns = [c for c in columns[rel] if c != column]
                src = dict((t, s) for t, s, _f in CLONED)[table]
                cr.execute(f"INSERT INTO {rel} ({column}, {', '.join(other_columns)}) "
                           f"SELECT {column} + {offsets[table] * copy}, {', '.join(other_columns)} FROM {rel} "
                           f"WHERE {column} IN (SELECT id FROM {src})")
            if copy % 10 == 0:
                conn.commit()
                cr.execute("SET session_replication_role = replica")
                print(f"                  {copy} of {copies} copies ({time.monotonic() - began:.0f} s)", flush=True)
        for table, _src, _fks in CLONED:
            cr.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    return copies, per_copy, time.monotonic() - began


def vacuum(dbname):
    import psycopg2  # noqa: PLC0415

    with contextlib.closing(psycopg2.connect(dbname=dbname)) as conn:
        conn.autocommit = True
        conn.cursor().execute("VACUUM (ANALYZE)")


BATCH_CODE = r"""
_store_for(P["backend_id"], _rows(P["path"]))
W = P["warmup"]
if W:
    _cron_run(W)
calibration = _calibrate()
before = _snap()
done = _cron_run(None)
cost = _delta(before, _snap())
calibration = (calibration + _calibrate()) / 2
_emit({"done": done, "cost": cost, "calibration": calibration, "left": _queued()})
"""


def sale_orders(dbname):
    return query(dbname, "SELECT count(*) FROM sale_order")[0][0]


def section_growth(run):
    args = run.args
    backend_id = run.setup["backends"]["confirm"]
    missing = args.small - sale_orders(run.dbname)
    print(f"\n== growth: {args.small} vs {args.large} sale orders; load {load_line()} ==", flush=True)
    if missing > 0:
        began = time.monotonic()
        specs = make_specs("gs", run.tag, missing, args.seed + 99)
        run_shell(run.dbname, CRON_RUN_CODE + STORE_CODE + GROW_CODE,
                  {"backend_id": backend_id, "path": run.events("grow_small", specs), "budget": 24 * 3600},
                  timeout=600 + 10 * missing)
        print(f"small database    grown through the pipeline to {sale_orders(run.dbname)} sale orders in "
              f"{time.monotonic() - began:.0f} s", flush=True)
    large_db = run.dbname + "_large"
    drop_database(large_db)
    subprocess.run(["createdb", "-T", run.dbname, large_db], check=True, capture_output=True, timeout=1800)
    run.large_db = large_db
    copies, per_copy, seconds = clone_database(large_db, backend_id, args.large)
    print(f"large database    {large_db}: {copies} set-based copies of the {per_copy} orders of the pipeline "
          f"backend (with their rows) in {seconds:.0f} s -> {sale_orders(large_db)} sale orders", flush=True)
    for dbname in (run.dbname, large_db):
        vacuum(dbname)
    sizes = {run.dbname: sale_orders(run.dbname), large_db: sale_orders(large_db)}
    totals = {dbname: {"orders": 0, "wall": 0.0, "cpu": 0.0, "queries": 0, "calibration": []} for dbname in sizes}
    for index in range(2 * args.growth_rounds):
        dbname = (run.dbname, large_db)[(index + index // 2) % 2]
        if queued(dbname):
            run.failures.append(f"growth: events queued in {dbname} before a batch")
        specs = make_specs(f"gb{index}", run.tag, args.growth_batch + 5, args.seed + 200 + index)
        result = run_shell(dbname, CRON_RUN_CODE + STORE_CODE + BATCH_CODE,
                           {"backend_id": backend_id, "path": run.events(f"growth{index}", specs), "warmup": 5,
                            "budget": 24 * 3600}, timeout=600 + 10 * args.growth_batch)
        total, cost = totals[dbname], result["cost"]
        total["orders"] += result["done"]
        total["wall"] += cost["wall"]
        total["cpu"] += cost["cpu"] + cost["pg"]
        total["queries"] += cost["queries"]
        total["calibration"].append(result["calibration"])
        print(f"batch {index + 1:<11} {sizes[dbname]:>7} sale orders: {result['done']} orders, "
              f"{cost['wall'] * 1000 / max(result['done'], 1):.1f} ms/order, "
              f"{cost['queries'] / max(result['done'], 1):.1f} "
              f"queries/order, calibration {result['calibration'] * 1000:.0f} ms; load {load_line()}", flush=True)
    small, large = totals[run.dbname], totals[large_db]

    def per(total, key):
        return total[key] / max(total["orders"], 1)

    calibration = (sum(large["calibration"]) / len(large["calibration"])) / \
        (sum(small["calibration"]) / len(small["calibration"]))
    wall_ratio = per(large, "wall") / per(small, "wall")
    row(f"growth: cost per order at {sizes[run.dbname]:,} vs {sizes[large_db]:,} sale orders (calibrated; "
        "queries per order flat)", "<= 1.1x",
        f"{per(large, 'wall') * 1000:.1f} vs {per(small, 'wall') * 1000:.1f} ms/order = {wall_ratio:.2f}x wall, "
        f"{wall_ratio / calibration:.2f}x calibrated (calibration {calibration:.2f}x), CPU "
        f"{per(large, 'cpu') / per(small, 'cpu'):.2f}x, queries {per(large, 'queries'):.1f} vs "
        f"{per(small, 'queries'):.1f} per order = {per(large, 'queries') / per(small, 'queries'):.2f}x")


# ------------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="import,scaleout,web,growth")
    parser.add_argument("--orders", type=int, default=100, help="measured orders per way in 'import' (100)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--scale-orders", type=int, default=60, help="orders per scale-out round (60)")
    parser.add_argument("--scale-rounds", type=int, default=2, help="rounds per side (2)")
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--web-requests", type=int, default=400, help="requests per closed-loop round (400)")
    parser.add_argument("--web-rounds", type=int, default=3, help="closed-loop rounds per side (3)")
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--open-seconds", type=float, default=20.0)
    parser.add_argument("--open-backlog", type=int, default=100,
                        help="orders queued for the cron worker when the open loop starts (100)")
    parser.add_argument("--small", type=int, default=1000, help="sale orders of the small database (1000)")
    parser.add_argument("--large", type=int, default=100000, help="sale orders of the large database (100000)")
    parser.add_argument("--growth-batch", type=int, default=40, help="orders per growth batch (40)")
    parser.add_argument("--growth-rounds", type=int, default=2, help="growth batches per database (2)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the databases at the end")
    parser.add_argument("--reuse-db", metavar="NAME", help="run in this existing database (never dropped)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    run = Run(args)
    run.large_db = None
    random.seed(args.seed)
    if args.reuse_db:
        run.dbname = args.reuse_db
    print(f"== Performance, round 2: database {run.dbname}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ==",
          flush=True)
    try:
        if not args.reuse_db:
            create_database(run.dbname, [ADDON])
        for line in machine_lines(run.dbname):
            print(line)
        setup(run)
        sections = {"import": section_import, "scaleout": section_scaleout, "web": section_web,
                    "growth": section_growth}
        for name in args.sections.split(","):
            began = time.monotonic()
            try:
                sections[name](run)
            except Exception as error:
                run.failures.append(f"{name}: {type(error).__name__}: {error}")
                print(f"section {name} FAILED: {type(error).__name__}: {str(error)[:2000]}", flush=True)
            print(f"(section {name}: {time.monotonic() - began:.0f} s; load {load_line()})", flush=True)
    finally:
        if not (args.keep_db or args.reuse_db):
            drop_database(run.dbname)
            if run.large_db:
                drop_database(run.large_db)
    print(f"\nload average      {load_line()} (after the run)")
    print("\n| figure | target | measured |\n|---|---|---|")
    for figure, target, measured in ROWS:
        print(f"| {figure} | {target} | {measured} |")
    if run.failures:
        print("\nFAILED: " + "; ".join(run.failures))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
