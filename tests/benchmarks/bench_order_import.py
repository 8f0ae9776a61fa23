#!/usr/bin/env python3
"""Order import benchmark: the event pipeline against the raw ORM and an XML-RPC middleware.

Creates a fresh database with ``omni_connector_base``, a 10 % sale tax (excluded from prices),
50 products with SKUs and a ``custom`` channel backend whose payment rule for ``paid`` orders
only CONFIRMS them (``create_invoice`` and ``register_payment`` off - the default rule also
invoices and registers the payment - so all ways do the same work: a confirmed sale order with
its delivery). Every order has 5 product lines of the 50 SKUs and one shipping line, is paid by
a gateway (stripe), and belongs to a new or a returning customer (about half each; the same
sequence for every way of importing). Everything runs on 127.0.0.1 and ``odoo shell``.

1. **Intake**: ``POST /omni/api/v1/<backend>/orders`` (Bearer key, canonical JSON) to a prefork
   server without cron workers, so the events queue up: orders/s and latency.
2. **Comparison** (one ``odoo shell``, one process, interleaved rounds of ``--chunk`` orders per
   way, the order of the ways rotating, so a load that comes and goes on a shared machine weighs
   on all of them alike):
   - the *pipeline processor* drains the events posted in 1 with the processor cron's own code
     (``omni.event._cron_process`` under a cron progress context: claim, apply, one commit per
     event, as the cron does);
   - (a) the *raw ORM*: partner by email or created, products by SKU in one search,
     ``sale.order.create`` + ``action_confirm``, one commit per order;
   - (b) an *XML-RPC middleware* (``xmlrpc.client``, one call after the other, against the server
     of 1): customer by email or created, SKUs with one ``search_read``, order with its lines,
     ``action_confirm``. Its cost is the server's (HTTP worker + PostgreSQL), its client's CPU
     is reported apart.
   Printed: orders/s, ms/order, CPU ms/order (Odoo, PostgreSQL), queries/order, peak RSS of the
   process, the share of the machine other processes used meanwhile, and the ratios.
3. **A/B of the processor's entries** (``--ab-orders``): alternating chunks drained by one long
   ``_cron_process`` run and through Odoo's own cron entry (``ir.cron._process_job``, the path a
   cron worker takes, with its 10 s runs and per-run bookkeeping).
4. **Server cron worker** (``--cron-orders``): events posted to a ``--workers=1
   --max-cron-threads=1`` server drained by its own (niced) cron worker; RSS of that worker.
5. **Scaling**: the database is grown through the pipeline (``--grow-jobs`` processes sharing
   the queue) to ``--small-db`` sale orders, where a batch of ``--scale-batch`` orders is timed,
   and then to ``--large-db``, where another one is; growth stops after ``--grow-minutes`` in
   all and the size actually reached is printed.

Checks: one confirmed sale order with a delivery per order, every event done, one customer per
distinct email. ``--profile`` adds a cProfile and a per-statement query breakdown of the
processor and of the raw ORM on an extra, unmeasured batch, and the statements the pipeline
adds per order. The database is dropped at the end unless ``--keep-db``.

Quick run (about 30 minutes on 2 shared cores)::

    python3 tests/benchmarks/bench_order_import.py --orders 300 --profile

Full run (grows the database to 20,000 sale orders, or as far as 20 minutes of growth get)::

    python3 tests/benchmarks/bench_order_import.py --orders 1000 --large-db 20000 --grow-minutes 20 --profile
"""

import argparse
import contextlib
import importlib.util
import json
import os
import random
import secrets
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.bench_webhook_intake import Delivery, machine_lines, percentile, run_load
from tests.benchmarks.odoo_server import (
    REPO,
    OdooHarnessError,
    OdooServer,
    cpu_delta,
    cpu_snapshot,
    create_database,
    drop_database,
    odoo_shell,
    query,
)

ADDON = "omni_connector_base"
SKU_COUNT = 50
LINES_PER_ORDER = 5
TAX_RATE = Decimal("0.10")
SHIPPING_PRICE = Decimal("4.90")
CENT = Decimal("0.01")
RETURNING_SHARE = 0.5  # probability that an order belongs to an earlier customer
RECENT_CUSTOMERS = 10  # returning customers are picked among older ones (no two workers create one)
SHELL_MARK = "BENCH_RESULT="
CRON_BUDGET_SECONDS = 24 * 3600  # the shell's cron run is never cut short by the time budget
CRON_POLL_SECONDS = 0.25
GROW_CHUNK = 100  # events a growth worker stores before draining the queue again
TARGETS = {"raw_orm": 0.8, "xmlrpc": 1.6, "scaling": 1.2}


def load_canonical():
    """The addon's pure-Python ``canonical`` package, loaded by path (the addon imports Odoo)."""
    folder = REPO / ADDON / "canonical"
    name = "omni_bench_canonical"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


canonical = load_canonical()


# ----------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal


def catalog():
    """50 products; prices are whole multiples of 10 cents so 10 % tax is exact to the cent."""
    return [Product(f"BENCH-{index:03d}", f"Benchmark product {index:03d}",
                    Decimal("5.00") + Decimal("0.70") * index) for index in range(SKU_COUNT)]


@dataclass
class Spec:
    """One order as the source system has it: what every way of importing receives."""

    external_id: str
    name: str
    customer_key: str
    email: str
    first_name: str
    last_name: str
    street: str
    city: str
    zip: str
    lines: list  # (Product, quantity)
    created_at: datetime
    extra: dict = field(default_factory=dict)


def make_specs(kind, tag, count, seed, start_index=0):
    """``count`` orders of ``kind`` (pipe, orm, rpc, grow...): the customer sequence and the
    products depend on ``seed`` only, so every kind gets the same mix of new and returning
    customers."""
    rng = random.Random(seed)
    products = catalog()
    customers = []
    specs = []
    base = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for index in range(start_index, start_index + count):
        older = customers[:max(len(customers) - RECENT_CUSTOMERS, 0)]
        if older and rng.random() < RETURNING_SHARE:
            number = rng.choice(older)
        else:
            number = len(customers)
            customers.append(number)
        chosen = rng.sample(products, LINES_PER_ORDER)
        specs.append(Spec(
            external_id=f"{kind}-{tag}-{index:06d}",
            name=f"#{kind.upper()}{index:06d}",
            customer_key=f"{kind}-{tag}-c{number}",
            email=f"{kind}.{tag}.c{number}@bench.example",
            first_name="Customer",
            last_name=f"{kind.upper()} {number}",
            street=f"{number % 997 + 1} Benchmark Street",
            city="Springfield",
            zip=f"{10000 + number % 89999}",
            lines=[(product, rng.randint(1, 3)) for product in chosen],
            created_at=base + timedelta(seconds=index),
        ))
    return specs


def spec_to_order(spec, currency):
    """The canonical order of a spec: taxes excluded, 10 % per line, one shipping line, paid."""
    cn = canonical
    lines = []
    for position, (product, quantity) in enumerate(spec.lines):
        net = product.price * quantity
        lines.append(cn.Line(external_id=f"{spec.external_id}-l{position}", sku=product.sku, name=product.name,
                             quantity=Decimal(quantity), unit_price=product.price,
                             tax_lines=[cn.TaxLine(TAX_RATE, (net * TAX_RATE).quantize(CENT), "Sales tax 10%")]))
    shipping_tax = (SHIPPING_PRICE * TAX_RATE).quantize(CENT)
    untaxed = sum((product.price * quantity for product, quantity in spec.lines), Decimal(0)) + SHIPPING_PRICE
    tax = sum((line.tax_lines[0].amount for line in lines), Decimal(0)) + shipping_tax
    total = untaxed + tax
    address = cn.Address(first_name=spec.first_name, last_name=spec.last_name, street=spec.street, city=spec.city,
                         zip=spec.zip, country_code="US", email=spec.email)
    return cn.Order(
        external_id=spec.external_id, name=spec.name, currency=currency, taxes_included=False, lines=lines,
        created_at=spec.created_at, updated_at=spec.created_at,
        shipping_lines=[cn.ShippingLine(external_id=f"{spec.external_id}-s", code="standard",
                                        title="Standard shipping", price=SHIPPING_PRICE,
                                        tax_lines=[cn.TaxLine(TAX_RATE, shipping_tax, "Sales tax 10%")])],
        customer=cn.Customer(external_id=spec.customer_key, email=spec.email, first_name=spec.first_name,
                             last_name=spec.last_name),
        billing_address=address, shipping_address=address,
        payments=[cn.Payment(gateway="stripe", transaction_id=f"ch_{spec.external_id}", amount=total,
                             currency=currency)],
        financial_status="paid", total_untaxed=untaxed, total_tax=tax, total=total,
    )


