"""Suite 1, delivery chaos: duplicates, shuffling, concurrent senders, lost deliveries, updates
before their creates. Expected: exactly the unique orders, every total to the cent, one
contact per customer, no event left unfinished, nothing for a person to look at.

Per channel: ``orders`` distinct orders over ``orders // 3`` customers (returning customers
race each other), 20 % of them updated (the update delivered before the create). Of every
delivery, 30 % are sent twice (same delivery id), all are shuffled and sent by 8 concurrent
senders, and 10 % are lost: for a ``poll`` channel never sent (the poll cron, triggered once
the deliveries are in, must repair them), for a ``resend`` channel sent but the answer never
read (the client sends again at the end). A pull channel (``webhooks = False``: Amazon, eBay)
holds its orders (their final versions) and the poll cron, triggered once, reads them all.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from .harness import wait_until

SUITE = "1 delivery chaos"
SENDERS = 8
DUPLICATES = 0.30
DROPPED = 0.10
UPDATED = 0.20


FULL = {"shopify": 1000, "api": 500}  # the sizes; other channels 500


def build_batch(channel, orders, rng):
    """The shuffled batch to send, the lost deliveries, and the ones lost but re-sent at the end."""
    deliveries = []
    for order in orders:
        deliveries += channel.deliveries(order)
    lost = [d for d in deliveries if rng.random() < DROPPED] if channel.webhooks else list(deliveries)
    lost_keys = {id(d) for d in lost}
    kept = [d for d in deliveries if id(d) not in lost_keys] if channel.repairs_drops == "poll" else deliveries
    batch = kept + [d for d in kept if rng.random() < DUPLICATES]
    rng.shuffle(batch)
    # updates before their creates: the first delivery of an updated order is its update
    position = {}
    for index, delivery in enumerate(batch):
        position.setdefault((delivery.order.external_id, delivery.kind), index)
    for order in orders:
        create, update = position.get((order.external_id, "create")), position.get((order.external_id, "update"))
        if create is not None and update is not None and create < update:
            batch[create], batch[update] = batch[update], batch[create]
            position[(order.external_id, "create")], position[(order.external_id, "update")] = update, create
    return batch, lost


def run(proof, channels, **_kwargs):
    ok = True
    for channel in channels:
        count = proof.size(FULL.get(channel.name, 500), 12)
        rng = channel.rng
        orders = channel.make_orders(count, max(count // 3, 1), tag=1)
        for order in orders:
            if rng.random() < UPDATED:
                channel.mark_updated(order)
        seeded = time.monotonic()  # a pull channel's poll starts with the seed
        channel.seed(orders)
        batch, lost = build_batch(channel, orders, rng)
        unread = set(map(id, lost)) if channel.repairs_drops == "resend" else set()

        def deliver(delivery, channel=channel, unread=unread):
            if id(delivery) in unread:
                unread.discard(id(delivery))  # only its first sending loses the answer
                channel.send_unread(delivery)
                return None
            return channel.send(delivery)

        began = time.monotonic() if channel.webhooks else seeded
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            statuses = list(pool.map(deliver, batch))
        # The sender re-sends what was not acknowledged 200 (the channel's retry), lost answers included.
        retry = [d for d, status in zip(batch, statuses, strict=True) if status not in (200, 202, None)]
        if channel.repairs_drops == "resend":
            retry += lost
        for _attempt in range(5):
            if not retry:
                break
            time.sleep(1)
            retry = [d for d in retry if channel.send(d) not in (200, 202)]
        intake = time.monotonic() - began
        channel.repair()
        drained = wait_until(lambda channel=channel: channel.repaired() and not _unfinished(proof, channel),
                             timeout=300 if proof.quick else 3600, interval=1)
        wall = time.monotonic() - began
        counts = channel.counts(orders)
        label = channel.label
        if channel.webhooks:
            proof.figure(SUITE, f"{label}: deliveries sent / lost / unacknowledged",
                         f"{len(batch)} / {len(lost)} / {len(retry)}",
                         f"{count} orders, {sum(o.updated for o in orders)} updated first, {SENDERS} senders", True)
        else:
            proof.figure(SUITE, f"{label}: orders held by the channel, read by the poll alone",
                         f"{count} ({sum(o.updated for o in orders)} updated before the poll)",
                         "a pull channel: no webhooks", True)
        checks = [
            (f"{label}: sale orders", counts["sale_orders"], counts["sale_orders"] == counts["unique"],
             f"= {counts['unique']} unique orders"),
            (f"{label}: orders missing / twice", f"{counts['missing']} / {counts['twice']}",
             counts["missing"] == counts["twice"] == counts["foreign"] == 0, "0 / 0"),
            (f"{label}: totals wrong (to the cent)", counts["wrong_total"], counts["wrong_total"] == 0,
             f"0; sum {counts['got_total']} = {counts['expected_total']}"),
            (f"{label}: updates not applied", counts["wrong_note"], counts["wrong_note"] == 0, "0"),
            (f"{label}: customer contacts", counts["customer_contacts"],
             counts["customer_contacts"] == counts["customers"], f"= {counts['customers']} customers"),
            (f"{label}: events unfinished / dead / blocked",
             f"{_sum(counts['events'], 'pending', 'retry', 'processing')} / {counts['events'].get('dead', 0)} / "
             f"{counts['events'].get('blocked', 0)}",
             bool(drained) and not _sum(counts["events"], "pending", "retry", "processing", "dead", "blocked"),
             "0 / 0 / 0"),
            (f"{label}: open exceptions", counts["open_exceptions"], counts["open_exceptions"] == 0, "0"),
        ]
        for figure, value, holds, claim in checks:
            ok = proof.figure(SUITE, figure, value, claim, bool(holds)) and ok
        proof.figure(SUITE, f"{label}: wall time, first delivery to all done",
                     f"{wall:.0f} s ({count / wall:.2f} orders/s; intake {intake:.0f} s)", "", None)
    return ok


def _sum(counts, *states):
    return sum(counts.get(state, 0) for state in states)


def _unfinished(proof, channel):
    return proof.scalar("SELECT count(*) FROM omni_event WHERE backend_id = %s AND state IN ('pending', 'retry')",
                        (channel.backend_id,))
