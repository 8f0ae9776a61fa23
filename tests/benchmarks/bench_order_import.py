#!/usr/bin/env python3
"""Order import benchmark: the event pipeline against the raw ORM and an XML-RPC middleware.

Creates a fresh database with ``omni_connector_base``, a 10 % sale tax (excluded from prices),
50 products with SKUs and a ``custom`` channel backend whose payment rule for ``paid`` orders
only CONFIRMS them (``create_invoice`` and ``register_payment`` off, so the three ways below
do the same work: a confirmed sale order with its delivery). Every order has 5 product lines
and one shipping line, is paid by a gateway, and belongs to a new or a returning customer
(about half each, the same sequence for every way of importing).

In one run it measures:

1. **intake** - ``POST /omni/api/v1/<backend>/orders`` (Bearer key, canonical JSON) against a
   prefork server on 127.0.0.1 without cron workers, so the events queue up;
2. **pipeline processor** - one process draining those events with the processor cron's own
   code (``omni.event._cron_process`` in an ``odoo shell``, under a cron progress context:
   one commit per event, as in the cron) - orders/s, CPU and queries per order, peak RSS;
3. **raw ORM** (reference a) - the same orders created and confirmed directly in an ``odoo
   shell`` (partner by email or created, products by SKU in one search, ``sale.order.create``
   + ``action_confirm``, one commit per order);
4. **XML-RPC middleware** (reference b) - the same through ``xmlrpc.client`` against the
   running server (customer by email or created, SKUs with one ``search_read``, order with its
   lines, ``action_confirm``);
5. **real cron** (``--cron-orders``) - more events drained by the server's own cron worker
   (``--workers=1 --max-cron-threads=1``): what production does, Odoo's cron loop included;
6. **scaling** - the database is grown through the pipeline (several processes sharing the
   queue) to ``--small-db`` and then ``--large-db`` sale orders, and a batch of
   ``--scale-batch`` orders is measured at each size; growth stops after ``--grow-minutes``
   and the size actually reached is printed.

Correctness is checked too: one confirmed sale order with a delivery per order, every event
done, one customer per distinct email. ``--profile`` adds a cProfile and a per-query
breakdown of the processor (and the raw ORM) on an extra, unmeasured batch.

Quick run (about 15 minutes on 2 cores)::

    python3 tests/benchmarks/bench_order_import.py --orders 300

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
import xmlrpc.client
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
admin = env.ref("base.user_admin")
admin.password = P["admin_password"]
env.cr.commit()
_emit({"backend_id": backend.id, "tax_id": tax.id, "currency": company.currency_id.name,
       "shipping_product_id": backend._omni_shipping_product("standard").id, "api_key": full_key,
       "admin_login": admin.login, "rules": [[r.sequence, r.gateway or "", r.financial_status or "",
       r.confirm_order, r.create_invoice, r.register_payment] for r in backend.payment_rule_ids]})
"""

STORE_CODE = r"""
backend = env["omni.backend"].browse(P["backend_id"])
Event = env["omni.event"]
stored = 0
for index, row in enumerate(_rows(P["path"])):
    _id, new = Event._omni_store_incoming(backend, row["body"].encode(), {
        "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
        "resource_key": row["resource_key"], "source_ts": row["source_ts"]})
    stored += new
    if index % 500 == 499:
        env.cr.commit()
env.cr.commit()
_emit({"stored": stored})
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

def _drain(max_rounds=1000):
    processed = 0
    for _round in range(max_rounds):
        done = _cron_run()
        processed += done
        if not done:
            break
    return processed

def _queued():
    env.cr.commit()  # a fresh snapshot: other cursors (the cron's) may have committed
    env.cr.execute("SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry')")
    return env.cr.fetchone()[0]
"""