def order_body(spec, currency):
    """The canonical JSON body (checked by reading it back, as the API does)."""
    data = canonical.order_to_dict(spec_to_order(spec, currency))
    canonical.order_from_dict(json.loads(json.dumps(data)))
    return json.dumps(data, separators=(",", ":")).encode()


def event_row(spec, currency):
    """An event as the API would store it (same keys), for events stored from a shell."""
    order = spec_to_order(spec, currency)
    return {
        "key": f"order:{order.external_id}:{canonical.format_datetime(order.updated_at)}",
        "resource_key": order.external_id,
        "source_ts": order.updated_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" "),
        "body": json.dumps(canonical.order_to_dict(order), separators=(",", ":")),
    }


def plain_row(spec):
    """What the references (raw ORM, XML-RPC middleware) receive: plain values, no channel format."""
    return {
        "ref": spec.name, "origin": f"bench: {spec.external_id}", "email": spec.email,
        "name": f"{spec.first_name} {spec.last_name}", "street": spec.street, "city": spec.city, "zip": spec.zip,
        "lines": [{"sku": product.sku, "name": product.name, "qty": quantity, "price": str(product.price)}
                  for product, quantity in spec.lines],
        "shipping": str(SHIPPING_PRICE),
    }


def write_jsonl(path, rows):
    with open(path, "w") as handle:
        for row in rows:
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")
    return str(path)


# ------------------------------------------------------------------------ odoo shell

SHELL_PRELUDE = r"""
import cProfile, io, json, os, pstats, re, time
from collections import defaultdict
import odoo.sql_db as _sql_db
from odoo import Command
P = json.loads(%(params)r)
_TICKS = os.sysconf("SC_CLK_TCK")

def _proc_cpu(pid):
    stat = open("/proc/%%s/stat" %% pid).read().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / _TICKS

def _rss_kb(field="VmRSS:"):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0

# PostgreSQL CPU of every backend this process opened (the cron opens its own cursors), read
# through a separate connection so the measurement adds no query to Odoo's counter.
import psycopg2
import psycopg2.errors
env.cr.execute("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
_APP_NAME = env.cr.fetchone()[0]
_METER = psycopg2.connect(dbname=env.cr.dbname, application_name="omni-bench-meter")
_METER.autocommit = True
_PG_SEEN = {}

def _pg_cpu():
    with _METER.cursor() as meter:
        meter.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %%s", (_APP_NAME,))
        for (pid,) in meter.fetchall():
            try:
                _PG_SEEN[pid] = _proc_cpu(pid)
            except OSError:
                pass
    return sum(_PG_SEEN.values())

def _machine_busy():
    values = [int(value) for value in open("/proc/stat").readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICKS

def _snap():
    return {"wall": time.perf_counter(), "cpu": time.process_time(), "pg": _pg_cpu(),
            "queries": _sql_db.sql_counter, "machine": _machine_busy()}

def _calibrate():
    # A fixed piece of Python and SQL work: how fast the machine runs us right now.
    began = time.perf_counter()
    total = 0
    for index in range(200000):
        total += index * index %% 7
    json.dumps([{"a": index, "b": str(index)} for index in range(20000)])
    with _METER.cursor() as meter:
        meter.execute("SELECT sum(x) FROM generate_series(1, 300000) AS x")
        meter.fetchone()
    return time.perf_counter() - began

def _delta(before, after):
    return {key: after[key] - before[key] for key in before}

def _emit(result):
    result["rss_peak_kb"] = _rss_kb("VmHWM:")
    print("BENCH_RESULT=" + json.dumps(result))

def _rows(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]

_QUERY_STATS = defaultdict(lambda: [0, 0.0])
_ORIGINAL_EXECUTE = _sql_db.Cursor.execute

def _normalize(query):
    text = getattr(query, "code", query)
    text = text.decode() if isinstance(text, bytes) else str(text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(%%s\s*,\s*)+%%s", "%%s,...", text)
    text = re.sub(r"\b\d+\b", "N", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", text)
    return text[:150]

def _recording_execute(self, query, params=None, log_exceptions=True):
    began = time.perf_counter()
    try:
        return _ORIGINAL_EXECUTE(self, query, params, log_exceptions)
    finally:
        stats = _QUERY_STATS[_normalize(query)]
        stats[0] += 1
        stats[1] += time.perf_counter() - began

def _profiled(function, orders, top=30):
    _QUERY_STATS.clear()
    _sql_db.Cursor.execute = _recording_execute
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        function()
        profiler.disable()
    finally:
        _sql_db.Cursor.execute = _ORIGINAL_EXECUTE
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats("omni_connector_base", top)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    queries = sorted(([n, t, q] for q, (n, t) in _QUERY_STATS.items()), reverse=True)
    return {"profile": text.getvalue(), "queries": queries, "orders": orders}
"""

SETUP_CODE = r"""
company = env.company
Tax = env["account.tax"]
tax = Tax.search([("name", "=", "Bench sales tax 10%"), ("company_id", "=", company.id)], limit=1)
if not tax:
    tax = Tax.create({"name": "Bench sales tax 10%", "amount": 10, "amount_type": "percent",
                      "type_tax_use": "sale", "price_include_override": "tax_excluded", "company_id": company.id})
Product = env["product.product"]
existing = {p.default_code: p for p in Product.search([("default_code", "in", [p[0] for p in P["products"]])])}
for sku, name, price in P["products"]:
    if sku not in existing:
        Product.create({"name": name, "default_code": sku, "type": "consu", "list_price": float(price),
                        "taxes_id": [Command.set([tax.id])]})
backend = env["omni.backend"].create({"name": "Order import benchmark " + P["tag"], "channel": "custom",
                                      "company_id": company.id, "retry_base_delay": 1})
paid = backend.payment_rule_ids.filtered(lambda rule: rule.financial_status == "paid")
paid.write({"confirm_order": True, "create_invoice": False, "register_payment": False})
_key, full_key = env["omni.api.key"]._omni_generate(backend, "order import benchmark")
# A load run measures the pipeline, not the gateway's per-key limit (its defaults would
# answer 429 to a sustained burst by design): the key gets room for the whole run.
_key.write({"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000})
admin = env.ref("base.user_admin")
admin.password = P["admin_password"]
env.cr.commit()
_emit({"backend_id": backend.id, "tax_id": tax.id, "currency": company.currency_id.name,
       "shipping_product_id": backend._omni_shipping_product("standard").id, "api_key": full_key,
       "admin_login": admin.login, "rules": [[r.sequence, r.gateway or "", r.financial_status or "",
       r.confirm_order, r.create_invoice, r.register_payment] for r in backend.payment_rule_ids]})
"""

