#!/usr/bin/env python3
"""Payout reconciliation benchmark: import, match and post settlements of 1,000 … 100,000 lines.

Creates a database with ``omni_reconciliation`` (or reuses ``--db``), then for each size N:

1. **fixture** (not measured as a target): N posted order-time payments in the Stripe clearing
   journal, one per charge, each with its journal entry on the outstanding receipts account. One
   payment is created through the ORM; the others are cloned from it with ``INSERT … SELECT``
   over ``generate_series`` (amounts, names and references varied), because posting 100,000
   payments through the ORM takes over an hour on a small machine;
2. **import**: N Stripe balance transactions (wire shape, minor units, ``ch_…`` sources) mapped by
   ``lib.stripe_mapper.settlement_from_stripe`` and stored through
   ``omni.settlement.account._omni_import_settlement``;
3. **match**: ``omni.settlement._omni_match`` (candidates fetched with a few queries, linear
   hash-join matching, results written in batches);
4. **post**: ``omni.settlement._omni_post`` in summary mode as the cron runs it: the payout's entry,
   and — beyond 1,000 payments — the clearing in entries of 1,000 payments each, posted in one
   transaction; then each clearing entry reconciled with its payments in a transaction of its own
   (``_omni_clear_pending``, committed as ``_commit_progress`` does); the longest transaction is
   reported against Odoo's default cron limit (Odoo recomputes an entry's reconciliation from all
   its partials each time, so one entry for 100,000 payments would cost quadratically).

Each size runs in its own ``odoo shell`` process, so the peak RSS (VmHWM) is that size's. Prints
per-step seconds, per-line microseconds, the per-line growth from the smallest to the largest
size (target ≤ 1.2x), and checks the result (entry balanced, every payment cleared).

    python3 tests/benchmarks/bench_reconciliation.py --sizes 1000,100000
    python3 tests/benchmarks/bench_reconciliation.py --sizes 1000,10000 --db omni_bench_recon --keep
"""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import (
    OdooHarnessError,
    create_database,
    drop_database,
    odoo_shell,
    odoo_version,
    query,
)

ADDON = "omni_reconciliation"
TARGETS = {"import_match_s": 60.0, "post_s": 300.0, "growth": 1.2}

# Runs inside ``odoo shell`` (``env`` bound). Placeholders: __SIZE__, __PREFIX__.
SETUP_CODE = r'''
import json
from datetime import date
env = env(su=True)
company = env.company
backend = env["omni.backend"].search([("name", "=", "bench recon")], limit=1)
if not backend:
    backend = env["omni.backend"].create({"name": "bench recon", "channel": "custom", "company_id": company.id})
Account = env["omni.settlement.account"]
account = Account.search([("name", "=", "bench stripe")], limit=1)
if not account:
    values = Account._omni_default_values(company, "stripe", name="bench stripe")
    values.update(backend_id=backend.id, clearing_journal_id=backend._omni_clearing_journal("stripe").id,
                  auto_import=False)
    account = Account.create(values)
partner = env["res.partner"].search([("name", "=", "bench customer")], limit=1) or \
    env["res.partner"].create({"name": "bench customer"})
env.cr.commit()
print("SETUP " + json.dumps({"account": account.id, "backend": backend.id, "partner": partner.id}))
'''

