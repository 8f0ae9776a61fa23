#!/usr/bin/env python3
"""Webhook intake benchmark: signed ``POST /omni/webhook/<id>`` against a real multi-worker Odoo.

Creates a fresh database with ``omni_connector_base``, a ``test`` channel backend with a
secret, starts Odoo in prefork mode on 127.0.0.1, warms up, then sends ``--requests`` signed
deliveries from ``--concurrency`` client threads (one ``http.client`` connection each, kept
alive when the server allows it). A fraction ``--duplicates`` of deliveries re-sends an
earlier delivery (same id, same body, same signature), as a channel retry does.

Prints the acknowledgement latency (send to full response read) percentiles, throughput,
counts by HTTP status and the CPU each request cost (Odoo workers, PostgreSQL, client; other
processes' share is flagged, since it inflates the latencies on a shared machine), then checks
in the database that exactly one event is stored per unique delivery id. ``--process`` also
waits (bounded) for the processor cron to drain the queue. ``--compare-health`` first runs the
same load against ``GET /web/health`` (Odoo's own per-request floor on this machine).

Exit status 1 when a request was not answered 200, the stored count is wrong, the server
logged an error, or (``--process``) the queue did not drain cleanly.

    python3 tests/benchmarks/bench_webhook_intake.py --requests 4000 --concurrency 16 --workers 4
"""

import argparse
import base64
import importlib.util
import json
import os
import platform
import random
import secrets
import shlex
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http import client as http_client
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests.benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.odoo_server import (
    REPO,
    OdooHarnessError,
    OdooServer,
    cpu_delta,
    cpu_snapshot,
    create_database,
    drop_database,
    odoo_shell,
    odoo_version,
    query,
)

ADDON = "omni_connector_base"
REQUEST_TIMEOUT = 30  # seconds for one request; a stuck server fails the run instead of hanging it
WARMUP_PREFIX = "warm"
MEASURED_PREFIX = "bench"
LOG_PROBLEMS_SHOWN = 6
NOISE_WARNING = 0.10  # share of the machine used by other processes above which the figures are flagged


def load_signer():
    """``hmac_sha256_base64`` from the addon, loaded by path (its package ``__init__`` imports Odoo)."""
    path = REPO / ADDON / "pipeline" / "signatures.py"
    spec = importlib.util.spec_from_file_location("omni_bench_signatures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.hmac_sha256_base64


@dataclass(frozen=True)
class Delivery:
    """One HTTP request to send: its path, headers and body, and the delivery id it carries."""

    method: str
    path: str
    body: bytes | None
    headers: dict
    delivery_id: str | None = None


@dataclass
class Outcome:
    """What one request got: latency in seconds, HTTP status (0: no answer) and the body's status."""

    latency: float = 0.0
    status: int = 0
    answer: str = ""  # the webhook's "status" (stored, duplicate...), its "error", or the client error type


@dataclass
class LoadResult:
    outcomes: list
    wall: float  # seconds from the first send to the last answer
    connections: int  # TCP connections opened by the clients


def build_deliveries(backend_id, secret, sign, *, prefix, count, duplicates=0.0, resources=0, rng):
    """``count`` signed webhook deliveries; a ``duplicates`` fraction repeats an earlier one verbatim."""
    path = f"/omni/webhook/{backend_id}"
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    deliveries = []
    unique = 0
    for _ in range(count):
        if deliveries and rng.random() < duplicates:
            deliveries.append(rng.choice(deliveries))
            continue
        delivery_id = f"{prefix}-{unique:07d}"
        resource = unique % resources if resources else unique
        body = json.dumps({
            "resource": f"{prefix}-r{resource}",
            "name": f"Benchmark contact {prefix} {resource}",
            "updated_at": (start + timedelta(milliseconds=unique)).isoformat().replace("+00:00", "Z"),
        }).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Omni-Topic": "test.upsert",
            "X-Omni-Event-Id": delivery_id,
            "X-Omni-Hmac-Sha256": sign(secret, body),
            "User-Agent": "omni-bench-webhook/1",
        }
        deliveries.append(Delivery("POST", path, body, headers, delivery_id))
        unique += 1
    return deliveries