# Mode "loop": one long _cron_process run (the processor as designed, never cut short).
# Mode "cron_job": Odoo's own cron entry (ir.cron._process_job -> _run_job -> _callback), as a
# cron worker runs the job, until the queue is empty: the processor as deployed today.
PROCESS_CODE = r"""
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

if P.get("store_path"):
    backend = env["omni.backend"].browse(P["backend_id"])
    for row in _rows(P["store_path"]):
        Event._omni_store_incoming(backend, row["body"].encode(), {
            "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
            "resource_key": row["resource_key"], "source_ts": row["source_ts"]})
    env.cr.commit()
warm = _cron_run(P["warmup"]) if P["warmup"] else 0
queued = _queued()
rss_before = _rss_kb()
before = _snap()
rounds = None
if P.get("mode") == "cron_job":
    rounds = _drain_cron_jobs(queued + 10)
    processed = queued - _queued()
else:
    processed = _drain()
cost = _delta(before, _snap())
result = {"warmup": warm, "queued": queued, "processed": processed, "cost": cost, "rss_before_kb": rss_before,
          "rss_after_kb": _rss_kb(), "left": _queued(), "cron_rounds": rounds}
if P.get("profile_path"):
    backend = env["omni.backend"].browse(P["backend_id"])
    for row in _rows(P["profile_path"]):
        Event._omni_store_incoming(backend, row["body"].encode(), {
            "idempotency_key": row["key"], "topic": "orders/upsert", "resource_model": "sale.order",
            "resource_key": row["resource_key"], "source_ts": row["source_ts"]})
    env.cr.commit()
    result["profile"] = _profiled(_drain, P["profile_count"])
_emit(result)
"""

RAW_ORM_CODE = r"""
Partner = env["res.partner"]
Product = env["product.product"]
SaleOrder = env["sale.order"]
TAX = P["tax_id"]
SHIPPING = P["shipping_product_id"]
country = env["res.country"].search([("code", "=", "US")], limit=1)

def import_one(row):
    partner = Partner.search([("email_normalized", "=", row["email"].lower())], limit=1)
    if not partner:
        partner = Partner.create({"name": row["name"], "email": row["email"], "street": row["street"],
                                  "city": row["city"], "zip": row["zip"], "country_id": country.id,
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

def import_all(rows):
    for row in rows:
        import_one(row)

rows = _rows(P["path"])
warm, measured = rows[:P["warmup"]], rows[P["warmup"]:]
import_all(warm)
rss_before = _rss_kb()
before = _snap()
import_all(measured)
cost = _delta(before, _snap())
result = {"warmup": len(warm), "processed": len(measured), "cost": cost, "rss_before_kb": rss_before,
          "rss_after_kb": _rss_kb()}
if P.get("profile_path"):
    extra = _rows(P["profile_path"])
    result["profile"] = _profiled(lambda: import_all(extra), len(extra))
_emit(result)
"""

# A growth worker: store a chunk of its share of events, drain the (shared) queue, repeat,
# until the database holds the target number of sale orders or the time is up.
GROW_CODE = r"""
import psycopg2.errors
backend = env["omni.backend"].browse(P["backend_id"])
CONFLICTS = []

def _safe_drain():
    # Two processors can meet in the claim query: a row another one finished after this
    # transaction's snapshot raises a serialization failure (REPEATABLE READ). The cron would
    # log the failed run and start again; so does this loop, and it counts them.
    try:
        return _drain()
    except psycopg2.errors.SerializationFailure:
        env.cr.rollback()
        CONFLICTS.append(1)
        return 0

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
    output = odoo_shell(dbname, source, timeout=timeout)
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


def phase_intake(ctx, server, specs, title):
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
          f"client threads, {ctx.args.http_workers} HTTP workers, no cron worker")
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


def phase_processor(ctx, warmup, profile_specs=None):
    params = {"warmup": warmup, "budget": CRON_BUDGET_SECONDS, "backend_id": ctx.backend_id}
    if profile_specs:
        params["profile_path"] = write_jsonl(ctx.workdir / "profile_pipe.jsonl",
                                             [event_row(spec, ctx.currency) for spec in profile_specs])
        params["profile_count"] = len(profile_specs)
    result = run_shell(ctx.dbname, CRON_RUN_CODE + PROCESS_CODE, params,
                       timeout=shell_timeout(ctx.args.orders + len(profile_specs or ()), per_order=5))
    if result["left"]:
        ctx.failures.append(f"processor left {result['left']} events queued")
    return result


def phase_cron_job(ctx, specs, warmup):
    """The same processor entered through Odoo's cron machinery (``ir.cron._process_job``)."""
    params = {"warmup": warmup, "budget": CRON_BUDGET_SECONDS, "backend_id": ctx.backend_id, "mode": "cron_job",
              "store_path": write_jsonl(ctx.workdir / "cron_job.jsonl", [event_row(s, ctx.currency) for s in specs])}
    result = run_shell(ctx.dbname, CRON_RUN_CODE + PROCESS_CODE, params,
                       timeout=shell_timeout(len(specs), per_order=8))
    if result["left"]:
        ctx.failures.append(f"cron job processing left {result['left']} events queued")
    return result