FIXTURE_CODE = r'''
import json, time
from datetime import date
from odoo.tools import SQL
env = env(su=True)
size, prefix = __SIZE__, "__PREFIX__"
account = env["omni.settlement.account"].search([("name", "=", "bench stripe")], limit=1)
backend = account.backend_id
partner = env["res.partner"].search([("name", "=", "bench customer")], limit=1)
journal = backend._omni_clearing_journal("stripe")
company = env.company
started = time.perf_counter()
template = env["account.payment"].create({
    "payment_type": "inbound", "partner_type": "customer", "partner_id": partner.id, "amount": 1000.0,
    "currency_id": company.currency_id.id, "journal_id": journal.id,
    "date": date(2026, 11, 20), "memo": f"{prefix}template", "payment_reference": f"{prefix}template",
    "omni_backend_id": backend.id, "omni_gateway": "stripe", "omni_transaction_id": f"{prefix}template"})
template.action_post()
env.flush_all()
move = template.move_id
cr = env.cr

def columns(table):
    cr.execute(SQL("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                   "ORDER BY ordinal_position", table))
    return cr.fetchall()

# amount of clone g: 5.00 .. 204.99, the same formula as the settlement lines
AMOUNT = SQL("(5 + (m.g %% 200) + (m.g %% 100) / 100.0)::numeric")

def clone(table, template_id, overrides):
    names, values = [], []
    for name, data_type in columns(table):
        names.append(SQL.identifier(name))
        if name in overrides:
            values.append(overrides[name])
        elif data_type == "numeric" and name not in ("sequence_number", "quantity", "invoice_currency_rate"):
            # every amount equal to the template's (+/-1000) scales to the clone's amount
            values.append(SQL("CASE WHEN t.%s = 1000 THEN %s WHEN t.%s = -1000 THEN -%s ELSE t.%s END",
                              SQL.identifier(name), AMOUNT, SQL.identifier(name), AMOUNT, SQL.identifier(name)))
        else:
            values.append(SQL("t.%s", SQL.identifier(name)))
    cr.execute(SQL("INSERT INTO %s (%s) SELECT %s FROM bench_map m JOIN %s t ON t.id = %s",
                   SQL.identifier(table), SQL(", ").join(names), SQL(", ").join(values), SQL.identifier(table),
                   template_id))

cr.execute(SQL("""CREATE TEMP TABLE bench_map ON COMMIT DROP AS
    SELECT g, nextval('account_move_id_seq') AS move_id, nextval('account_payment_id_seq') AS payment_id,
           nextval('account_move_line_id_seq') AS line1, nextval('account_move_line_id_seq') AS line2
      FROM generate_series(1, %s) g""", size))
new_number = SQL("(t.sequence_number + m.g)")
new_name = SQL("t.sequence_prefix || lpad(%s::text, greatest(5, length(%s::text)), '0')", new_number, new_number)
reference = SQL("%s || m.g::text", prefix)
clone("account_move", move.id, {"id": SQL("m.move_id"), "name": new_name, "sequence_number": new_number,
                                 "ref": reference, "origin_payment_id": SQL("NULL")})
move_name = SQL("(SELECT mv.name FROM account_move mv WHERE mv.id = m.move_id)")
clone("account_payment", template.id, {
    "id": SQL("m.payment_id"), "move_id": SQL("m.move_id"), "name": move_name,
    "memo": reference, "payment_reference": reference, "omni_transaction_id": reference})
for position, line in enumerate(move.line_ids.sorted("id"), start=1):
    clone("account_move_line", line.id, {"id": SQL("m.line%s" % position), "move_id": SQL("m.move_id"),
                                         "payment_id": SQL("m.payment_id"), "move_name": move_name,
                                         "ref": reference, "name": reference})
cr.execute(SQL("UPDATE account_move mv SET origin_payment_id = m.payment_id FROM bench_map m WHERE mv.id = m.move_id"))
cr.execute(SQL("SELECT count(*) FROM account_payment WHERE omni_transaction_id LIKE %s", prefix + "%"))
count = cr.fetchone()[0]
cr.execute("ANALYZE account_payment; ANALYZE account_move; ANALYZE account_move_line")
env.cr.commit()
print("FIXTURE " + json.dumps({"payments": count, "seconds": round(time.perf_counter() - started, 2)}))
'''