def run_load(port, deliveries, concurrency, rate=0.0):
    """Send ``deliveries`` from ``concurrency`` threads; return a :class:`LoadResult`.

    Each thread keeps one ``http.client`` connection (reopened when the server closes it) and
    takes the next delivery from a shared cursor. With ``rate`` (requests/s, all threads
    together) delivery ``i`` is not sent before ``start + i / rate``.
    """
    outcomes = [Outcome() for _ in deliveries]
    cursor = iter(range(len(deliveries)))
    lock = threading.Lock()
    connections = Counter()
    start_at = time.perf_counter() + 0.05

    def sender(slot):
        conn = http_client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                if rate:
                    delay = start_at + index / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                delivery = deliveries[index]
                outcome = outcomes[index]
                if conn.sock is None:
                    connections[slot] += 1
                began = time.perf_counter()
                try:
                    conn.request(delivery.method, delivery.path, body=delivery.body, headers=delivery.headers)
                    response = conn.getresponse()
                    data = response.read()
                    outcome.latency = time.perf_counter() - began
                    outcome.status = response.status
                    outcome.answer = _answer(data)
                except (OSError, http_client.HTTPException) as error:
                    outcome.latency = time.perf_counter() - began
                    outcome.answer = type(error).__name__
                    conn.close()
        finally:
            conn.close()

    threads = [threading.Thread(target=sender, args=(slot,), daemon=True) for slot in range(concurrency)]
    while time.perf_counter() < start_at:
        time.sleep(0.005)
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    # Bounded: every request times out after REQUEST_TIMEOUT, so the whole load ends by this.
    deadline = time.monotonic() + REQUEST_TIMEOUT * (len(deliveries) // max(concurrency, 1) + 2) + 60
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.1))
    wall = time.perf_counter() - began
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("client threads did not finish in time")
    return LoadResult(outcomes, wall, sum(connections.values()))