def phase_raw_orm(ctx, specs, warmup, profile_specs=None):
    params = {"warmup": warmup, "tax_id": ctx.setup["tax_id"],
              "shipping_product_id": ctx.setup["shipping_product_id"],
              "path": write_jsonl(ctx.workdir / "orm.jsonl", [plain_row(spec) for spec in specs])}
    if profile_specs:
        params["profile_path"] = write_jsonl(ctx.workdir / "profile_orm.jsonl",
                                             [plain_row(spec) for spec in profile_specs])
    return run_shell(ctx.dbname, RAW_ORM_CODE, params, timeout=shell_timeout(len(specs), per_order=5))


class XmlRpcMiddleware:
    """An external middleware: what a typical integration script does over XML-RPC."""

    def __init__(self, base_url, dbname, login, password, tax_id, shipping_product_id):
        self.dbname, self.password = dbname, password
        common = xmlrpc.client.ServerProxy(f"{base_url}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(dbname, login, password, {})
        if not self.uid:
            raise OdooHarnessError("XML-RPC authentication failed")
        self.models = xmlrpc.client.ServerProxy(f"{base_url}/xmlrpc/2/object", allow_none=True)
        self.tax_id, self.shipping_product_id = tax_id, shipping_product_id
        self.country_id = self.call("res.country", "search", [("code", "=", "US")], limit=1)[0]
        self.calls = 0

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.dbname, self.uid, self.password, model, method, list(args), kwargs)

    def import_order(self, row):
        rows = self.call("res.partner", "search_read", [("email_normalized", "=", row["email"].lower())],
                         fields=["id"], limit=1)
        self.calls += 2
        if rows:
            partner_id = rows[0]["id"]
        else:
            partner_id = self.call("res.partner", "create", {
                "name": row["name"], "email": row["email"], "street": row["street"], "city": row["city"],
                "zip": row["zip"], "country_id": self.country_id, "customer_rank": 1})
            self.calls += 1
        skus = [line["sku"] for line in row["lines"]]
        products = {p["default_code"]: p["id"] for p in self.call(
            "product.product", "search_read", [("default_code", "in", skus)], fields=["id", "default_code"])}
        lines = [(0, 0, {"product_id": products[line["sku"]], "name": line["name"], "product_uom_qty": line["qty"],
                         "price_unit": float(line["price"]), "tax_ids": [(6, 0, [self.tax_id])]})
                 for line in row["lines"]]
        lines.append((0, 0, {"product_id": self.shipping_product_id, "name": "Standard shipping",
                             "product_uom_qty": 1, "price_unit": float(row["shipping"]),
                             "tax_ids": [(6, 0, [self.tax_id])]}))
        order_id = self.call("sale.order", "create", {"partner_id": partner_id, "client_order_ref": row["ref"],
                                                      "origin": row["origin"], "order_line": lines})
        self.call("sale.order", "action_confirm", [order_id])
        self.calls += 2
        return order_id


def phase_xmlrpc(ctx, server, specs, warmup):
    middleware = XmlRpcMiddleware(server.base_url, ctx.dbname, ctx.setup["admin_login"],
                                  ctx.setup["admin_password"], ctx.setup["tax_id"],
                                  ctx.setup["shipping_product_id"])
    rows = [plain_row(spec) for spec in specs]
    for row in rows[:warmup]:
        middleware.import_order(row)
    middleware.calls = 0
    measured = rows[warmup:]
    cpu_before = cpu_snapshot(server, ctx.dbname)
    began = time.perf_counter()
    for row in measured:
        middleware.import_order(row)
    wall = time.perf_counter() - began
    cpu = cpu_delta(cpu_before, cpu_snapshot(server, ctx.dbname))
    note = f", {middleware.calls / len(measured):.1f} XML-RPC calls/order (client CPU " \
           f"{cpu['client'] * 1000 / len(measured):.1f} ms/order)"
    return Measure("XML-RPC middleware (b)", len(measured), wall, cpu["odoo http"], cpu["postgres"], note=note,
                   foreign_cpu=foreign_seconds(cpu))