RUN_CODE = r'''
import json, time, gc
from datetime import datetime, timezone
from odoo.addons.omni_reconciliation.lib.stripe_mapper import settlement_from_stripe
env = env(su=True, context=dict(env.context, omni_no_trigger=True))
size, prefix = __SIZE__, "__PREFIX__"
account = env["omni.settlement.account"].search([("name", "=", "bench stripe")], limit=1)

def rss():
    values = {}
    with open("/proc/self/status") as status:
        for row in status:
            if row.startswith(("VmRSS", "VmHWM")):
                key, value = row.split(":")
                values[key] = int(value.split()[0]) // 1024
    return values

result = {"size": size, "rss_start_mb": rss()["VmRSS"]}
# Stripe's wire shape: balance transactions in minor units (what stripe-python hands over)
created = int(datetime(2026, 11, 20, 12, tzinfo=timezone.utc).timestamp())
txns = []
for g in range(1, size + 1):
    amount = (5 + g % 200) * 100 + g % 100
    fee = (amount * 29 + 500) // 1000 + 30
    txns.append({"id": f"txn_{prefix}{g}", "object": "balance_transaction", "amount": amount, "fee": fee,
                 "net": amount - fee, "currency": "usd", "created": created, "type": "charge",
                 "reporting_category": "charge", "source": f"{prefix}{g}", "description": "Charge",
                 "fee_details": [{"amount": fee, "currency": "usd", "type": "stripe_fee"}], "exchange_rate": None})
txns.append({"id": f"txn_{prefix}radar", "object": "balance_transaction", "amount": -50, "fee": 0, "net": -50,
             "currency": "usd", "created": created, "type": "stripe_fee", "reporting_category": "fee",
             "source": None, "description": "Radar for Fraud Teams", "fee_details": []})
payout = {"id": f"po_{prefix}", "amount": sum(t["net"] for t in txns), "currency": "usd",
          "arrival_date": created + 5 * 86400, "status": "paid"}
gc.collect()
t0, c0 = time.perf_counter(), time.process_time()
data = settlement_from_stripe(payout, txns)
result["map_s"] = round(time.perf_counter() - t0, 3)
result["map_cpu"] = round(time.process_time() - c0, 3)
del txns
gc.collect()

t, c = time.perf_counter(), time.process_time()
settlement = account._omni_import_settlement(data)
env.flush_all()
result["store_s"] = round(time.perf_counter() - t, 3)
result["import_s"] = round(result["map_s"] + result["store_s"], 3)
result["import_cpu"] = round(result["map_cpu"] + time.process_time() - c, 3)
result["state_after_import"] = settlement.state
env.cr.commit()
del data
gc.collect()

t, c = time.perf_counter(), time.process_time()
settlement._omni_match()
env.flush_all()
result["match_s"] = round(time.perf_counter() - t, 3)
result["match_cpu"] = round(time.process_time() - c, 3)
result["state_after_match"] = settlement.state
result["unmatched"] = settlement.unmatched_count
env.cr.commit()

# posted as the match-and-post cron does it: the entries in one transaction, then the clearing one
# chunk (<= 1,000 payments) per transaction, each committed (``_commit_progress`` commits in a cron)
Settlement = type(settlement)
transactions = []
mark = [time.perf_counter()]


def commit_progress(records, processed=0, remaining=None):
    env.cr.commit()
    now = time.perf_counter()
    transactions.append(now - mark[0])
    mark[0] = now
    return 3600.0


t, c = time.perf_counter(), time.process_time()
settlement.with_context(omni_defer_clearing=True)._omni_post()
env.flush_all()
env.cr.commit()
result["post_entries_s"] = round(time.perf_counter() - t, 3)
mark[0] = time.perf_counter()
Settlement._omni_commit_progress = commit_progress
try:
    settlement._omni_clear_pending()
    env.flush_all()
    env.cr.commit()
    transactions.append(time.perf_counter() - mark[0])
finally:
    del Settlement._omni_commit_progress
result["post_s"] = round(time.perf_counter() - t, 3)
result["post_cpu"] = round(time.process_time() - c, 3)
result["clearing_transactions"] = len(transactions)
result["longest_transaction_s"] = round(max([result["post_entries_s"], *transactions]), 3)
with open("/proc/loadavg") as loadavg:
    result["loadavg"] = loadavg.read().split()[0]
env.cr.commit()
env.cr.execute("""SELECT count(DISTINCT aml.move_id), count(*), sum(aml.balance) FROM account_move_line aml
                  JOIN account_move m ON m.id = aml.move_id WHERE m.omni_settlement_id = %s""", [settlement.id])
result["entries"], result["entry_lines"], balance = env.cr.fetchone()
result["entry_balance"] = float(balance)
env.cr.execute("""SELECT count(*) FILTER (WHERE aml.reconciled), count(*) FROM account_payment p
                  JOIN account_move_line aml ON aml.move_id = p.move_id AND aml.account_id = p.outstanding_account_id
                  WHERE p.omni_transaction_id LIKE %s AND p.omni_transaction_id != %s""",
               [prefix + "%", prefix + "template"])
result["payments_cleared"], result["payments"] = env.cr.fetchone()
result["state"] = settlement.state
memory = rss()
result["rss_end_mb"], result["rss_peak_mb"] = memory["VmRSS"], memory["VmHWM"]
print("RESULT " + json.dumps(result))
'''


def _shell(dbname, code, marker, timeout):
    out = odoo_shell(dbname, code, timeout=timeout)
    for row in out.splitlines():
        if row.startswith(marker + " "):
            return json.loads(row[len(marker) + 1:])
    raise OdooHarnessError(f"no {marker} line in the shell output:\n{out[-3000:]}")