def _answer(data):
    try:
        decoded = json.loads(data)
    except ValueError:
        return ""
    if not isinstance(decoded, dict):
        return ""
    return str(decoded.get("status") or decoded.get("error") or "")


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(int(-(-fraction * len(sorted_values) // 1)), 1)  # ceil, at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(title, result, concurrency, workers, cpu=None):
    """Print the figures of one load (and, given, its CPU use per request); return the p99 in ms."""
    outcomes, wall = result.outcomes, result.wall
    latencies = sorted(outcome.latency * 1000 for outcome in outcomes)
    statuses = Counter(outcome.status for outcome in outcomes)
    answers = Counter(outcome.answer or "-" for outcome in outcomes)
    p99 = percentile(latencies, 0.99)
    print(f"\n== {title} ==")
    print(f"requests          {len(outcomes)}")
    print(f"concurrency       {concurrency}")
    print(f"workers           {workers}")
    print(f"wall time         {wall:.3f} s")
    print(f"throughput        {len(outcomes) / wall:.1f} req/s")
    print(f"latency mean      {sum(latencies) / len(latencies):.2f} ms")
    for name, fraction in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99)):
        print(f"latency {name}       {percentile(latencies, fraction):.2f} ms")
    print(f"latency max       {latencies[-1]:.2f} ms")
    by_status = ", ".join(f"{code or 'no answer'}: {count}" for code, count in sorted(statuses.items()))
    print(f"HTTP status       {by_status}")
    print(f"answers           {', '.join(f'{name}: {n}' for name, n in sorted(answers.items()))}")
    reuse = "kept alive" if result.connections <= concurrency else "closed by the server after each answer"
    print(f"TCP connections   {result.connections} ({reuse})")
    if cpu:
        ours = {kind: seconds for kind, seconds in cpu.items() if kind != "machine"}
        parts = [f"{kind} {seconds * 1000 / len(outcomes):.2f}" for kind, seconds in ours.items()]
        parts.append(f"other processes {(cpu['machine'] - sum(ours.values())) * 1000 / len(outcomes):.2f}")
        print(f"CPU ms/request    {', '.join(parts)}")
        print(f"CPU busy          {cpu['machine'] / wall:.2f} of {os.cpu_count()} CPUs during the load")
        foreign = (cpu["machine"] - sum(ours.values())) / (wall * (os.cpu_count() or 1))
        if foreign > NOISE_WARNING:
            print(f"WARNING           other processes used {foreign:.0%} of the machine during the load: "
                  "the latency and throughput figures are inflated by them; the CPU ms/request are not")
    return p99


def machine_lines(dbname):
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    pg_version = query(dbname, "SHOW server_version")[0][0]
    return [
        f"machine           {platform.node()} {platform.machine()}, nproc {os.cpu_count()} "
        f"(usable {len(os.sched_getaffinity(0))}), {cpu_model}",
        f"load average      {' '.join(f'{value:.2f}' for value in os.getloadavg())} (before the run)",
        f"python            {platform.python_version()} ({sys.executable})",
        f"odoo              {odoo_version()}",
        f"postgresql        {pg_version}",
        f"command           {shlex.join([sys.executable, *sys.orig_argv[1:]])}",
    ]


def existing_backend(dbname):
    """``(id, secret)`` of the first active test backend of a database kept by an earlier run."""
    rows = query(dbname, "SELECT id, webhook_secret FROM omni_backend WHERE channel = 'test' AND active "
                 "AND webhook_secret IS NOT NULL ORDER BY id LIMIT 1")
    if not rows:
        raise OdooHarnessError(f"{dbname} has no active test backend with a secret")
    return rows[0]


def create_backend(dbname, secret):
    code = (
        "backend = env['omni.backend'].create({'name': 'Webhook intake benchmark', 'channel': 'test', "
        f"'webhook_secret': {secret!r}}})\n"
        "env.cr.commit()\n"
        "print('BACKEND_ID=%d' % backend.id)\n"
    )
    for line in odoo_shell(dbname, code).splitlines():
        if line.startswith("BACKEND_ID="):
            return int(line.split("=", 1)[1])
    raise OdooHarnessError("the shell did not report the backend id")


def check_stored(dbname, backend_id, deliveries, prefix):
    """Compare stored events with the unique delivery ids sent; return True when they match."""
    unique_ids = {delivery.delivery_id for delivery in deliveries}
    stored, distinct = query(
        dbname, "SELECT count(*), count(DISTINCT idempotency_key) FROM omni_event "
        "WHERE backend_id = %s AND idempotency_key LIKE %s", (backend_id, prefix + "-%"))[0]
    ok = stored == distinct == len(unique_ids)
    print("\n== Store check ==")
    print(f"deliveries sent   {len(deliveries)} ({len(deliveries) - len(unique_ids)} re-sent ids)")
    print(f"unique ids        {len(unique_ids)}")
    print(f"events stored     {stored} (distinct keys {distinct}) -> {'OK' if ok else 'WRONG'}")
    return ok


def cron_trigger_serial(dbname):
    """How many ``ir.cron.trigger`` rows were ever created (they are deleted once run)."""
    last_value, is_called = query(dbname, "SELECT last_value, is_called FROM ir_cron_trigger_id_seq")[0]
    return last_value if is_called else last_value - 1


def state_counts(dbname, backend_id):
    return dict(query(dbname, "SELECT state, count(*) FROM omni_event WHERE backend_id = %s GROUP BY state",
                      (backend_id,)))


def wait_for_drain(server, backend_id, before_intake, *, intake_began, intake_ended, timeout):
    """Poll until no event of the backend is pending or retrying; print the drain figures."""
    dbname = server.dbname
    at_intake_end = state_counts(dbname, backend_id)
    cpu_before = cpu_snapshot(server, dbname)
    deadline = time.monotonic() + timeout
    counts = at_intake_end
    while counts.get("pending", 0) + counts.get("retry", 0) and time.monotonic() < deadline:
        time.sleep(0.25)
        counts = state_counts(dbname, backend_id)
    drained_at = time.perf_counter()
    cpu = cpu_delta(cpu_before, cpu_snapshot(server, dbname))
    queued = counts.get("pending", 0) + counts.get("retry", 0)
    finished, finished_at_end = _finished(counts), _finished(at_intake_end)
    drain = drained_at - intake_ended
    print("\n== Processing (cron) ==")
    print(f"at intake end     {_states(at_intake_end)}")
    print(f"drained           {'yes' if not queued else f'NO, {queued} still queued after {timeout} s'}")
    print(f"drain time        {drain:.2f} s after the last acknowledgement")
    print(f"drain rate        {(finished - finished_at_end) / drain if drain > 0 else 0:.1f} events/s")
    overall = (finished - _finished(before_intake)) / (drained_at - intake_began)
    print(f"overall rate      {overall:.1f} events/s (first measured request to drained)")
    drained = finished - finished_at_end
    if drained:
        print(f"CPU ms/event      odoo cron {cpu['odoo cron'] * 1000 / drained:.2f}, "
              f"postgres {cpu['postgres'] * 1000 / drained:.2f} (drain phase; "
              f"machine {cpu['machine'] / drain:.2f} of {os.cpu_count()} CPUs busy)")
    print(f"final states      {_states(counts)}")
    return not queued and not counts.get("dead") and not counts.get("blocked")


def _finished(counts):
    return sum(count for state, count in counts.items() if state not in ("pending", "retry"))


def _states(counts):
    return ", ".join(f"{state}: {count}" for state, count in sorted(counts.items())) or "none"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="measured requests (default 4000)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="Odoo HTTP workers, >= 2 (default 4)")
    parser.add_argument("--cron-threads", type=int, default=1,
                        help="Odoo cron workers running during the load (default 1; 0 measures intake alone)")
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="fraction of deliveries re-sending an earlier delivery id (default 0.0)")
    parser.add_argument("--resources", type=int, default=0,
                        help="distinct resources the deliveries are about (default 0: one per delivery)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests first (default 100)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: send this many requests/s in total (default 0: as fast as answered)")
    parser.add_argument("--compare-health", action="store_true",
                        help="first run the same load against GET /web/health (Odoo's per-request floor)")
    parser.add_argument("--process", action="store_true",
                        help="wait for the processor cron to drain the queue")
    parser.add_argument("--process-timeout", type=float, default=600, help="bound of --process, seconds")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse-db", metavar="DB",
                        help="measure on a database kept by an earlier --keep-db run (never dropped)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --workers must be positive, --warmup not negative")
    if not 0.0 <= args.duplicates < 1.0:
        parser.error("--duplicates must be in [0, 1)")
    if args.process and args.cron_threads < 1:
        parser.error("--process needs --cron-threads >= 1")
    return args


