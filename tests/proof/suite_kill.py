"""Suite 2, kill -9: SIGKILL the HTTP workers, the cron worker or the whole server at random
moments while orders arrive and are processed; restart what the master does not respawn.

Expected: nothing lost, nothing twice (the counts of suite 1), no event left pending or
retrying, no event dead or blocked, and everything done within 2 minutes of the last restart.

Senders behave like channels: a delivery not acknowledged (no answer, a 5xx, the server down)
is sent again, with the same delivery id, until it is acknowledged. The HTTP and cron workers
are respawned by Odoo's prefork master within a second; a killed whole server (master and all
workers, SIGKILL to the process group) is started again by the suite, on new ports.

Then a payout of ``--payout-lines`` lines is killed while it posts (``kill_payout.py``).
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import kill_payout
from .harness import wait_until

SUITE = "2 kill -9"
SENDERS = 8
DONE_WITHIN = 120  # seconds after the last restart
ACK = (200, 202)


def plan(proof):
    """(orders per channel, kills)"""
    if proof.quick:
        return 10, ["http", "server"]
    return proof.size(150, 10), ["http", "cron", "server", "http", "server"]


def server_processes(server):
    """``{"http": [pids], "cron": [pids]}`` of the server's prefork workers (found by process group and nice)."""
    group = server.process.pid
    base_nice = _stat(group)[1] if _stat(group) else 0
    found = {"http": [], "cron": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == group:
            continue
        stat = _stat(entry.name)
        if not stat or stat[0] != group:
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gevent" in cmdline.split(b"\0"):
            continue  # the websocket (gevent) worker: Odoo re-runs its script with the argument "gevent"
        found["cron" if stat[1] > base_nice else "http"].append(int(entry.name))
    return found


def _stat(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), int(fields[16])


def kill(proof, kind):
    """SIGKILL ``kind`` (http, cron, server); returns what was killed and when the server was whole again."""
    server = proof.server
    if kind == "server":
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        proof.restart()
        return "whole server (process group)", time.monotonic()
    pids = server_processes(server)[kind]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # the master respawns them: wait until as many are back
    wait_until(lambda: len(server_processes(server)[kind]) >= len(pids), timeout=30, interval=0.2)
    return f"{len(pids)} {kind} worker(s)", time.monotonic()


def run(proof, channels, **_kwargs):
    count, kills = plan(proof)
    rng = channels[0].rng
    work = []
    expected = {}
    for channel in channels:
        orders = channel.make_orders(count, max(count // 3, 1), tag=2)
        for order in orders:
            if rng.random() < 0.2:
                channel.mark_updated(order)
        channel.seed(orders)
        expected[channel.name] = orders
        for order in orders:
            work += [(channel, delivery) for delivery in channel.deliveries(order)]
    rng.shuffle(work)
    work += [item for item in work if rng.random() < 0.3]  # duplicates
    stop = threading.Event()
    resent = [0]

    def deliver(item):
        channel, delivery = item
        deadline = time.monotonic() + 600
        while not stop.is_set() and time.monotonic() < deadline:
            if channel.send(delivery) in ACK:
                return True
            resent[0] += 1
            time.sleep(0.3)  # the server is down or restarting: the channel tries again
        return False

    began = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=SENDERS)
    futures = [pool.submit(deliver, item) for item in work]
    # Kills at random moments: the first ones during intake, the later ones while the queue drains.
    done_kills = []
    last_restart = time.monotonic()
    for kind in kills:
        time.sleep(rng.uniform(1.0, 6.0 if proof.quick else 20.0))
        what, last_restart = kill(proof, kind)
        pending = proof.scalar("SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry')")
        done_kills.append(f"{what} at {time.monotonic() - began:.0f} s ({pending} events queued)")
        print(f"    killed {done_kills[-1]}", flush=True)
    acknowledged = [future.result(timeout=900) for future in futures]
    pool.shutdown()
    for channel in channels:
        channel.repair()  # the poll reads what the channel holds: must change nothing here

    def finished():
        return all(channel.repaired() for channel in channels) and not proof.scalar(
            "SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry')")

    drained = wait_until(finished, timeout=DONE_WITHIN + 600, interval=1)
    after_restart = time.monotonic() - last_restart
    ok = True
    proof.figure(SUITE, "kills", "; ".join(done_kills), f"{len(kills)} SIGKILLs during intake and processing", True)
    ok = proof.figure(SUITE, "deliveries acknowledged", f"{sum(acknowledged)} of {len(work)} ({resent[0]} re-sent)",
                      "all, re-sent by the channel until acknowledged", all(acknowledged)) and ok
    for channel in channels:
        counts = channel.counts(expected[channel.name])
        label = channel.label
        ok = proof.figure(SUITE, f"{label}: sale orders / missing / twice",
                          f"{counts['sale_orders']} / {counts['missing']} / {counts['twice']}",
                          f"{counts['unique']} / 0 / 0",
                          counts["sale_orders"] == counts["unique"] and not counts["missing"] and not counts["twice"]
                          and not counts["foreign"]) and ok
        ok = proof.figure(SUITE, f"{label}: totals wrong / updates not applied / extra contacts",
                          f"{counts['wrong_total']} / {counts['wrong_note']} / "
                          f"{counts['customer_contacts'] - counts['customers']}", "0 / 0 / 0",
                          not counts["wrong_total"] and not counts["wrong_note"]
                          and counts["customer_contacts"] == counts["customers"]) and ok
        events = counts["events"]
        ok = proof.figure(SUITE, f"{label}: events pending or retrying / dead / blocked; open exceptions",
                          f"{events.get('pending', 0) + events.get('retry', 0)} / {events.get('dead', 0)} / "
                          f"{events.get('blocked', 0)}; {counts['open_exceptions']}", "0 / 0 / 0; 0",
                          not (events.get("pending", 0) + events.get("retry", 0) + events.get("dead", 0)
                               + events.get("blocked", 0) + counts["open_exceptions"])) and ok
    ok = proof.figure(SUITE, "all done after the last restart", f"{after_restart:.0f} s",
                      f"<= {DONE_WITHIN} s", bool(drained) and after_restart <= DONE_WITHIN) and ok
    stop.set()
    return kill_payout.run(proof) and ok  # then a large payout killed while it posts


def allowed_log_line(line):
    """What a SIGKILL makes Odoo log by design (nothing yet seen); every other error line fails the run."""
    return False