def _machine():
    cpu = "unknown"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "odoo": odoo_version(),
            "postgres": query("postgres", "SHOW server_version")[0][0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000", help="comma separated line counts (default 1000,100000)")
    parser.add_argument("--db", help="reuse this database (created with the addon when missing)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--timeout", type=int, default=5400, help="seconds allowed per size and step")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    dbname = args.db or f"omni_bench_recon_{os.getpid()}"
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {json.dumps(_machine())}")
    exists = bool(query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)))
    started = time.monotonic()
    try:
        if not exists:
            print(f"creating {dbname} with {ADDON} ...", flush=True)
            create_database(dbname, [ADDON])
            print(f"  created in {time.monotonic() - started:.0f} s", flush=True)
        _shell(dbname, SETUP_CODE, "SETUP", 600)
        results = []
        for size in sizes:
            prefix = f"ch_b{size}_{int(time.time())}_"
            fixture = _shell(dbname, FIXTURE_CODE.replace("__SIZE__", str(size)).replace("__PREFIX__", prefix),
                             "FIXTURE", args.timeout)
            print(f"[{size:>7} lines] fixture: {fixture['payments']} payments in {fixture['seconds']} s", flush=True)
            result = _shell(dbname, RUN_CODE.replace("__SIZE__", str(size)).replace("__PREFIX__", prefix),
                            "RESULT", args.timeout)
            results.append(result)
            print(f"[{size:>7} lines] import {result['import_s']:.2f} s, match {result['match_s']:.2f} s, "
                  f"post {result['post_s']:.2f} s (entries {result['post_entries_s']:.2f} s, then "
                  f"{result['clearing_transactions']} clearing transactions; longest transaction "
                  f"{result['longest_transaction_s']:.2f} s) (import = map {result['map_s']:.2f} s + store "
                  f"{result['store_s']:.2f} s); "
                  f"state {result['state']}, "
                  f"{result['payments_cleared']}/{result['payments']} payments cleared, {result['entries']} entries of "
                  f"{result['entry_lines']} lines balancing to {result['entry_balance']}; RSS peak "
                  f"{result['rss_peak_mb']} MB (start {result['rss_start_mb']} MB)", flush=True)
        _report(results)
        return 0 if _ok(results) else 1
    finally:
        if not args.keep and not exists:
            drop_database(dbname)


def _per_line_us(result, step, kind="s"):
    return result[f"{step}_{kind}"] / result["size"] * 1e6


def _report(results):
    print("\nper-line cost, wall clock (CPU of the Odoo process in brackets), µs/line:")
    print(f"{'lines':>9} {'import':>17} {'match':>17} {'post':>19} {'import+match s':>15} {'post s':>8} "
          f"{'peak MB':>8} {'load':>5}")
    for r in results:
        cells = [f"{_per_line_us(r, step):8.1f} [{_per_line_us(r, step, 'cpu'):6.1f}]"
                 for step in ("import", "match", "post")]
        print(f"{r['size']:>9} {cells[0]:>17} {cells[1]:>17} {cells[2]:>19} {r['import_s'] + r['match_s']:>15.2f} "
              f"{r['post_s']:>8.2f} {r['rss_peak_mb']:>8} {r['loadavg']:>5}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(f"\ngrowth of the per-line cost from {small['size']} to {large['size']} lines (target ≤ "
              f"{TARGETS['growth']}x), wall clock [CPU]:")
        for step in ("import", "match", "post"):
            a, b = _per_line_us(small, step), _per_line_us(large, step)
            ac, bc = _per_line_us(small, step, "cpu"), _per_line_us(large, step, "cpu")
            print(f"  {step:<7} {a:9.1f} µs → {b:9.1f} µs = {b / a:.2f}x   [{ac:9.1f} → {bc:9.1f} µs = {bc / ac:.2f}x]")
    largest = results[-1]
    print(f"\nlargest ({largest['size']} lines): import+match {largest['import_s'] + largest['match_s']:.1f} s "
          f"(target < {TARGETS['import_match_s']:.0f} s), post {largest['post_s']:.1f} s "
          f"(target < {TARGETS['post_s']:.0f} s), its longest transaction {largest['longest_transaction_s']:.1f} s "
          f"(Odoo's default cron limit: 120 s); load average at the end {largest['loadavg']} on "
          f"{os.cpu_count()} CPUs")


def _ok(results):
    return all(r["state"] == "posted" and r["payments_cleared"] == r["payments"] and abs(r["entry_balance"]) < 1e-6
               for r in results)


if __name__ == "__main__":
    sys.exit(main())