def benchmark(args, dbname, backend_id, secret):
    """Start the server, warm up, measure, check; return the list of failures."""
    rng = random.Random(args.seed)
    sign = load_signer()
    failures = []
    run_id = f"{int(time.time())}x{os.getpid()}"  # delivery ids never seen before, even in a reused database
    measured_prefix = f"{MEASURED_PREFIX}{run_id}"
    with OdooServer(dbname, workers=args.workers, max_cron_threads=args.cron_threads) as server:
        print(f"server            {shlex.join(server.command)}")
        print(f"server log        {server.log_path}", flush=True)
        warmup = build_deliveries(backend_id, secret, sign, prefix=f"{WARMUP_PREFIX}{run_id}",
                                  count=args.warmup, rng=rng)
        if warmup:
            result = run_load(server.port, warmup, args.concurrency)
            bad = sum(outcome.status != 200 for outcome in result.outcomes)
            print(f"warm-up           {len(warmup)} requests, {bad} not 200", flush=True)
        if args.compare_health:
            health = [Delivery("GET", "/web/health", None, {"User-Agent": "omni-bench-webhook/1"})]
            cpu_before = cpu_snapshot(server, dbname)
            result = run_load(server.port, health * args.requests, args.concurrency, args.rate)
            cpu = cpu_delta(cpu_before, cpu_snapshot(server, dbname))
            summarize("GET /web/health (Odoo's floor)", result, args.concurrency, args.workers, cpu)

        deliveries = build_deliveries(backend_id, secret, sign, prefix=measured_prefix, count=args.requests,
                                      duplicates=args.duplicates, resources=args.resources, rng=rng)
        before_intake = state_counts(dbname, backend_id)
        triggers_before = cron_trigger_serial(dbname)
        cpu_before = cpu_snapshot(server, dbname)
        intake_began = time.perf_counter()
        result = run_load(server.port, deliveries, args.concurrency, args.rate)
        intake_ended = time.perf_counter()
        cpu = cpu_delta(cpu_before, cpu_snapshot(server, dbname))
        mode = f"{args.rate:g} req/s offered" if args.rate else "closed loop"
        summarize(f"POST /omni/webhook/{backend_id} ({args.cron_threads} cron worker(s) running, {mode})",
                  result, args.concurrency, args.workers, cpu)
        triggers = cron_trigger_serial(dbname) - triggers_before
        print(f"cron triggers     {triggers} created during the load "
              f"({triggers / len(deliveries):.3f} per request)")

        not_ok = sum(outcome.status != 200 for outcome in result.outcomes)
        if not_ok:
            failures.append(f"{not_ok} requests not answered 200")
        stored_answers = sum(outcome.answer == "stored" for outcome in result.outcomes)
        unique = len({delivery.delivery_id for delivery in deliveries})
        if stored_answers != unique:
            failures.append(f"{stored_answers} 'stored' answers for {unique} unique delivery ids")
        if not check_stored(dbname, backend_id, deliveries, measured_prefix):
            failures.append("stored event count differs from the unique delivery ids")
        if args.process:
            if not wait_for_drain(server, backend_id, before_intake, intake_began=intake_began,
                                  intake_ended=intake_ended, timeout=args.process_timeout):
                failures.append("the queue did not drain cleanly")
        else:
            print(f"\nevent states      {_states(state_counts(dbname, backend_id))}")
        problems = server.log_problems()
        print(f"server log        {len(problems)} error line(s) in {server.log_path}")
        for line in dict.fromkeys(problems[:LOG_PROBLEMS_SHOWN]):
            print(f"                  {line[:200]}")
        if problems:
            failures.append(f"{len(problems)} error lines in the server log")
    return failures


def main(argv=None):
    args = parse_args(argv)
    dbname = args.reuse_db or f"omni_bench_webhook_{os.getpid()}_{int(time.time())}"
    keep = args.keep_db or bool(args.reuse_db)
    print(f"== Webhook intake benchmark: database {dbname} ==", flush=True)
    try:
        began = time.monotonic()
        if args.reuse_db:
            backend_id, secret = existing_backend(dbname)
        else:
            secret = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
            create_database(dbname, [ADDON])
            backend_id = create_backend(dbname, secret)
        print(f"database ready in {time.monotonic() - began:.0f} s; test backend id {backend_id}")
        for line in machine_lines(dbname):
            print(line)
        failures = benchmark(args, dbname, backend_id, secret)
        print(f"load average      {' '.join(f'{value:.2f}' for value in os.getloadavg())} (after the run)")
    except (OdooHarnessError, RuntimeError) as error:
        failures = [str(error)]
    finally:
        if keep:
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