# The processor as the cron runs it: a progress record in the context, one commit per event.
CRON_RUN_CODE = r"""
Event = env["omni.event"]
CRON = env.ref("omni_connector_base.cron_omni_event_process")

def _cron_run(limit=None):
    progress = env["ir.cron.progress"].sudo().create({"cron_id": CRON.id, "remaining": 0, "done": 0})
    env.cr.commit()
    return Event.with_context(cron_id=CRON.id, ir_cron_progress_id=progress.id,
                              cron_end_time=time.monotonic() + P["budget"])._cron_process(batch_limit=limit)

CONFLICTS = []

def _drain(max_rounds=1000, tolerate_conflicts=False):
    # Two processors can meet in the claim query: a row the other one finished after this
    # transaction's snapshot raises a serialization failure (REPEATABLE READ) and ends the run,
    # as it ends a cron run. With tolerate_conflicts the next run starts (the count of the
    # aborted run is lost; the sale orders are counted from the database).
    processed = 0
    for _round in range(max_rounds):
        try:
            done = _cron_run()
        except psycopg2.errors.SerializationFailure:
            if not tolerate_conflicts:
                raise
            env.cr.rollback()
            CONFLICTS.append(1)
            continue
        processed += done
        if not done:
            break
    return processed

def _queued():
    env.cr.commit()  # a fresh snapshot: other cursors (the cron's) may have committed
    env.cr.execute("SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry')")
    return env.cr.fetchone()[0]


def _store_rows(rows):
    backend = env["omni.backend"].browse(P["backend_id"])
    for row in rows:
        Event._omni_store_incoming(backend, row["body"].encode(), {
            "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
            "resource_key": row["resource_key"], "source_ts": row["source_ts"]})
    env.cr.commit()
"""

# Odoo's own cron entry (ir.cron._process_job -> _run_job -> _callback -> _cron_process), as a
# cron worker runs the job, until the queue is empty: the processor as deployed today.
CRON_JOB_CODE = r"""
def _cron_job_round():
    IrCron = env.registry["ir.cron"]
    with env.registry.cursor() as cron_cr:
        job = IrCron._acquire_one_job(cron_cr, CRON.id, include_not_ready=True)
        if not job:
            return False
        IrCron._process_job(cron_cr, job)
        cron_cr.commit()
    return True

def _drain_cron_jobs(max_rounds):
    rounds = 0
    while rounds < max_rounds and _queued():
        _cron_job_round()
        rounds += 1
    return rounds
"""

# The scaling points: the queue drained in chunks of one _cron_process run each, a fixed
# calibration workload between chunks (machine speed), the statements recorded.
PROCESS_CODE = r"""
if P.get("store_path"):
    _store_rows(_rows(P["store_path"]))
warm = _cron_run(P["warmup"]) if P["warmup"] else 0
queued = _queued()
rss_before = _rss_kb()
cost = dict.fromkeys(("wall", "cpu", "pg", "queries", "machine"), 0.0)
calibration = []
processed = 0
_QUERY_STATS.clear()
for _chunk in range(queued // P["chunk"] + 2):
    if not _queued():
        break
    calibration.append(_calibrate())
    _sql_db.Cursor.execute = _recording_execute
    try:
        before = _snap()
        processed += _cron_run(P["chunk"])
        for key, value in _delta(before, _snap()).items():
            cost[key] += value
    finally:
        _sql_db.Cursor.execute = _ORIGINAL_EXECUTE
calibration.sort()
queries = sorted(([n, t, q] for q, (n, t) in _QUERY_STATS.items()), reverse=True)
_emit({"warmup": warm, "queued": queued, "processed": processed, "cost": cost, "rss_before_kb": rss_before,
       "rss_after_kb": _rss_kb(), "left": _queued(), "calibration": calibration[len(calibration) // 2],
       "queries": queries})
"""

# The references: raw ORM in this process, and an XML-RPC middleware client (this process is
# only its client; the work is done by the server, measured through its process group).
REFERENCES_CODE = r"""
import xmlrpc.client
Partner = env["res.partner"]
Product = env["product.product"]
SaleOrder = env["sale.order"]
TAX = P["tax_id"]
SHIPPING = P["shipping_product_id"]
COUNTRY = env["res.country"].search([("code", "=", "US")], limit=1).id

def orm_import(row):
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
    env.cr.commit()


class Middleware:
    # What a typical integration script does over XML-RPC, one order after the other.

    def __init__(self):
        common = xmlrpc.client.ServerProxy(P["url"] + "/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(env.cr.dbname, P["login"], P["password"], {})
        assert self.uid, "XML-RPC authentication failed"
        self.models = xmlrpc.client.ServerProxy(P["url"] + "/xmlrpc/2/object", allow_none=True)
        self.calls = 0

    def call(self, model, method, *args, **kwargs):
        self.calls += 1
        return self.models.execute_kw(env.cr.dbname, self.uid, P["password"], model, method, list(args), kwargs)

    def import_order(self, row):
        found = self.call("res.partner", "search_read", [("email_normalized", "=", row["email"].lower())],
                          fields=["id"], limit=1)
        if found:
            partner_id = found[0]["id"]
        else:
            partner_id = self.call("res.partner", "create", {
                "name": row["name"], "email": row["email"], "street": row["street"], "city": row["city"],
                "zip": row["zip"], "country_id": COUNTRY, "customer_rank": 1})
        skus = [line["sku"] for line in row["lines"]]
        products = {p["default_code"]: p["id"] for p in self.call(
            "product.product", "search_read", [("default_code", "in", skus)], fields=["id", "default_code"])}
        lines = [(0, 0, {"product_id": products[line["sku"]], "name": line["name"], "product_uom_qty": line["qty"],
                         "price_unit": float(line["price"]), "tax_ids": [(6, 0, [TAX])]}) for line in row["lines"]]
        lines.append((0, 0, {"product_id": SHIPPING, "name": "Standard shipping", "product_uom_qty": 1,
                             "price_unit": float(row["shipping"]), "tax_ids": [(6, 0, [TAX])]}))
        order_id = self.call("sale.order", "create", {"partner_id": partner_id, "client_order_ref": row["ref"],
                                                      "origin": row["origin"], "order_line": lines})
        self.call("sale.order", "action_confirm", [order_id])


def _server_cpu():
    # CPU seconds of the server's HTTP workers (its process group, not niced like cron workers)
    # and of the other PostgreSQL backends of this database (the server's: nothing else runs).
    group = P["server_pgid"]
    master_nice = int(open("/proc/%s/stat" % group).read().rsplit(")", 1)[1].split()[16])
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % entry).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[2]) == group and int(entry) != group and int(stat[16]) <= master_nice:
            total += (int(stat[11]) + int(stat[12])) / _TICKS
    pg = 0.0
    with _METER.cursor() as meter:
        meter.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                      "AND application_name NOT IN (%s, 'omni-bench-meter')", (_APP_NAME,))
        for (pid,) in meter.fetchall():
            try:
                pg += _proc_cpu(pid)
            except OSError:
                pass
    return total, pg
"""

# Interleaved comparison: rounds of K orders of each way, the order of the ways rotating every
# round, so a load that comes and goes on a shared machine weighs on all of them alike.
COMPARE_CODE = r"""
middleware = Middleware()
orm_rows, rpc_rows = _rows(P["orm_path"]), _rows(P["rpc_path"])
W, K = P["warmup"], P["chunk"]
# warm-up of each way (untimed)
warm_pipe = _cron_run(W) if W else 0
for row in orm_rows[:W]:
    orm_import(row)
for row in rpc_rows[:W]:
    middleware.import_order(row)
middleware.calls = 0
orm_rows, rpc_rows = orm_rows[W:], rpc_rows[W:]
queued = _queued()
KEYS = ("wall", "cpu", "pg", "queries", "machine", "server", "server_pg", "orders")
totals = {way: dict.fromkeys(KEYS, 0.0) for way in ("pipeline", "orm", "rpc")}

def _measure(way, function):
    server_before = _server_cpu()
    before = _snap()
    done = function()
    after = _snap()
    server_after = _server_cpu()
    total = totals[way]
    for key, value in _delta(before, after).items():
        total[key] += value
    total["server"] += server_after[0] - server_before[0]
    total["server_pg"] += server_after[1] - server_before[1]
    total["orders"] += done

def _pipeline_chunk():
    return _cron_run(K)

def _orm_chunk(rows):
    for row in rows:
        orm_import(row)
    return len(rows)

def _rpc_chunk(rows):
    for row in rows:
        middleware.import_order(row)
    return len(rows)

rss_before = _rss_kb()
rounds = (max(len(orm_rows), queued) + K - 1) // K
for index in range(rounds):
    orm_chunk, rpc_chunk = orm_rows[index * K:(index + 1) * K], rpc_rows[index * K:(index + 1) * K]
    ways = [("pipeline", _pipeline_chunk), ("orm", lambda: _orm_chunk(orm_chunk)),
            ("rpc", lambda: _rpc_chunk(rpc_chunk))]
    shift = index % 3
    for way, function in ways[shift:] + ways[:shift]:
        _measure(way, function)
result = {"warmup": warm_pipe, "queued": queued, "rounds": rounds, "totals": totals, "left": _queued(),
          "rss_before_kb": rss_before, "rss_after_kb": _rss_kb(), "rpc_calls": middleware.calls}
if P.get("profile_pipe_path"):
    extra = _rows(P["profile_pipe_path"])
    _store_rows(extra)
    result["profile_pipeline"] = _profiled(_drain, len(extra))
    extra = _rows(P["profile_orm_path"])
    result["profile_orm"] = _profiled(lambda: _orm_chunk(extra), len(extra))
_emit(result)
"""

