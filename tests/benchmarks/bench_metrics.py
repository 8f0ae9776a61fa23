#!/usr/bin/env python3
"""``GET /omni/metrics`` scrape latency as the event table grows (10k -> 1M events), with 100,000
settlement lines, against a real multi-worker Odoo on 127.0.0.1.

Creates a fresh database with ``omni_reconciliation`` and ``omni_monitoring`` (their bridge
``omni_monitoring_reconciliation`` comes with them; or uses ``--db``), five ``test`` channel backends
and one Stripe payout account each, then fills the tables with SQL (``generate_series``: the ORM would
take hours for a million rows): payouts and their lines, and events in their proportions of a running
shop (97 % done, 1 % pending, 1 % blocked, 0.5 % retry, 0.5 % dead, half of the incoming ones
webhooks), plus the per-minute aggregate rows of the last two hours, folded into their running totals
but for the last 6 minutes (the most the fold cron, every 5 minutes, leaves unfolded). At each size
it runs ``ANALYZE``, warms up, scrapes ``--scrapes`` times
with the Bearer token and prints p50/p90/p99/max (and p50 per backend), the body size and the number
of series. With ``--explain``, it also profiles the collector in process at each size: the time of
each family group and ``EXPLAIN ANALYZE`` of every SQL statement a scrape runs.

    python3 tests/benchmarks/bench_metrics.py --sizes 10000,100000,1000000 --lines 100000 --scrapes 50 --explain

The figures are wall-clock on a shared machine: the script prints ``uptime`` before and after.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import (
    OdooServer,
    create_database,
    drop_database,
    odoo_shell,
    query,
)

TOKEN = "bench-metrics-token"
BACKENDS = 5

SETUP = """
from odoo.addons.omni_monitoring.models.res_config_settings import TOKEN_HASH_PARAM, hash_token
env["ir.config_parameter"].set_param(TOKEN_HASH_PARAM, hash_token(%(token)r))
company = env.company
Account = env["omni.settlement.account"]
for index in range(%(backends)d):
    backend = env["omni.backend"].create({"name": f"Bench shop {index}", "channel": "test",
                                          "webhook_secret": "bench-secret"})
    values = Account._omni_default_values(company, "stripe", name=f"Stripe {index}")
    values["backend_id"] = backend.id
    account = Account.create(values)
    account.action_setup_accounts()
env.cr.commit()
print("setup done")
"""


PROFILE = """
import time

class Recorder:
    def __init__(self, cursor):
        self._cursor, self.statements = cursor, []

    def execute(self, query, params=None):
        self.statements.append((query, params))
        return self._cursor.execute(query, params)

    def __getattr__(self, name):
        return getattr(self._cursor, name)

Metrics = env["omni.metrics"]
now = __import__("odoo").fields.Datetime.now()
backends = Metrics._omni_backend_labels()
parts = [("events", lambda: Metrics._omni_event_families(backends, now)),
         ("counters", lambda: Metrics._omni_counter_families(backends)),
         ("exceptions", lambda: Metrics._omni_exception_families(backends, now)),
         ("intake", lambda: Metrics._omni_intake_families(backends)),
         ("payouts", lambda: Metrics._omni_settlement_families(backends, now)),
         ("crons", lambda: Metrics._omni_cron_families(now))]
timings = {name: [] for name, _compute in parts}
for _round in range(%(rounds)d):
    for name, compute in parts:
        started = time.perf_counter()
        compute()
        timings[name].append((time.perf_counter() - started) * 1000)
print("in process, p50 ms: " + ", ".join(f"{name} {sorted(values)[len(values) // 2]:.2f}"
                                         for name, values in timings.items()))
from odoo.addons.omni_monitoring.lib.exposition import render
started = time.perf_counter()
body = render(Metrics._omni_families())
print(f"all families and render: {(time.perf_counter() - started) * 1000:.2f} ms")
recorder = Recorder(env.cr._obj)
env.cr._obj = recorder
Metrics._omni_families()
env.cr._obj = recorder._cursor
for query, params in recorder.statements:
    text = " ".join(str(query).split())
    if text.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
        continue
    env.cr._obj.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) " + query, params)
    plan = [row[0] for row in env.cr._obj.fetchall()]
    nodes = [line.strip().split("  (")[0].lstrip("-> ") for line in plan if "(cost=" in line]
    total = [line for line in plan if line.startswith("Execution Time")]
    print(f"  {total[0].split(': ')[1] if total else '?':>10}  {text[:90]}")
    print(f"              plan: {' / '.join(nodes[:6])}")
