"""Suite 3, channel faults: the channel's API answers 20 % of requests with a fault.

Faults, drawn at random per request: 429 with ``Retry-After``, 500, 502, 503, a timeout (the
answer comes after the client's 10 s timeout), a connection reset, a truncated JSON body.

1. **Intermittent** (20 %): orders arrive by webhook; processing them reads the channel's API
   (transactions). Expected: every order syncs eventually (the counts of suite 1), and
   ``Retry-After`` is honoured: after a 429 saying *retry after R s*, no request reaches the
   simulator before R seconds passed (measured on the simulator's own clock and request log).
2. **Persistent** (100 % 500s): new orders and a stock push. Expected: the events end ``dead``
   after the backend's attempts, each with an open exception for a person, and the database
   circuit breaker (``omni.backend.pause``) pauses the backend's stock pushes.

Only channels whose plug-in can serve faults (``serves_faults``: today Shopify) take part; the
others get a "skipped" row (no claim, not a failure).
"""

import time
from concurrent.futures import ThreadPoolExecutor

from .harness import wait_until

SUITE = "3 channel faults"
RATE = 0.20
RETRY_AFTER = 2
FAULTS = ("429", "500", "502", "503", "delay", "reset", "malformed")


def sizes(proof):
    return proof.size(200, 8), proof.size(10, 3)


def run(proof, channels, **_kwargs):
    ok = True
    for channel in channels:
        if not getattr(channel, "serves_faults", False):
            proof.figure(SUITE, f"{channel.label}: channel faults", "skipped",
                         "its plug-in has no fault injection (serves_faults)", None)
            continue
        ok = _intermittent(proof, channel) and ok
        ok = _persistent(proof, channel) and ok
    return ok


def _send_all(channel, orders):
    deliveries = [d for order in orders for d in channel.deliveries(order)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(channel.send, deliveries))
    return sum(status in (200, 202) for status in statuses), len(deliveries)


def _intermittent(proof, channel):
    count, _ = sizes(proof)
    orders = channel.make_orders(count, max(count // 2, 1), tag=3)
    channel.seed(orders)
    mark = channel.request_mark()
    channel.set_faults(RATE, FAULTS, retry_after=RETRY_AFTER)
    began = time.monotonic()
    acked, sent = _send_all(channel, orders)
    channel.repair()
    drained = wait_until(lambda: channel.repaired() and not proof.scalar(
        "SELECT count(*) FROM omni_event WHERE backend_id = %s AND state IN ('pending', 'retry')",
        (channel.backend_id,)), timeout=300 if proof.quick else 1800, interval=1)
    wall = time.monotonic() - began
    channel.set_faults(0, ())
    log = channel.requests_since(mark)
    # The next scheduled poll, once the channel answers again: what the faulty one failed to
    # read is read now, and the exception the failed poll opened resolves itself.
    channel.repair()
    wait_until(channel.repaired, timeout=300, interval=1)
    served = [entry for entry in log if entry.get("fault")]
    early, waits = retry_after_violations(log)
    counts = channel.counts(orders)
    label = channel.label
    kinds = {}
    for entry in served:
        kinds[entry["fault"]] = kinds.get(entry["fault"], 0) + 1
    proof.figure(SUITE, f"{label}: API requests / faults served", f"{len(log)} / {len(served)} "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})", f"{RATE:.0%} of requests", True)
    ok = proof.figure(SUITE, f"{label}: orders synced / missing / twice",
                      f"{counts['sale_orders']} / {counts['missing']} / {counts['twice']}", f"{count} / 0 / 0",
                      bool(drained) and acked == sent and counts["sale_orders"] == count
                      and not counts["missing"] and not counts["twice"] and not counts["wrong_total"])
    events = counts["events"]
    ok = proof.figure(SUITE, f"{label}: events dead / blocked; open exceptions",
                      f"{events.get('dead', 0)} / {events.get('blocked', 0)}; {counts['open_exceptions']}",
                      "0 / 0; 0", not (events.get("dead", 0) + events.get("blocked", 0)
                                        + counts["open_exceptions"])) and ok
    shortest = f"{min(waits):.2f} s" if waits else "no 429 drawn"
    ok = proof.figure(SUITE, f"{label}: requests before Retry-After ({RETRY_AFTER} s) passed",
                      f"{early} of {len(waits)} 429s (shortest wait {shortest})", "0", early == 0) and ok
    proof.figure(SUITE, f"{label}: wall time to all synced", f"{wall:.0f} s", "", None)
    return ok


def retry_after_violations(log):
    """For each 429 with Retry-After R at time t: was any request received in (t, t + R)?
    Returns (violations, the wait until the next request after each 429)."""
    violations, waits = 0, []
    for index, entry in enumerate(log):
        if entry.get("fault") != "429":
            continue
        allowed = entry["at"] + float(entry.get("retry_after") or RETRY_AFTER)
        later = [other["at"] for other in log[index + 1:]]
        if later:
            waits.append(later[0] - entry["at"])
            if later[0] < allowed:
                violations += 1
    return violations, waits


def _persistent(proof, channel):
    _, count = sizes(proof)
    proof.shell("b = env['omni.backend'].browse(P['id'])\nb.write({'max_attempts': 3, 'retry_base_delay': 1})\n"
                "env.cr.commit()\n_emit({})\n", {"id": channel.backend_id})
    orders = channel.make_orders(count, count, tag=4)
    channel.seed(orders)
    channel.set_faults(1.0, ("500",))
    began = time.monotonic()
    _send_all(channel, orders)
    stock_event = channel.push_stock()
    external_ids = [order.external_id for order in orders]

    def settled():
        rows = dict(proof.sql("SELECT state, count(*) FROM omni_event WHERE backend_id = %s AND resource_key = ANY(%s) "
                              "GROUP BY state", (channel.backend_id, external_ids)))
        return rows if sum(rows.values()) == len(orders) and set(rows) <= {"dead", "done", "blocked"} else None

    states = wait_until(settled, timeout=240 if proof.quick else 900, interval=1) or {}
    paused = proof.sql("SELECT scope, open_until > now() at time zone 'utc' FROM omni_backend_pause "
                       "WHERE backend_id = %s", (channel.backend_id,))
    with_exception = proof.scalar(
        "SELECT count(DISTINCT e.id) FROM omni_event e JOIN omni_exception x ON x.event_id = e.id "
        "AND x.state NOT IN ('resolved', 'ignored') WHERE e.backend_id = %s AND e.state = 'dead' "
        "AND e.resource_key = ANY(%s)", (channel.backend_id, external_ids))
    channel.set_faults(0, ())
    label = channel.label
    ok = proof.figure(SUITE, f"{label}: persistent 500s: order events dead / with an open exception",
                      f"{states.get('dead', 0)} / {with_exception} of {len(orders)} "
                      f"({time.monotonic() - began:.0f} s)", f"{len(orders)} / {len(orders)}",
                      states.get("dead", 0) == len(orders) == with_exception)
    ok = proof.figure(SUITE, f"{label}: persistent 500s: circuit breaker (omni.backend.pause)",
                      ", ".join(f"{scope} {'open' if is_open else 'expired'}" for scope, is_open in paused)
                      or "none", f"a pause of the stock push (event {stock_event})", bool(paused)) and ok
    return ok