# A/B of the processor's two entries on the same kind of events, alternating chunks: one long
# _cron_process run ("loop") against Odoo's cron entry ("cron job", 10 s runs per job).
AB_CODE = r"""
loop_rows, job_rows = _rows(P["loop_path"]), _rows(P["job_path"])
W, K = P["warmup"], P["chunk"]
_store_rows(loop_rows[:W])
_drain()
_store_rows(job_rows[:W])
_drain_cron_jobs(W + 10)
loop_rows, job_rows = loop_rows[W:], job_rows[W:]
totals = {way: {"wall": 0.0, "cpu": 0.0, "pg": 0.0, "queries": 0.0, "machine": 0.0, "orders": 0, "runs": 0}
          for way in ("loop", "job")}
rounds = (len(loop_rows) + K - 1) // K
for index in range(rounds):
    for way in (("loop", "job") if index % 2 == 0 else ("job", "loop")):
        rows = (loop_rows if way == "loop" else job_rows)[index * K:(index + 1) * K]
        _store_rows(rows)
        before = _snap()
        if way == "loop":
            _drain()
        else:
            totals[way]["runs"] += _drain_cron_jobs(len(rows) + 10)
        for key, value in _delta(before, _snap()).items():
            totals[way][key] += value
        totals[way]["orders"] += len(rows)
_emit({"totals": totals, "left": _queued()})
"""

# A growth worker: store a chunk of its share of events, drain the (shared) queue, repeat,
# until the database holds the target number of sale orders or the time is up.
GROW_CODE = r"""
backend = env["omni.backend"].browse(P["backend_id"])

def _safe_drain():
    return _drain(tolerate_conflicts=True)

deadline = time.monotonic() + P["seconds"]

def _sale_orders():
    env.cr.execute("SELECT count(*) FROM sale_order")
    return env.cr.fetchone()[0]

with open(P["path"]) as handle:
    mine = [line for index, line in enumerate(handle) if index % P["jobs"] == P["index"]]
stored = processed = 0
position = 0
while position < len(mine) and time.monotonic() < deadline and _sale_orders() < P["target"]:
    for line in mine[position:position + P["chunk"]]:
        row = json.loads(line)
        stored += Event._omni_store_incoming(backend, row["body"].encode(), {
            "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
            "resource_key": row["resource_key"], "source_ts": row["source_ts"]})[1]
    position += P["chunk"]
    env.cr.commit()
    processed += _safe_drain()
# events of another worker may be waiting for a retry (two workers created one customer at once)
finish = time.monotonic() + 120
while time.monotonic() < finish:
    processed += _safe_drain()
    if not _queued():
        break
    time.sleep(1)
_emit({"stored": stored, "processed": processed, "left": _queued(), "rss_kb": _rss_kb(),
       "claim_conflicts": len(CONFLICTS)})
"""


def run_shell(dbname, code, params, timeout):
    """Run prelude + ``code`` in ``odoo shell``; return the dict it emitted."""
    source = SHELL_PRELUDE % {"params": json.dumps(params)} + code
    try:
        output = odoo_shell(dbname, source, timeout=timeout)
    except TypeError as error:  # the harness fails to quote a timed-out shell's (bytes) output
        raise OdooHarnessError(f"odoo shell on {dbname} did not finish within {timeout} s") from error
    for line in reversed(output.splitlines()):
        if line.startswith(SHELL_MARK):
            return json.loads(line[len(SHELL_MARK):])
    raise OdooHarnessError(f"the shell printed no result:\n{output[-3000:]}")


def shell_timeout(orders, per_order=3.0, base=300):
    return int(base + orders * per_order)


# --------------------------------------------------------------------------- figures


@dataclass
class Measure:
    """One way of importing: orders, wall seconds, CPU seconds (Odoo side and PostgreSQL)."""

    label: str
    orders: int
    wall: float
    odoo_cpu: float
    pg_cpu: float
    queries: int | None = None
    rss_kb: int | None = None
    note: str = ""
    foreign_cpu: float | None = None  # CPU seconds other processes used on the machine meanwhile

    @property
    def rate(self):
        return self.orders / self.wall if self.wall > 0 else 0.0

    @property
    def ms_per_order(self):
        return self.wall * 1000 / self.orders if self.orders else float("nan")

    @property
    def cpu_ms_per_order(self):
        return (self.odoo_cpu + self.pg_cpu) * 1000 / self.orders if self.orders else float("nan")

    def line(self):
        queries = f", {self.queries / self.orders:.0f} queries/order" if self.queries is not None else ""
        rss = f", peak RSS {self.rss_kb / 1024:.0f} MiB" if self.rss_kb else ""
        if self.foreign_cpu is not None and self.wall > 0:
            rss += f", other load {self.foreign_cpu / (self.wall * (os.cpu_count() or 1)):.0%}"
        return (f"{self.label:<28} {self.orders:>6} orders  {self.rate:7.2f} orders/s  "
                f"{self.ms_per_order:7.1f} ms/order"
                f"  CPU {self.odoo_cpu * 1000 / self.orders:6.1f} odoo + {self.pg_cpu * 1000 / self.orders:5.1f} pg"
                f" ms/order{queries}{rss}{self.note}")


def shell_measure(label, result, note=""):
    cost = result["cost"]
    return Measure(label, result["processed"], cost["wall"], cost["cpu"], cost["pg"], cost["queries"],
                   result.get("rss_peak_kb"), note, foreign_cpu=max(cost["machine"] - cost["cpu"] - cost["pg"], 0))


def foreign_seconds(cpu):
    """CPU seconds of a ``cpu_delta`` used by processes other than ours (server, its backends, us)."""
    ours = sum(seconds for kind, seconds in cpu.items() if kind != "machine")
    return max(cpu["machine"] - ours, 0.0)


def ratio_line(name, ours, theirs, target):
    ratio = ours / theirs if theirs else float("inf")
    verdict = "MET" if ratio >= target else "MISSED"
    return f"{name:<40} {ours:7.2f} / {theirs:7.2f} = {ratio:5.2f}x  (target >= {target}x: {verdict})"


def load_line():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# ------------------------------------------------------------------------- the phases


@dataclass
class Context:
    args: argparse.Namespace
    dbname: str
    tag: str
    workdir: Path
    setup: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    autovacuum: str = "?"
    measures: dict = field(default_factory=dict)

    @property
    def backend_id(self):
        return self.setup["backend_id"]

    @property
    def currency(self):
        return self.setup["currency"]


def phase_setup(ctx):
    params = {"tag": ctx.tag, "admin_password": secrets.token_urlsafe(16),
              "products": [[p.sku, p.name, str(p.price)] for p in catalog()]}
    ctx.setup = run_shell(ctx.dbname, SETUP_CODE, params, timeout=600)
    ctx.setup["admin_password"] = params["admin_password"]
    rules = "; ".join(f"seq {seq} gateway={gw or '*'} status={st or '*'}: confirm={c} invoice={i} payment={p}"
                      for seq, gw, st, c, i, p in ctx.setup["rules"])
    print(f"backend           custom channel id {ctx.backend_id}, currency {ctx.currency}, retry base delay 1 s")
    print(f"payment rules     {rules}")
    print("                  -> paid orders are CONFIRMED only (no invoice, no payment): like for like with the "
          "references")