def phase_real_cron(ctx, specs):
    """Drain ``specs`` (posted to the API first) with the server's own cron worker.

    The clock starts once the cron worker has finished ``--warmup`` events (its registry is
    loaded and its caches are warm) and stops when the last event is finished.
    """
    keys = tuple(spec.external_id for spec in specs)
    warm = min(max(ctx.args.warmup, 10), len(specs) // 3)
    timeout = 600 + 3 * len(specs)
    server = OdooServer(ctx.dbname, workers=1, max_cron_threads=1)

    def finished():
        return query(ctx.dbname, "SELECT count(*) FROM omni_event WHERE backend_id = %s AND resource_key IN %s "
                     "AND state NOT IN ('pending', 'retry')", (ctx.backend_id, keys))[0][0]

    with server:
        peak_kb = 0
        deadline = time.monotonic() + timeout
        done = 0
        start = None  # (time, done, cpu) once warm
        while time.monotonic() < deadline:
            peak_kb = max(peak_kb, _cron_worker_peak_kb(server))
            done = finished()
            if start is None and done >= warm:
                start = (time.perf_counter(), done, cpu_snapshot(server, ctx.dbname))
            if done >= len(specs):
                break
            time.sleep(CRON_POLL_SECONDS)
        end = (time.perf_counter(), done, cpu_snapshot(server, ctx.dbname))
        peak_kb = max(peak_kb, _cron_worker_peak_kb(server))
        log_tail = server.log_tail(5)
    if done < len(specs) or start is None:
        ctx.failures.append(f"real cron: only {done} of {len(specs)} events finished in {timeout} s")
        print(f"server log tail:\n{log_tail}")
        start = start or end
    cpu = cpu_delta(start[2], end[2])
    triggers = query(ctx.dbname, "SELECT count(*) FROM ir_cron_progress p JOIN ir_model_data d ON d.res_id = p.cron_id "
                     "AND d.model = 'ir.cron' AND d.name = 'cron_omni_event_process'")[0][0]
    return Measure("pipeline, server cron worker", end[1] - start[1], end[0] - start[0], cpu["odoo cron"],
                   cpu["postgres"], rss_kb=peak_kb, foreign_cpu=foreign_seconds(cpu),
                   note=f" ({triggers} cron progress records for the processor so far)")


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


def phase_grow(ctx, target, deadline, seed_offset):
    """Grow the database through the pipeline to ``target`` sale orders, or until ``deadline``."""
    missing = target - sale_order_count(ctx)
    if missing <= 0:
        return
    seconds = deadline - time.monotonic()
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
    left = max(result["left"] for result in results)
    rss = max(result["rss_peak_kb"] for result in results)
    conflicts = sum(result["claim_conflicts"] for result in results)
    print(f"growth            {before} -> {after} sale orders in {elapsed:.0f} s with {ctx.args.grow_jobs} "
          f"processor processes ({(after - before) / elapsed:.1f} orders/s together, peak RSS {rss / 1024:.0f} MiB)"
          + (f"; {left} events still queued" if left else ""))
    print(f"                  {conflicts} processor runs aborted by a serialization failure in the claim query "
          "(see the report)")
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
    run_shell(ctx.dbname, STORE_CODE, {"path": path, "backend_id": ctx.backend_id}, timeout=shell_timeout(count, 1))
    result = run_shell(ctx.dbname, CRON_RUN_CODE + PROCESS_CODE,
                       {"warmup": ctx.args.warmup, "budget": CRON_BUDGET_SECONDS, "backend_id": ctx.backend_id},
                       timeout=shell_timeout(count, per_order=5))
    measure = shell_measure(f"processor at {size} orders", result)
    measure.note = f" (DB: {size} sale orders before the batch)"
    check_orders(ctx, specs, f"scale batch at {size}")
    return size, measure


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
    if args.http_workers < 1 or args.intake_concurrency < 1:
        parser.error("--http-workers and --intake-concurrency must be positive")
    return args


def benchmark(ctx):
    args = ctx.args
    phase_setup(ctx)
    deadline = time.monotonic() + args.grow_minutes * 60
    small = None
    if args.large_db:
        print("\n== Scaling, small point (measured before the comparison, at about --small-db orders) ==",
              flush=True)
        phase_grow(ctx, args.small_db, deadline, seed_offset=0)
        small = phase_scale_point(ctx, "small")
        print(small[1].line(), flush=True)
    compare(ctx)
    if args.large_db:
        print("\n== Scaling, large point ==", flush=True)
        phase_grow(ctx, args.large_db, deadline, seed_offset=1)
        large = phase_scale_point(ctx, "large")
        report_scaling(ctx, small, large)


def compare(ctx):
    """Intake, then the pipeline processor, the raw ORM and XML-RPC on the same orders; real cron."""
    args, tag = ctx.args, ctx.tag
    pipe_specs = make_specs("pipe", tag, args.warmup + args.orders, args.seed)
    orm_specs = make_specs("orm", tag, args.warmup + args.orders, args.seed)
    rpc_specs = make_specs("rpc", tag, args.warmup + args.orders, args.seed)
    cron_specs = make_specs("cron", tag, args.cron_orders, args.seed) if args.cron_orders else []
    cjob_specs = make_specs("cjob", tag, args.warmup + args.orders, args.seed)
    profile_pipe = make_specs("ppipe", tag, args.profile_orders, args.seed + 1) if args.profile else None
    profile_orm = make_specs("porm", tag, args.profile_orders, args.seed + 1) if args.profile else None
    print(f"\n== Comparison: {args.orders} orders each, database at {sale_order_count(ctx)} sale orders ==")

    with OdooServer(ctx.dbname, workers=args.http_workers, max_cron_threads=0) as server:
        print(f"server            {shlex.join(server.command)}", flush=True)
        if args.warmup:
            phase_intake(ctx, server, pipe_specs[:args.warmup], "warm-up")
        phase_intake(ctx, server, pipe_specs[args.warmup:], "measured batch")
        print(f"\nload average      {load_line()} (before the processor)", flush=True)
        pipe_result = phase_processor(ctx, args.warmup, profile_pipe)
        ctx.measures["pipeline"] = shell_measure("pipeline processor (shell)", pipe_result)
        print(f"processor         {pipe_result['queued']} events queued after warm-up, {pipe_result['processed']} "
              f"processed; RSS {pipe_result['rss_before_kb'] / 1024:.0f} MiB before the batch, "
              f"{pipe_result['rss_after_kb'] / 1024:.0f} MiB after", flush=True)
        check_orders(ctx, pipe_specs, "pipeline")
        if profile_pipe:
            check_orders(ctx, profile_pipe, "pipeline (profiled)")

        print(f"load average      {load_line()} (before the processor through ir.cron)", flush=True)
        cjob_result = phase_cron_job(ctx, cjob_specs, args.warmup)
        ctx.measures["cron_job"] = shell_measure("pipeline via ir.cron (shell)", cjob_result,
                                                 note=f" ({cjob_result['cron_rounds']} cron job runs)")
        check_orders(ctx, cjob_specs, "pipeline via ir.cron")

        print(f"load average      {load_line()} (before the raw ORM)", flush=True)
        orm_result = phase_raw_orm(ctx, orm_specs, args.warmup, profile_orm)
        ctx.measures["raw_orm"] = shell_measure("raw ORM (a)", orm_result)
        check_orders(ctx, orm_specs, "raw ORM", pipeline=False)

        print(f"load average      {load_line()} (before XML-RPC)", flush=True)
        ctx.measures["xmlrpc"] = phase_xmlrpc(ctx, server, rpc_specs, args.warmup)
        check_orders(ctx, rpc_specs, "XML-RPC", pipeline=False)

        if cron_specs:
            phase_intake(ctx, server, cron_specs, "real-cron batch")
    if cron_specs:
        print(f"load average      {load_line()} (before the real cron)", flush=True)
        ctx.measures["cron"] = phase_real_cron(ctx, cron_specs)
        check_orders(ctx, cron_specs, "pipeline (real cron)")

    print("\n== Import throughput, one worker each ==")
    for key in ("pipeline", "cron_job", "raw_orm", "xmlrpc", "cron"):
        if key in ctx.measures:
            print(ctx.measures[key].line())
    pipe, raw, rpc = ctx.measures["pipeline"], ctx.measures["raw_orm"], ctx.measures["xmlrpc"]
    print()
    print(ratio_line("pipeline vs raw ORM, orders/s", pipe.rate, raw.rate, TARGETS["raw_orm"]))
    print(ratio_line("pipeline vs XML-RPC, orders/s", pipe.rate, rpc.rate, TARGETS["xmlrpc"]))
    print(ratio_line("vs raw ORM, orders per CPU-second", 1000 / pipe.cpu_ms_per_order,
                     1000 / raw.cpu_ms_per_order, TARGETS["raw_orm"]))
    print(ratio_line("vs XML-RPC, orders per CPU-second", 1000 / pipe.cpu_ms_per_order,
                     1000 / rpc.cpu_ms_per_order, TARGETS["xmlrpc"]))
    cjob = ctx.measures["cron_job"]
    print(ratio_line("via ir.cron vs raw ORM, orders/s", cjob.rate, raw.rate, TARGETS["raw_orm"]))
    print(ratio_line("via ir.cron vs XML-RPC, orders/s", cjob.rate, rpc.rate, TARGETS["xmlrpc"]))
    print(ratio_line("via ir.cron vs raw ORM, orders/CPU-s", 1000 / cjob.cpu_ms_per_order,
                     1000 / raw.cpu_ms_per_order, TARGETS["raw_orm"]))
    print(ratio_line("via ir.cron vs XML-RPC, orders/CPU-s", 1000 / cjob.cpu_ms_per_order,
                     1000 / rpc.cpu_ms_per_order, TARGETS["xmlrpc"]))
    if "cron" in ctx.measures:
        cron = ctx.measures["cron"]
        print(ratio_line("server cron vs raw ORM, orders/s", cron.rate, raw.rate, TARGETS["raw_orm"]))
        print(ratio_line("server cron vs XML-RPC, orders/s", cron.rate, rpc.rate, TARGETS["xmlrpc"]))
    if pipe_result.get("profile") and orm_result.get("profile"):
        print_profile("pipeline processor", pipe_result["profile"], 25)
        print_profile("raw ORM", orm_result["profile"], 25)
        print_query_difference(pipe_result["profile"], orm_result["profile"], 25)


def report_scaling(ctx, small, large):
    args = ctx.args
    (small_size, small_measure), (large_size, large_measure) = small, large
    print(small_measure.line())
    print(large_measure.line())
    reached = "" if large_size >= args.large_db else \
        f" (target {args.large_db} not reached within {args.grow_minutes:g} min of growth)"
    print(f"\nper-order cost    {small_measure.ms_per_order:.1f} ms at {small_size} sale orders, "
          f"{large_measure.ms_per_order:.1f} ms at {large_size}{reached}")
    for name, value in (("wall", large_measure.ms_per_order / small_measure.ms_per_order),
                        ("CPU", large_measure.cpu_ms_per_order / small_measure.cpu_ms_per_order)):
        verdict = "MET" if value <= TARGETS["scaling"] else "MISSED"
        print(f"ratio ({name:<4})      {value:.2f}x large/small (target <= {TARGETS['scaling']}x: {verdict})")
    (customers, emails), = query(ctx.dbname, "SELECT count(*), count(DISTINCT email_normalized) FROM res_partner "
                                 "WHERE parent_id IS NULL AND email_normalized LIKE %s", (f"%.{ctx.tag}.c%",))
    print(f"customers         {customers} contacts for {emails} distinct emails in the whole run -> "
          f"{'OK' if customers == emails else 'WRONG'}")
    if customers != emails:
        ctx.failures.append("duplicate customers in the grown database")


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
            print(f"orders            N = {args.orders} measured per way (+{args.warmup} warm-up), "
                  f"{LINES_PER_ORDER} lines of {SKU_COUNT} SKUs + 1 shipping line, 10 % tax excluded, paid (stripe), "
                  f"~{RETURNING_SHARE:.0%} returning customers")
            ctx = Context(args, dbname, tag, Path(workdir))
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