"""


def sql(dbname, statement, params=None):
    return query(dbname, statement, params)


def fill_settlements(dbname, lines):
    """``lines`` settlement lines in payouts of 100 lines, spread over the accounts and 300 days."""
    payouts = max(lines // 100, 1)
    sql(dbname, """
        INSERT INTO omni_settlement (payout_account_id, company_id, external_id, currency_id, payout_date,
                                     expected_amount, lines_total, state, unmatched_count, line_count, imported_at,
                                     create_date, write_date)
        SELECT a.id, a.company_id, 'po_bench_' || g, (SELECT currency_id FROM res_company WHERE id = a.company_id),
               CURRENT_DATE - (g %% 300), 1000, 1000,
               (ARRAY['reconciled', 'reconciled', 'reconciled', 'posted', 'matched', 'exception'])[1 + g %% 6],
               CASE WHEN g %% 6 = 5 THEN 3 ELSE 0 END, 100, now() - (g %% 300) * interval '1 day', now(), now()
          FROM generate_series(1, %s) g
          JOIN LATERAL (SELECT id, company_id FROM omni_settlement_account
                         ORDER BY id OFFSET (g %% %s) LIMIT 1) a ON true
    """, (payouts, BACKENDS))
    sql(dbname, """
        INSERT INTO omni_settlement_line (settlement_id, company_id, currency_id, kind, external_id, gross, fee, net,
                                          match_state, sequence, create_date, write_date)
        SELECT s.id, s.company_id, s.currency_id, 'sale', s.external_id || '_' || n, 10, 0.3, 9.7,
               CASE WHEN s.state = 'exception' AND n <= 3 THEN 'unmatched' ELSE 'matched' END, n, now(), now()
          FROM omni_settlement s CROSS JOIN generate_series(1, 100) n
    """)


def fill_events(dbname, start, stop, live=None):
    """Events ``start`` .. ``stop - 1`` (by number), received over the last 30 days. With ``live``, only
    the first ``live`` events are in a live state (pending, blocked, retry, dead), the rest done: a
    backlog that does not grow with the history kept; without, 2 % of every batch is live."""
    sql(dbname, """
        INSERT INTO omni_event (backend_id, company_id, direction, topic, idempotency_key, resource_model,
                                resource_key, source_ts, payload, payload_encoding, headers, state, attempts,
                                received_at, processed_at, create_date, write_date)
        SELECT b.id, b.company_id, CASE WHEN g %% 10 = 0 THEN 'out' ELSE 'in' END,
               CASE WHEN g %% 10 = 0 THEN 'inventory/set' ELSE 'orders/updated' END,
               'bench-' || g, 'sale.order', 'R' || (g %% 200000), t, '{"id": ' || g || '}', 'text',
               CASE WHEN g %% 2 = 0 THEN '{"X-Omni-Topic": "orders/updated"}' END,
               CASE WHEN %s AND g > %s THEN 'done'
                    WHEN g %% 200 = 1 OR (%s AND g %% 4 = 1) THEN 'pending'
                    WHEN g %% 200 = 2 OR (%s AND g %% 4 = 2) THEN 'blocked'
                    WHEN g %% 200 = 3 OR (%s AND g %% 4 = 3) THEN 'retry'
                    WHEN g %% 200 = 4 OR (%s AND g %% 4 = 0) THEN 'dead' ELSE 'done' END,
               1, t, t, t, t
          FROM generate_series(%s, %s) g
          CROSS JOIN LATERAL (SELECT now() AT TIME ZONE 'UTC' - ((%s - g) * interval '2.592 second') AS t) ts
          JOIN LATERAL (SELECT id, company_id FROM omni_backend WHERE name LIKE 'Bench shop %%'
                         ORDER BY id OFFSET (g %% %s) LIMIT 1) b ON true
    """, (live is not None, live or 0, live is not None, live is not None, live is not None, live is not None,
          start, stop - 1, stop, BACKENDS))


def fill_aggregates(dbname):
    """Two hours of per-minute rows (2 worker shards, 3 outcomes, 3 API operations) and a total row each."""
    sql(dbname, "DELETE FROM omni_metric_minute")
    sql(dbname, """
        INSERT INTO omni_metric_minute (minute, shard, backend_id, source, channel, company_id, metric, operation,
                                        count, errors, throttled, seconds, bucket_1, bucket_2, bucket_3, bucket_4,
                                        bucket_5, bucket_6, bucket_7, bucket_8)
        SELECT m.minute, s.shard, b.id, '', b.channel, b.company_id, k.metric, k.operation, 20, 1, 1, 4.0,
               5, 5, 5, 3, 1, 1, 0, 0
          FROM omni_backend b
         CROSS JOIN (SELECT date_trunc('minute', now() AT TIME ZONE 'UTC') - n * interval '1 minute' AS minute
                       FROM generate_series(0, 119) n
                     UNION ALL SELECT '1970-01-01'::timestamp) m
         CROSS JOIN (VALUES (1000), (1001)) s (shard)
         CROSS JOIN (VALUES ('done', ''), ('retry', ''), ('blocked', ''), ('api', 'orderUpdate'),
                            ('api', 'inventorySetQuantities'), ('api', 'GET /v1/payouts')) k (metric, operation)
         WHERE b.name LIKE 'Bench shop %%'
    """)


FOLD = """
folded = env["omni.metric.minute"]._cron_compact(settle_minutes=6)
env.cr.commit()
print(f"{folded} aggregate rows folded into the totals, the last 6 minutes left unfolded")
"""


def scrape(port, count):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/omni/metrics",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    timings, body = [], b""
    for _index in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"scrape answered {response.status}")
        timings.append((time.perf_counter() - started) * 1000)
    return timings, body


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(round(fraction * (len(ordered) - 1)), len(ordered) - 1)]


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="event counts to measure at (ascending)")
    parser.add_argument("--lines", type=int, default=100000, help="settlement lines")
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", help="use this database (omni_monitoring installed, nothing of the bench yet)")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--explain", action="store_true",
                        help="profile the collector in process and EXPLAIN ANALYZE its statements at each size")
    parser.add_argument("--live", type=int, default=None,
                        help="events in a live state in all (default: 2 %% of the events, growing with them)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    dbname = args.db or f"monitoring_bench_{os.getpid()}"
    print(f"load before: {uptime()}")
    try:
        if not args.db:
            started = time.perf_counter()
            create_database(dbname, ["omni_reconciliation", "omni_monitoring"])
            print(f"database {dbname} created in {time.perf_counter() - started:.0f} s")
        print(odoo_shell(dbname, SETUP % {"token": TOKEN, "backends": BACKENDS}).strip().splitlines()[-1])
        started = time.perf_counter()
        fill_settlements(dbname, args.lines)
        fill_aggregates(dbname)
        # What the fold cron (every 5 minutes) leaves at worst: the last 6 minutes not folded yet.
        print(odoo_shell(dbname, FOLD).strip().splitlines()[-1])
        lines = sql(dbname, "SELECT count(*) FROM omni_settlement_line")[0][0]
        print(f"{lines} settlement lines and the aggregate rows in {time.perf_counter() - started:.0f} s")
        header = (f"{'events':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8} "
                  f"{'p50/backend':>11} {'series':>7} {'bytes':>7}")
        print(header)
        done = 0
        with OdooServer(dbname, workers=args.workers, max_cron_threads=0) as server:
            for size in sizes:
                if size > done:
                    fill_events(dbname, done + 1, size + 1, args.live)
                    done = size
                sql(dbname, "ANALYZE omni_event")
                sql(dbname, "ANALYZE omni_settlement_line")
                sql(dbname, "ANALYZE omni_metric_minute")  # autovacuum's job on a running database
                scrape(server.port, 5)  # warm up every worker's caches
                timings, body = scrape(server.port, args.scrapes)
                series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
                print(f"{size:>9} {percentile(timings, 0.5):>8.1f} {percentile(timings, 0.9):>8.1f} "
                      f"{percentile(timings, 0.99):>8.1f} {max(timings):>8.1f} {statistics.mean(timings):>8.1f} "
                      f"{percentile(timings, 0.5) / BACKENDS:>11.2f} {series:>7} {len(body):>7}  "
                      f"(load: {uptime().split('load average:')[-1].strip()})", flush=True)
                if args.explain:
                    print(odoo_shell(dbname, PROFILE % {"rounds": 20}).rstrip(), flush=True)
                    print(header, flush=True)
        events = sql(dbname, "SELECT count(*) FROM omni_event")[0][0]
        print(f"events in the table at the end: {events}")
    finally:
        print(f"load after: {uptime()}")
        if not args.keep_db and not args.db:
            drop_database(dbname)


if __name__ == "__main__":
    main()