def api_deliveries(ctx, specs):
    path = f"/omni/api/v1/{ctx.backend_id}/orders"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ctx.setup['api_key']}",
               "User-Agent": "omni-bench-orders/1"}
    return [Delivery("POST", path, order_body(spec, ctx.currency), headers, spec.external_id) for spec in specs]


def phase_intake(ctx, server, specs, title, workers=None):
    """POST the orders to the REST API; print the intake figures; return the wall time."""
    deliveries = api_deliveries(ctx, specs)
    cpu_before = cpu_snapshot(server, ctx.dbname)
    result = run_load(server.port, deliveries, ctx.args.intake_concurrency)
    cpu = cpu_delta(cpu_before, cpu_snapshot(server, ctx.dbname))
    latencies = sorted(outcome.latency * 1000 for outcome in result.outcomes)
    statuses = {}
    for outcome in result.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    count = len(deliveries)
    print(f"\n== Intake: {title} ==")
    print(f"requests          {count} POST /omni/api/v1/{ctx.backend_id}/orders, {ctx.args.intake_concurrency} "
          f"client threads, {workers or ctx.args.http_workers} HTTP worker(s), no cron worker running")
    print(f"throughput        {count / result.wall:.1f} orders/s (wall {result.wall:.2f} s)")
    print(f"latency           p50 {percentile(latencies, 0.5):.1f} ms, p90 {percentile(latencies, 0.9):.1f} ms, "
          f"p99 {percentile(latencies, 0.99):.1f} ms, max {latencies[-1]:.1f} ms")
    by_status = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(statuses.items()))
    print(f"HTTP status       {by_status}")
    print(f"CPU ms/order      odoo http {cpu['odoo http'] * 1000 / count:.2f}, postgres "
          f"{cpu['postgres'] * 1000 / count:.2f}, client {cpu['client'] * 1000 / count:.2f}; machine busy "
          f"{cpu['machine'] / result.wall:.2f} of {os.cpu_count()} CPUs")
    bad = count - statuses.get(202, 0)
    if bad:
        ctx.failures.append(f"intake ({title}): {bad} requests not answered 202")
    return result.wall


def phase_compare(ctx, server, orm_specs, rpc_specs, profile_specs):
    """Pipeline processor (the events posted to the API), raw ORM and XML-RPC, interleaved."""
    args = ctx.args
    params = {"warmup": args.warmup, "chunk": args.chunk, "budget": CRON_BUDGET_SECONDS,
              "backend_id": ctx.backend_id, "tax_id": ctx.setup["tax_id"],
              "shipping_product_id": ctx.setup["shipping_product_id"], "url": server.base_url,
              "login": ctx.setup["admin_login"], "password": ctx.setup["admin_password"],
              "server_pgid": server.process.pid,
              "orm_path": write_jsonl(ctx.workdir / "orm.jsonl", [plain_row(spec) for spec in orm_specs]),
              "rpc_path": write_jsonl(ctx.workdir / "rpc.jsonl", [plain_row(spec) for spec in rpc_specs])}
    if profile_specs:
        pipe, orm = profile_specs
        params["profile_pipe_path"] = write_jsonl(ctx.workdir / "profile_pipe.jsonl",
                                                  [event_row(spec, ctx.currency) for spec in pipe])
        params["profile_orm_path"] = write_jsonl(ctx.workdir / "profile_orm.jsonl",
                                                 [plain_row(spec) for spec in orm])
    result = run_shell(ctx.dbname, CRON_RUN_CODE + REFERENCES_CODE + COMPARE_CODE, params,
                       timeout=shell_timeout(3 * (args.orders + args.warmup) + 2 * args.profile_orders, 6))
    if result["left"]:
        ctx.failures.append(f"the processor left {result['left']} events queued")
    totals, rss = result["totals"], result["rss_peak_kb"]

    def measure(label, total, note=""):
        return Measure(label, int(total["orders"]), total["wall"], total["cpu"], total["pg"], total["queries"],
                       rss, note, foreign_cpu=max(total["machine"] - total["cpu"] - total["pg"], 0))

    ctx.measures["pipeline"] = measure("pipeline processor", totals["pipeline"])
    ctx.measures["raw_orm"] = measure("raw ORM (a)", totals["orm"])
    rpc = totals["rpc"]
    orders = max(rpc["orders"], 1)
    ctx.measures["xmlrpc"] = Measure(
        "XML-RPC middleware (b)", int(rpc["orders"]), rpc["wall"], rpc["server"], rpc["server_pg"],
        foreign_cpu=max(rpc["machine"] - rpc["cpu"] - rpc["pg"] - rpc["server"] - rpc["server_pg"], 0),
        note=f", {result['rpc_calls'] / orders:.1f} calls/order; client CPU {rpc['cpu'] * 1000 / orders:.1f} "
             "ms/order not counted")
    print(f"comparison        {result['rounds']} interleaved rounds of {args.chunk} orders per way "
          f"(+{args.warmup} warm-up each); {result['queued']} events queued for the processor; shell RSS "
          f"{result['rss_before_kb'] / 1024:.0f} MiB before, {result['rss_after_kb'] / 1024:.0f} MiB after, "
          f"peak {rss / 1024:.0f} MiB", flush=True)
    return result


def phase_ab(ctx):
    """The processor entered two ways on alternating chunks: one long run vs Odoo's cron job."""
    args = ctx.args
    count = args.ab_orders
    loop_specs = make_specs("abl", ctx.tag, count + args.warmup, args.seed + 2)
    job_specs = make_specs("abj", ctx.tag, count + args.warmup, args.seed + 2)
    params = {"warmup": args.warmup, "chunk": max(args.chunk, 20), "budget": CRON_BUDGET_SECONDS,
              "backend_id": ctx.backend_id,
              "loop_path": write_jsonl(ctx.workdir / "ab_loop.jsonl", [event_row(s, ctx.currency) for s in loop_specs]),
              "job_path": write_jsonl(ctx.workdir / "ab_job.jsonl", [event_row(s, ctx.currency) for s in job_specs])}
    result = run_shell(ctx.dbname, CRON_RUN_CODE + CRON_JOB_CODE + AB_CODE, params,
                       timeout=shell_timeout(2 * (count + args.warmup), 8))
    if result["left"]:
        ctx.failures.append(f"the A/B left {result['left']} events queued")
    measures = {}
    for way, label in (("loop", "processor, one long run"), ("job", "processor via ir.cron jobs")):
        total = result["totals"][way]
        note = f" ({total['runs']} cron job runs)" if way == "job" else ""
        measures[way] = Measure(label, int(total["orders"]), total["wall"], total["cpu"], total["pg"],
                                total["queries"], result["rss_peak_kb"], note,
                                foreign_cpu=max(total["machine"] - total["cpu"] - total["pg"], 0))
    check_orders(ctx, loop_specs, "A/B one long run")
    check_orders(ctx, job_specs, "A/B via ir.cron")
    return measures


