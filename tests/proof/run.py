#!/usr/bin/env python3
"""Proof: what the connectors survive, measured against a real multi-worker Odoo.

    python3 tests/proof/run.py [--quick] [--channels shopify,api] [suite ...]

One fresh database ``proof_<pid>_<time>`` with the repository's addons, one Odoo server
(prefork, ``--workers 2 --max-cron-threads 1``, 127.0.0.1), real PostgreSQL and the channel
simulators on loopback. Each suite adds rows to one table of figures (printed at the end);
the exit status is 1 when any claim fails. ``--quick`` runs small sizes (CI: ``.ci/run``; about
3 minutes on an idle 2-vCPU machine; every suite but faults unless named); a full run (no
``--quick``, every suite and channel; ``--scale`` shrinks the sizes) writes the table into the
README's "Proof" section with the machine, date, load and command (``--no-readme`` to skip).

Suites (in this order; name some to run only those): ``chaos`` (delivery chaos), ``kill``
(SIGKILL of HTTP workers, cron worker, whole server; then of the cron worker and the server while a
payout of ``--payout-lines`` lines posts: ``kill_payout.py``), ``faults`` (the channel's API serving
20 % faults, then only faults), ``dbrestart`` (PostgreSQL restarted during processing: the run
then has a cluster of its own, ``harness.PrivateCluster``), ``fuzz`` (schemathesis on the API,
hypothesis on every channel's webhook), ``authz`` (the authorization matrix over JSON-RPC). Channels are plug-ins
(``tests/proof/channels.py``: how to add one is in its docstring).
"""

import argparse
import re
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import importlib

from tests.proof.channels import REGISTRY, channels_for
from tests.proof.harness import REPO, OdooHarnessError, PrivateCluster, Proof

SUITES = {  # name: module in tests/proof, in the order they run
    "chaos": "suite_chaos", "kill": "suite_kill", "faults": "suite_faults", "dbrestart": "suite_dbrestart",
    "fuzz": "suite_fuzz", "authz": "suite_authz",
}
QUICK_SUITES = ("chaos", "kill", "dbrestart", "fuzz", "authz")  # --quick without suite names (CI's time budget)
PRIVATE_PG_SUITES = ("dbrestart",)  # a run with one of these has a PostgreSQL cluster of its own
README = REPO / "README.md"
BEGIN, END = "<!-- proof:begin -->", "<!-- proof:end -->"


def suite(name):
    return importlib.import_module(f"tests.proof.{SUITES[name]}")


def _free_port_in(low, high):
    import random  # noqa: PLC0415
    import socket  # noqa: PLC0415

    for port in random.sample(range(low, high + 1), 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OdooHarnessError(f"no free port in {low}-{high}")


def _none(_line):
    return False


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suites", nargs="*", help=f"suites to run (default all: {', '.join(SUITES)})")
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes (CI)")
    parser.add_argument("--channels", default="", help=f"comma separated (default all: {', '.join(REGISTRY)})")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="full run: multiply the suites' sizes (default 1: the issue's 1,000 Shopify orders...)")
    parser.add_argument("--payout-lines", type=int, metavar="N",
                        help="suite kill: lines of the payout killed while it posts (default 100,000 times "
                             "--scale; 2,000 with --quick)")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--keep-db", action="store_true", help="keep the proof_* database")
    parser.add_argument("--reuse-db", metavar="DB", help="develop on a database kept by --keep-db (never dropped)")
    parser.add_argument("--no-readme", action="store_true", help="a full run does not write the README")
    parser.add_argument("--private-pg", action="store_true",
                        help="run on a PostgreSQL cluster of the run's own (always with suite dbrestart)")
    parser.add_argument("--pg-port", type=int, default=0, help="its port (default: a free one in 27100-27999)")
    parser.add_argument("--pg-dir", help="with --reuse-db: the folder of a cluster kept by --keep-db (and --pg-port)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITES)}")
    return args


def setup_channels(proof, channels):
    """One shell sets every channel's backend up; each plug-in gets its ``R`` back."""
    code = ["RESULTS = {}",
            # omni_monitoring's alerts are not what the proof measures, and the suites hold the
            # Shopify poll back on purpose (they trigger it): "poll failing" would open an exception.
            "_alerts = env.ref('omni_monitoring.cron_omni_alert_evaluate', raise_if_not_found=False)",
            "if _alerts:\n    _alerts.active = False"]
    params = {}
    for channel in channels:
        params[channel.name] = channel.setup_params()
        body = "\n".join("    " + line for line in channel.setup_code.strip().splitlines())
        code.append(f"def _setup_{channel.name}(P, R):\n{body}\n")
        code.append(f"RESULTS[{channel.name!r}] = {{}}\n_setup_{channel.name}(P[{channel.name!r}], "
                    f"RESULTS[{channel.name!r}])")
    code.append("env.cr.commit()\n_emit(RESULTS)\n")
    results = proof.shell("\n".join(code), params)
    for channel in channels:
        channel.setup = results[channel.name]