def phase_real_cron(ctx, specs):
    """Drain ``specs`` (posted to the API first) with a server's own cron worker.

    The processor cron's row is held locked while the server starts and the events are posted
    (a cron worker skips a locked job), then released with a wake-up notification, so nothing is processed before
    the polling starts. The clock starts once the worker has finished some events (its caches
    are warm) and stops when the last one is finished.
    """
    import psycopg2  # noqa: PLC0415 - installed with Odoo

    keys = tuple(spec.external_id for spec in specs)
    warm = min(max(ctx.args.warmup, 10), len(specs) // 3)
    timeout = 600 + 3 * len(specs)
    cron_id = query(ctx.dbname, "SELECT res_id FROM ir_model_data WHERE module = 'omni_connector_base' "
                    "AND name = 'cron_omni_event_process'")[0][0]

    def finished():
        return query(ctx.dbname, "SELECT count(*) FROM omni_event WHERE backend_id = %s AND resource_key IN %s "
                     "AND state NOT IN ('pending', 'retry')", (ctx.backend_id, keys))[0][0]

    server = OdooServer(ctx.dbname, workers=1, max_cron_threads=1)
    with contextlib.closing(psycopg2.connect(dbname=ctx.dbname)) as hold:
        with hold.cursor() as cursor:
            # NO KEY UPDATE: what a cron worker's job acquisition conflicts with, while the intake's
            # trigger inserts (foreign key checks: KEY SHARE) go through.
            cursor.execute("SELECT id FROM ir_cron WHERE id = %s FOR NO KEY UPDATE", (cron_id,))
        with server:
            phase_intake(ctx, server, specs, "server-cron batch (cron job held until stored)", workers=1)
            stored = query(ctx.dbname, "SELECT count(*) FROM omni_event WHERE backend_id = %s AND resource_key IN %s",
                           (ctx.backend_id, keys))[0][0]
            hold.commit()
            query("postgres", "SELECT pg_notify('cron_trigger', %s)", (ctx.dbname,))
            peak_kb = 0
            deadline = time.monotonic() + timeout
            done = 0
            start = None  # (time, done, cpu) once warm
            while time.monotonic() < deadline:
                peak_kb = max(peak_kb, _cron_worker_peak_kb(server))
                done = finished()
                if start is None and done >= warm:
                    start = (time.perf_counter(), done, cpu_snapshot(server, ctx.dbname))
                if done >= stored:
                    break
                time.sleep(CRON_POLL_SECONDS)
            end = (time.perf_counter(), done, cpu_snapshot(server, ctx.dbname))
            peak_kb = max(peak_kb, _cron_worker_peak_kb(server))
            log_tail = server.log_tail(5)
    if done < stored or start is None or end[1] <= start[1]:
        ctx.failures.append(f"server cron: only {done} of {stored} events finished in {timeout} s")
        print(f"server log tail:\n{log_tail}")
        return None
    cpu = cpu_delta(start[2], end[2])
    runs = query(ctx.dbname, "SELECT count(*) FROM ir_cron_progress WHERE cron_id = %s", (cron_id,))[0][0]
    return Measure("pipeline, server cron worker", end[1] - start[1], end[0] - start[0], cpu["odoo cron"],
                   cpu["postgres"], rss_kb=peak_kb, foreign_cpu=foreign_seconds(cpu),
                   note=f" (measured after {start[1]} warm-up events; {runs} cron progress records so far)")


def _cron_worker_peak_kb(server):
    """VmHWM (peak RSS) of the server's cron workers, in kB: the processes of the server's group
    that run nicer than its master (Odoo renices its cron workers by 10)."""
    group = server.process.pid if server.process else None
    if group is None:
        return 0

    def stat(pid):
        fields_ = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields_[2]), int(fields_[16])  # process group, nice

    try:
        master_nice = stat(group)[1]
    except (OSError, ValueError, IndexError):
        return 0
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            pgrp, nice = stat(entry.name)
            if pgrp != group or nice <= master_nice:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak


def sale_order_count(ctx):
    return query(ctx.dbname, "SELECT count(*) FROM sale_order")[0][0]


def vacuum_analyze(ctx):
    """``VACUUM (ANALYZE)`` the database, as autovacuum would have by now (it is off on some
    machines: then the planner keeps the statistics of empty tables and picks bad plans)."""
    import psycopg2  # noqa: PLC0415 - installed with Odoo

    began = time.monotonic()
    with contextlib.closing(psycopg2.connect(dbname=ctx.dbname)) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    print(f"vacuum analyze    {time.monotonic() - began:.0f} s (autovacuum is {ctx.autovacuum} on this server)",
          flush=True)


def open_deliveries(ctx):
    return query(ctx.dbname, "SELECT count(*) FROM stock_picking WHERE state NOT IN ('done', 'cancel')")[0][0]


def phase_grow(ctx, target, budget, seed_offset):
    """Grow the database through the pipeline to ``target`` sale orders, or until ``budget[0]``
    seconds of growth are spent (the budget is shared by all growth phases and decreased)."""
    missing = target - sale_order_count(ctx)
    if missing <= 0:
        return
    seconds = budget[0]
    if seconds <= 30:
        print(f"growth            skipped: the growth time budget is spent ({sale_order_count(ctx)} sale orders)")
        return
    specs = make_specs(f"g{target}", ctx.tag, missing + ctx.args.grow_jobs * GROW_CHUNK,
                       ctx.args.seed + seed_offset)
    path = write_jsonl(ctx.workdir / f"grow_{target}.jsonl", [event_row(spec, ctx.currency) for spec in specs])
    before = sale_order_count(ctx)
    began = time.monotonic()
    params = {"path": path, "jobs": ctx.args.grow_jobs, "chunk": GROW_CHUNK, "target": target,
              "seconds": seconds, "budget": CRON_BUDGET_SECONDS, "backend_id": ctx.backend_id}
    results = _run_parallel_shells(ctx, GROW_CODE, params, timeout=int(seconds) + 900)
    after = sale_order_count(ctx)
    elapsed = time.monotonic() - began
    budget[0] -= elapsed
    left = max(result["left"] for result in results)
    rss = max(result["rss_peak_kb"] for result in results)
    conflicts = sum(result["claim_conflicts"] for result in results)
    print(f"growth            {before} -> {after} sale orders in {elapsed:.0f} s with {ctx.args.grow_jobs} "
          f"processor processes ({(after - before) / elapsed:.1f} orders/s together, peak RSS {rss / 1024:.0f} MiB)"
          + (f"; {left} events still queued" if left else ""))
    print(f"                  {conflicts} processor runs ended by a serialization failure in the claim query "
          f"(omni_event._omni_claim, REPEATABLE READ), i.e. one per {max(after - before, 1) / max(conflicts, 1):.0f} "
          "orders")
    if left:
        # Leave no backlog behind: the next measurement must find an empty queue.
        query(ctx.dbname, "UPDATE omni_event SET state = 'skipped', last_error = 'benchmark: growth stopped' "
              "WHERE backend_id = %s AND state IN ('pending', 'retry')", (ctx.backend_id,))


def _run_parallel_shells(ctx, code, params, timeout):
    """Run one shell per growth job at the same time; return their results."""
    import concurrent.futures  # noqa: PLC0415

    with concurrent.futures.ThreadPoolExecutor(max_workers=ctx.args.grow_jobs) as pool:
        futures = [pool.submit(run_shell, ctx.dbname, CRON_RUN_CODE + code, dict(params, index=index), timeout)
                   for index in range(ctx.args.grow_jobs)]
        return [future.result() for future in futures]


def phase_scale_point(ctx, label):
    """Store a batch through the inbox and time one processor draining it; return a Measure."""
    count = ctx.args.scale_batch
    specs = make_specs(f"s{label}", ctx.tag, count + ctx.args.warmup, ctx.args.seed)
    path = write_jsonl(ctx.workdir / f"scale_{label}.jsonl", [event_row(spec, ctx.currency) for spec in specs])
    size = sale_order_count(ctx)
    deliveries = open_deliveries(ctx)
    result = run_shell(ctx.dbname, CRON_RUN_CODE + PROCESS_CODE,
                       {"warmup": ctx.args.warmup, "budget": CRON_BUDGET_SECONDS, "backend_id": ctx.backend_id,
                        "store_path": path, "chunk": 2 * ctx.args.chunk}, timeout=shell_timeout(count, per_order=6))
    measure = shell_measure(f"processor at {size} orders", result)
    measure.note = f" (calibration {result['calibration'] * 1000:.0f} ms; {deliveries} open deliveries before)"
    check_orders(ctx, specs, f"scale batch at {size}")
    return size, measure, result


# ---------------------------------------------------------------------------- checks


def check_orders(ctx, specs, label, *, pipeline=True):
    """Every spec became one confirmed sale order with a delivery; one customer per email."""
    if pipeline:
        refs = tuple(spec.external_id for spec in specs)
        where, params = "o.omni_backend_id = %s AND o.omni_external_id IN %s", (ctx.backend_id, refs)
    else:
        refs = tuple(f"bench: {spec.external_id}" for spec in specs)
        where, params = "o.origin IN %s", (refs,)
    (orders, confirmed, with_delivery, customers), = query(ctx.dbname, f"""
        SELECT count(*), count(*) FILTER (WHERE o.state = 'sale'),
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM stock_picking p WHERE p.sale_id = o.id
                                              AND p.state NOT IN ('draft', 'cancel'))),
               count(DISTINCT o.partner_id)
          FROM sale_order o WHERE {where}""", params)
    emails = {spec.email for spec in specs}
    (partners,), = query(ctx.dbname, "SELECT count(*) FROM res_partner WHERE parent_id IS NULL "
                         "AND email_normalized IN %s", (tuple(emails),))
    ok = orders == confirmed == with_delivery == len(specs) and customers == partners == len(emails)
    print(f"check {label:<22} {orders} sale orders for {len(specs)} orders, {confirmed} confirmed, "
          f"{with_delivery} with a delivery; {customers} customers on them, {partners} contacts with those "
          f"emails, {len(emails)} distinct emails -> {'OK' if ok else 'WRONG'}")
    if pipeline:
        states = dict(query(ctx.dbname, "SELECT state, count(*) FROM omni_event WHERE backend_id = %s AND "
                            "resource_key IN %s GROUP BY state", (ctx.backend_id, refs)))
        print(f"      events      {', '.join(f'{s}: {n}' for s, n in sorted(states.items()))}")
        ok = ok and states.get("done", 0) == len(specs)
    if not ok:
        ctx.failures.append(f"correctness check failed: {label}")
    return ok


# ---------------------------------------------------------------------------- report


def print_profile(title, profile, lines):
    orders = profile["orders"]
    queries = profile["queries"]
    total = sum(n for n, _t, _q in queries)
    seconds = sum(t for _n, t, _q in queries)
    print(f"\n== Profile: {title} ({orders} orders, unmeasured batch) ==")
    print(f"queries           {total / orders:.1f} per order, {seconds * 1000 / orders:.1f} ms per order in "
          f"cursor.execute (round trips included)")
    print("top statements    count/order  ms/order  statement")
    for count, spent, text in queries[:lines]:
        print(f"                  {count / orders:11.2f} {spent * 1000 / orders:9.2f}  {text}")
    print(_trim_pstats(profile["profile"], lines))


def print_query_difference(pipeline, reference, lines):
    """Statements the pipeline runs more often per order than the raw ORM does."""
    def per_order(profile):
        return {text: (count / profile["orders"], spent / profile["orders"])
                for count, spent, text in profile["queries"]}

    ours, theirs = per_order(pipeline), per_order(reference)
    rows = []
    for text, (count, spent) in ours.items():
        other_count, other_spent = theirs.get(text, (0.0, 0.0))
        if count - other_count > 0.05:
            rows.append((spent - other_spent, count - other_count, text))
    rows.sort(reverse=True)
    print("\n== Queries the pipeline adds per order (vs the raw ORM) ==")
    print(f"total             {sum(r[1] for r in rows):.1f} more statements/order, "
          f"{sum(r[0] for r in rows) * 1000:.1f} ms/order in cursor.execute")
    for spent, count, text in rows[:lines]:
        print(f"                  +{count:6.2f} {spent * 1000:+8.2f} ms  {text}")


def _trim_pstats(text, lines):
    """The two pstats tables, without their long headers and paths."""
    kept = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("Ordered by", "List reduced")):
            continue
        short = line.replace("/opt/odoo19/", "").replace(str(REPO) + "/", "")
        kept.append("  " + short[:160])
    return "\n".join(kept[: 4 * lines])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=300, help="orders per measured way of importing (300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured orders first, per way (20)")
    parser.add_argument("--cron-orders", type=int, default=None,
                        help="orders drained by a server's own (niced) cron worker (default: min(orders, 100); "
                        "0 skips)")
    parser.add_argument("--small-db", type=int, default=1000, help="sale orders in the DB for the small point (1000)")
    parser.add_argument("--large-db", type=int, default=2000,
                        help="sale orders in the DB for the large point (2000; the full run uses 20000; 0 skips)")
    parser.add_argument("--scale-batch", type=int, default=300, help="orders measured at each DB size (300)")
    parser.add_argument("--grow-minutes", type=float, default=20.0,
                        help="wall-clock budget for growing the database (20)")
    parser.add_argument("--grow-jobs", type=int, default=2, help="processor processes growing the DB (2)")
    parser.add_argument("--chunk", type=int, default=10,
                        help="orders per way and round of the interleaved comparison (10)")
    parser.add_argument("--ab-orders", type=int, default=100,
                        help="orders per entry in the A/B of the processor's entries (100; 0 skips)")
    parser.add_argument("--http-workers", type=int, default=2, help="HTTP workers of the intake/XML-RPC server (2)")
    parser.add_argument("--intake-concurrency", type=int, default=4, help="client threads posting orders (4)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile + query breakdown of the processor and the raw ORM on an extra batch")
    parser.add_argument("--profile-orders", type=int, default=100, help="orders of the profiled batch (100)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse-db", metavar="NAME",
                        help="use this existing database (from --keep-db) instead of creating one; never dropped")
    args = parser.parse_args(argv)
    if args.cron_orders is None:
        args.cron_orders = min(args.orders, 100)
    if args.orders < 1 or args.warmup < 0 or args.cron_orders < 0 or args.scale_batch < 1 or args.grow_jobs < 1:
        parser.error("--orders, --scale-batch and --grow-jobs must be positive; --warmup, --cron-orders not negative")
    if args.http_workers < 1 or args.intake_concurrency < 1 or args.chunk < 1 or args.ab_orders < 0:
        parser.error("--http-workers, --intake-concurrency and --chunk must be positive, --ab-orders not negative")
    return args


def benchmark(ctx):
    args = ctx.args
    phase_setup(ctx)
    budget = [args.grow_minutes * 60]  # seconds of growth left, shared by both growth phases
    small = None
    if args.large_db:
        print("\n== Scaling, small point (measured before the comparison, at about --small-db orders) ==",
              flush=True)
        phase_grow(ctx, args.small_db, budget, seed_offset=0)
        vacuum_analyze(ctx)
        small = phase_scale_point(ctx, "small")
        print(small[1].line(), flush=True)
    compare(ctx)
    if args.large_db:
        print("\n== Scaling, large point ==", flush=True)
        phase_grow(ctx, args.large_db, budget, seed_offset=1)
        vacuum_analyze(ctx)
        large = phase_scale_point(ctx, "large")
        report_scaling(ctx, small, large)