def main(argv=None):
    args = parse_args(argv)
    names = list(args.suites) or list(QUICK_SUITES if args.quick else SUITES)
    proof = Proof(quick=args.quick, seed=args.seed, keep_db=args.keep_db or bool(args.reuse_db), scale=args.scale)
    proof.payout_lines = args.payout_lines
    if args.reuse_db:
        proof.dbname = args.reuse_db
    channels = channels_for([c for c in args.channels.split(",") if c], proof, args.seed)
    began = time.monotonic()
    load_before = proof.load()
    print(f"== Proof ({'quick' if args.quick else 'full'}): suites {', '.join(names)}; channels "
          f"{', '.join(c.name for c in channels)}; load {load_before} ==", flush=True)
    crashed = None
    cluster = None
    try:
        if args.private_pg or any(name in PRIVATE_PG_SUITES for name in names):
            cluster = PrivateCluster(args.pg_port or _free_port_in(27100, 27999), root=args.pg_dir).start()
            cluster.activate()
            proof.cluster = cluster
            print(f"PostgreSQL: the run's own cluster on 127.0.0.1:{cluster.port} ({cluster.root})", flush=True)
        for channel in channels:
            channel.start()
        if not args.reuse_db:
            proof.create()
        proof.machine_text = proof.machine()
        setup_channels(proof, channels)
        proof.start_server()
        print(f"server {proof.base_url} ({proof.server.workers} HTTP workers, "
              f"{proof.server.max_cron_threads} cron); log {proof.server.log_path}", flush=True)
        for name in names:
            print(f"\n-- suite {name} --", flush=True)
            suite_began = time.monotonic()
            suite(name).run(proof, channels)
            print(f"-- suite {name}: {time.monotonic() - suite_began:.0f} s --", flush=True)
        problems = proof.log_problems()
        allowed = [p for p in problems if not any(getattr(suite(name), "allowed_log_line", _none)(p)
                                                     for name in names)]
        proof.figure("all", "error lines / tracebacks in the server logs", len(allowed), "0", not allowed)
        proof.figure("all", "conflicts of HTTP requests retried by Odoo's request retry (odoo.sql_db logs each as "
                     "a bad query; not errors)", proof.retried_conflicts)
        for line in allowed[:10]:
            print(f"    {line[:220]}")
    except (OdooHarnessError, RuntimeError, OSError) as error:
        crashed = error
        traceback.print_exc()
    finally:
        proof.stop_server()
        for channel in channels:
            try:
                channel.stop()
            except Exception:
                traceback.print_exc()
        proof.drop()
        if cluster is not None:
            cluster.stop(remove=not proof.keep_db)
    wall = time.monotonic() - began
    machine = getattr(proof, "machine_text", "")
    print("\n" + proof.table())
    print(f"\n{len(proof.figures)} figures, {len(proof.failed)} claims failed; {wall:.0f} s; load before "
          f"{load_before}, after {proof.load()} {machine}")
    if crashed:
        print(f"FAILED: the run stopped: {crashed}")
        return 1
    full = not args.quick and not args.suites and not args.channels and not args.reuse_db
    if full and not args.no_readme:
        write_readme(proof, wall, load_before)
    if proof.failed:
        print("FAILED: " + "; ".join(f"{row.suite}: {row.figure}" for row in proof.failed))
        return 1
    print("OK")
    return 0


def write_readme(proof, wall, load_before):
    """Replace the table between the README's proof markers (the "Proof" section)."""
    text = README.read_text()
    if BEGIN not in text or END not in text:
        print("README has no proof markers: table not written")
        return
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = (f"{BEGIN}\nLast full run: {stamp}, `{proof.command()}`, {wall / 60:.0f} min, on {proof.machine_text} "
             f"(load average {load_before} before, {proof.load()} after; the machine is shared and noisy).\n\n"
             f"{proof.table()}\n{END}")
    README.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S))
    print(f"README: Proof section written ({stamp})")


if __name__ == "__main__":
    sys.exit(main())