def compare(ctx):
    """Intake; the pipeline processor, the raw ORM and XML-RPC on the same orders; cron entries."""
    args, tag = ctx.args, ctx.tag
    pipe_specs = make_specs("pipe", tag, args.warmup + args.orders, args.seed)
    orm_specs = make_specs("orm", tag, args.warmup + args.orders, args.seed)
    rpc_specs = make_specs("rpc", tag, args.warmup + args.orders, args.seed)
    cron_specs = make_specs("cron", tag, args.cron_orders, args.seed) if args.cron_orders else []
    profile = None
    if args.profile:
        profile = (make_specs("ppipe", tag, args.profile_orders, args.seed + 1),
                   make_specs("porm", tag, args.profile_orders, args.seed + 1))
    print(f"\n== Comparison: {args.orders} orders each, database at {sale_order_count(ctx)} sale orders ==")

    with OdooServer(ctx.dbname, workers=args.http_workers, max_cron_threads=0) as server:
        print(f"server            {shlex.join(server.command)}", flush=True)
        if args.warmup:
            phase_intake(ctx, server, pipe_specs[:args.warmup], "warm-up")
        phase_intake(ctx, server, pipe_specs[args.warmup:], "measured batch")
        print(f"\nload average      {load_line()} (before the comparison)", flush=True)
        result = phase_compare(ctx, server, orm_specs, rpc_specs, profile)
        check_orders(ctx, pipe_specs, "pipeline")
        check_orders(ctx, orm_specs, "raw ORM", pipeline=False)
        check_orders(ctx, rpc_specs, "XML-RPC", pipeline=False)
        if profile:
            check_orders(ctx, profile[0], "pipeline (profiled)")
    if args.ab_orders:
        print(f"\nload average      {load_line()} (before the A/B of the processor entries)", flush=True)
        ab = phase_ab(ctx)
        ctx.measures["ab_loop"], ctx.measures["ab_job"] = ab["loop"], ab["job"]
    if cron_specs:
        print(f"load average      {load_line()} (before the server cron worker)", flush=True)
        cron_measure = phase_real_cron(ctx, cron_specs)
        if cron_measure:
            ctx.measures["cron"] = cron_measure
        check_orders(ctx, cron_specs, "pipeline (server cron)")

    print("\n== Import throughput, one worker each (interleaved rounds) ==")
    for key in ("pipeline", "raw_orm", "xmlrpc"):
        print(ctx.measures[key].line())
    pipe, raw, rpc = ctx.measures["pipeline"], ctx.measures["raw_orm"], ctx.measures["xmlrpc"]
    print()
    print(ratio_line("pipeline vs raw ORM, orders/s", pipe.rate, raw.rate, TARGETS["raw_orm"]))
    print(ratio_line("pipeline vs XML-RPC, orders/s", pipe.rate, rpc.rate, TARGETS["xmlrpc"]))
    print(ratio_line("pipeline vs raw ORM, orders per CPU-s", 1000 / pipe.cpu_ms_per_order,
                     1000 / raw.cpu_ms_per_order, TARGETS["raw_orm"]))
    print(ratio_line("pipeline vs XML-RPC, orders per CPU-s", 1000 / pipe.cpu_ms_per_order,
                     1000 / rpc.cpu_ms_per_order, TARGETS["xmlrpc"]))
    print("(orders per CPU-s: 1 / (Odoo + PostgreSQL CPU per order); XML-RPC counts the server side only)")
    if "ab_loop" in ctx.measures:
        loop, job = ctx.measures["ab_loop"], ctx.measures["ab_job"]
        print("\n== The processor's two entries (alternating chunks) ==")
        print(loop.line())
        print(job.line())
        print(f"cron entry cost   {job.ms_per_order - loop.ms_per_order:+.1f} ms/order wall, "
              f"{job.cpu_ms_per_order - loop.cpu_ms_per_order:+.1f} ms/order CPU, "
              f"{(job.queries - loop.queries) / job.orders:+.1f} queries/order; projected through ir.cron: "
              f"{pipe.rate * job.rate / loop.rate:.2f} orders/s = "
              f"{pipe.rate * job.rate / loop.rate / raw.rate:.2f}x raw ORM, "
              f"{pipe.rate * job.rate / loop.rate / rpc.rate:.2f}x XML-RPC")
    if "cron" in ctx.measures:
        print("\n== Server cron worker (prefork, --workers=1 --max-cron-threads=1, niced by Odoo) ==")
        print(ctx.measures["cron"].line())
    if profile:
        print_profile("pipeline processor", result["profile_pipeline"], 25)
        print_profile("raw ORM", result["profile_orm"], 25)
        print_query_difference(result["profile_pipeline"], result["profile_orm"], 25)


def report_scaling(ctx, small, large):
    args = ctx.args
    (small_size, small_measure, small_result), (large_size, large_measure, large_result) = small, large
    print(small_measure.line())
    print(large_measure.line())
    reached = "" if large_size >= args.large_db else \
        f" (target {args.large_db} not reached within {args.grow_minutes:g} min of growth)"
    print(f"\nper-order cost    {small_measure.ms_per_order:.1f} ms at {small_size} sale orders, "
          f"{large_measure.ms_per_order:.1f} ms at {large_size}{reached}")
    speed = large_result["calibration"] / small_result["calibration"]
    ratios = (("wall", large_measure.ms_per_order / small_measure.ms_per_order),
              ("CPU", large_measure.cpu_ms_per_order / small_measure.cpu_ms_per_order),
              ("wall, calibrated", large_measure.ms_per_order / small_measure.ms_per_order / speed),
              ("queries", large_measure.queries / large_measure.orders
               / (small_measure.queries / small_measure.orders)))
    for name, value in ratios:
        verdict = "MET" if value <= TARGETS["scaling"] else "MISSED"
        print(f"ratio {name:<17} {value:.2f}x large/small (target <= {TARGETS['scaling']}x: {verdict})")
    print(f"                  (calibration: the same fixed Python+SQL work took {speed:.2f}x as long at the large "
          "point: the machine's speed for us changed by that much)")
    print_query_growth(small_result, large_result, 12)
    top = max(((after_ms - before_ms, count, text) for (count, after_ms, text), before_ms in
               _growth_rows(small_result, large_result)), default=None)
    if top and large_size > small_size and args.large_db > large_size:
        slope = top[0] / (large_size - small_size)
        print(f"extrapolation     the fastest-growing statement adds {slope * 1000:.2f} ms/order per 1,000 orders; "
              f"at {args.large_db} orders: +{slope * (args.large_db - large_size):.1f} ms/order over the large point "
              f"(linear; {top[2][:60]}...)")
    (customers, emails), = query(ctx.dbname, "SELECT count(*), count(DISTINCT email_normalized) FROM res_partner "
                                 "WHERE parent_id IS NULL AND email_normalized LIKE %s", (f"%.{ctx.tag}.c%",))
    print(f"customers         {customers} contacts for {emails} distinct emails in the whole run -> "
          f"{'OK' if customers == emails else 'WRONG'}")
    if customers != emails:
        ctx.failures.append("duplicate customers in the grown database")


def _growth_rows(small, large):
    """``((count/order, ms/order), ms/order before)`` at the large point for every statement."""
    def per_order(result):
        orders = max(result["processed"], 1)
        return {text: (count / orders, spent * 1000 / orders) for count, spent, text in result["queries"]}

    before, after = per_order(small), per_order(large)
    return [((count, spent, text), before.get(text, (0.0, 0.0))[1]) for text, (count, spent) in after.items()]


def print_query_growth(small, large, lines):
    """Statements whose time per order grew the most from the small to the large database."""
    def per_order(result):
        orders = max(result["processed"], 1)
        return {text: (count / orders, spent * 1000 / orders) for count, spent, text in result["queries"]}

    before, after = per_order(small), per_order(large)
    rows = sorted(((after[text][1] - before.get(text, (0, 0))[1], text) for text in after), reverse=True)
    print("statements whose ms/order grew most (small -> large):")
    for _grown, text in rows[:lines]:
        count, spent = after[text]
        old = before.get(text, (0.0, 0.0))[1]
        print(f"                  {old:7.2f} -> {spent:7.2f} ms ({count:5.2f}/order)  {text}")


def main(argv=None):
    args = parse_args(argv)
    tag = secrets.token_hex(3)
    dbname = args.reuse_db or f"omni_bench_orders_{os.getpid()}_{int(time.time())}"
    print(f"== Order import benchmark: database {dbname}, run tag {tag} ==", flush=True)
    failures = []
    try:
        with tempfile.TemporaryDirectory(prefix="omni-bench-orders-") as workdir:
            began = time.monotonic()
            if not args.reuse_db:
                create_database(dbname, [ADDON])
            print(f"database ready in {time.monotonic() - began:.0f} s")
            for line in machine_lines(dbname):
                print(line)
            autovacuum = query(dbname, "SHOW autovacuum")[0][0]
            print(f"autovacuum        {autovacuum} (the benchmark runs VACUUM ANALYZE after growing the database)")
            print(f"orders            N = {args.orders} measured per way (+{args.warmup} warm-up), "
                  f"{LINES_PER_ORDER} lines of {SKU_COUNT} SKUs + 1 shipping line, 10 % tax excluded, paid (stripe), "
                  f"~{RETURNING_SHARE:.0%} returning customers")
            ctx = Context(args, dbname, tag, Path(workdir), autovacuum=autovacuum)
            benchmark(ctx)
            failures = ctx.failures
            print(f"\nload average      {load_line()} (after the run)")
    except (OdooHarnessError, RuntimeError, OSError) as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        if args.keep_db or args.reuse_db:
            print(f"database kept: {dbname}")
        else:
            drop_database(dbname)
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
