"""Kill -9 during a large payout's posting (part of suite 2, called from ``suite_kill.run``).

A Stripe payout of N lines (``--payout-lines N``; 100,000 in the full run, 2,000 in ``--quick``),
each line matching one order-time payment, is posted by the real *match and post payouts* cron of
the multi-worker server: the entries in one transaction (the payout's entry plus one clearing entry
per chunk of payments), then the clearing, one chunk per committed step (``omni_reconciliation``'s
chunked posting). While the clearing is in progress (some chunks cleared, not all) the cron worker
is SIGKILLed twice (Odoo's master respawns it) and then the whole server once (started again by the
suite): three consecutive killed cron runs, which Odoo counts against a job that reports no progress
(``ir.cron`` marks it *timed out* after three). Before each kill the suite waits until the clearing
went on since the previous one.

Expected after the last restart: the posting completes (bounded in time), exactly one main journal
entry for the payout, each clearing entry once (no reference twice, the expected number), every
payment cleared exactly once (one partial reconciliation each), the payouts-in-transit lines adding up
to the deposit, no open exception on the payout, the cron neither failed nor timed out (and, for the
whole run, no error line in the server logs).

Fixture (fast, not measured as a claim): one payment is posted through the ORM and cloned N times
with ``INSERT … SELECT`` over ``generate_series`` (as ``tests/benchmarks/bench_reconciliation.py``
does); the payout is imported and matched in ``odoo shell``. ``--quick`` sets the system parameter
``omni_reconciliation.clearing_chunk_size`` to 100 (20 chunks: the kills land between chunks within a
few seconds); the full run keeps the default (1,000 payments per chunk: 100 chunks).
"""

import contextlib
import math
import os
import signal
import time
from pathlib import Path

from tests.benchmarks.odoo_server import query

from .harness import wait_until

SUITE = "2 kill -9"
KILLS = ("cron", "cron", "server")
CRON_XMLID = "omni_reconciliation.cron_omni_settlement_match_post"
CHUNK_PARAM = "omni_reconciliation.clearing_chunk_size"
QUICK_CHUNK = 100

SETUP = r'''
from datetime import date, datetime, timezone
from decimal import Decimal as D
from odoo.tools import SQL
from odoo.addons.omni_connector_base.canonical.settlement import SettlementData, SettlementLineData
env = env(su=True, context=dict(env.context, omni_no_trigger=True, tracking_disable=True))
size, prefix, chunk = P["lines"], P["prefix"], P["chunk"]
began = time.monotonic()
if chunk:
    env["ir.config_parameter"].set_param(P["chunk_param"], str(chunk))
company = env.company
backend = env["omni.backend"].create({"name": f"proof payout {prefix}", "channel": "custom",
                                      "company_id": company.id})
Account = env["omni.settlement.account"]
values = Account._omni_default_values(company, "stripe", name=f"proof payout {prefix}")
values.update(backend_id=backend.id, clearing_journal_id=backend._omni_clearing_journal("stripe").id,
              auto_import=False)
account = Account.create(values)
partner = env["res.partner"].create({"name": f"proof payout customer {prefix}"})
journal = backend._omni_clearing_journal("stripe")
template = env["account.payment"].create({
    "payment_type": "inbound", "partner_type": "customer", "partner_id": partner.id, "amount": 1000.0,
    "currency_id": company.currency_id.id, "journal_id": journal.id, "date": date(2026, 11, 20),
    "memo": f"{prefix}template", "payment_reference": f"{prefix}template", "omni_backend_id": backend.id,
    "omni_gateway": "stripe", "omni_transaction_id": f"{prefix}template"})
template.action_post()
env.flush_all()
move = template.move_id
cr = env.cr

def columns(table):
    cr.execute(SQL("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                   "ORDER BY ordinal_position", table))
    return cr.fetchall()

AMOUNT = SQL("(5 + (m.g %% 200) + (m.g %% 100) / 100.0)::numeric")  # the line's gross below

def clone(table, template_id, overrides):
    names, values = [], []
    for name, data_type in columns(table):
        names.append(SQL.identifier(name))
        if name in overrides:
            values.append(overrides[name])
        elif data_type == "numeric" and name not in ("sequence_number", "quantity", "invoice_currency_rate"):
            values.append(SQL("CASE WHEN t.%s = 1000 THEN %s WHEN t.%s = -1000 THEN -%s ELSE t.%s END",
                              SQL.identifier(name), AMOUNT, SQL.identifier(name), AMOUNT, SQL.identifier(name)))
        else:
            values.append(SQL("t.%s", SQL.identifier(name)))
    cr.execute(SQL("INSERT INTO %s (%s) SELECT %s FROM proof_map m JOIN %s t ON t.id = %s",
                   SQL.identifier(table), SQL(", ").join(names), SQL(", ").join(values), SQL.identifier(table),
                   template_id))

cr.execute(SQL("""CREATE TEMP TABLE proof_map ON COMMIT DROP AS
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
cr.execute(SQL("UPDATE account_move mv SET origin_payment_id = m.payment_id FROM proof_map m WHERE mv.id = m.move_id"))
cr.execute("ANALYZE account_payment; ANALYZE account_move; ANALYZE account_move_line")
env.cr.commit()
fixture_s = time.monotonic() - began

lines = []
for g in range(1, size + 1):
    gross = D(5 + g % 200) + D(g % 100) / 100
    fee = (gross * D("0.029") + D("0.30")).quantize(D("0.01"))
    lines.append(SettlementLineData(external_id=f"txn_{prefix}{g}", kind="sale", gross=gross, fee=fee, currency="USD",
                                    transaction_ref=f"{prefix}{g}",
                                    occurred_at=datetime(2026, 11, 20, 12, tzinfo=timezone.utc)))
settlement = account._omni_import_settlement(SettlementData(
    source="stripe", external_id=f"po_{prefix}", currency="USD", payout_date=date(2026, 11, 22),
    expected_amount=sum((line.net for line in lines), D(0)), lines=lines))
env.cr.commit()
del lines
if settlement.state != "matched":
    settlement._omni_match()
    env.cr.commit()
state = settlement.state
# the posting starts now, in the server's cron worker
env.ref(P["cron"])._trigger()
env.cr.commit()
_emit({"settlement": settlement.id, "name": settlement.name, "state": state, "unmatched": settlement.unmatched_count,
       "expected": str(settlement.expected_amount), "transit": account.transit_account_id.id,
       "fixture_s": round(fixture_s, 1), "setup_s": round(time.monotonic() - began, 1)})
'''

PROGRESS = """
WITH items AS (SELECT DISTINCT l.move_line_id AS id FROM omni_settlement_line l
                WHERE l.settlement_id = %(s)s AND l.payment_id IS NOT NULL AND l.move_line_id IS NOT NULL)
SELECT count(*),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM account_partial_reconcile p
                                       WHERE p.debit_move_id = items.id OR p.credit_move_id = items.id))
  FROM items
"""


def lines_for(proof):
    return getattr(proof, "payout_lines", None) or proof.size(100_000, 2_000)


def progress(proof, settlement_id):
    """(clearing items, cleared clearing items, clearing still pending)"""
    total, cleared = proof.sql(PROGRESS, {"s": settlement_id})[0]
    pending = proof.scalar("SELECT clearing_pending FROM omni_settlement WHERE id = %s", (settlement_id,))
    return total, cleared, bool(pending)


class Waker:
    """``--quick``: a respawned cron worker (and that of a restarted server) sleeps 60-69 s before it looks
    for jobs unless PostgreSQL notifies it (``cron_trigger``, what any trigger of a job sends): the quick run
    sends that notification every 2 s while it waits, so that the kills cost seconds, not minutes. The
    full run does not: what it measures includes Odoo's own sleep."""

    def __init__(self, proof):
        self.proof = proof
        self.sent = 0
        self.last = 0.0

    def __call__(self):
        if self.proof.quick and time.monotonic() - self.last >= 2:
            # on the database ``postgres``, where the cron workers listen (as ``ir.cron._notifydb`` sends it)
            query("postgres", "SELECT pg_notify('cron_trigger', %s)", (self.proof.dbname,))
            self.last = time.monotonic()
            self.sent += 1


def kill(proof, kind, settlement):
    """SIGKILL the cron worker(s) (``cron``: the master respawns them) or the whole server (``server``:
    started again here); returns what was killed and ``(total, cleared, pending)`` measured right after
    the kill, before anything could resume."""
    from .suite_kill import server_processes  # noqa: PLC0415 - suite_kill imports this module

    server = proof.server
    if kind == "server":
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        measured = progress(proof, settlement)
        proof.restart()
        return "whole server (process group)", measured
    pids = server_processes(server)["cron"]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:  # reaped by the master (a zombie still shows in /proc)
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), timeout=30, interval=0.1)
    measured = progress(proof, settlement)
    wait_until(lambda: len(server_processes(server)["cron"]) >= len(pids), timeout=30, interval=0.2)
    return f"{len(pids)} cron worker(s)", measured


def run(proof, _channels=None):
    lines = lines_for(proof)
    chunk = QUICK_CHUNK if proof.quick else None
    prefix = f"ch_kp{int(time.time())}_"
    cron_id = proof.scalar("SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s",
                           tuple(CRON_XMLID.split(".")))
    progress_before = proof.scalar("SELECT coalesce(max(id), 0) FROM ir_cron_progress WHERE cron_id = %s",
                                   (cron_id,))
    began = time.monotonic()
    setup = proof.shell(SETUP, {"lines": lines, "prefix": prefix, "chunk": chunk, "chunk_param": CHUNK_PARAM,
                                "cron": CRON_XMLID}, timeout=3600)
    settlement = setup["settlement"]
    chunk = chunk or int(proof.scalar("SELECT value FROM ir_config_parameter WHERE key = %s", (CHUNK_PARAM,))
                         or 1000)
    chunks = math.ceil(lines / chunk)
    print(f"    payout {setup['name']}: {lines} lines {setup['state']} ({setup['unmatched']} unmatched), "
          f"fixture {setup['fixture_s']} s, setup {setup['setup_s']} s; posting by the cron, {chunks} chunks "
          f"of {chunk}", flush=True)
    ok = proof.figure(SUITE, "payout: lines / matched before the posting",
                      f"{lines} / {lines - setup['unmatched']} ({setup['state']})", f"{lines} / {lines}",
                      setup["state"] == "matched" and not setup["unmatched"])
    posting_began = time.monotonic()
    post_timeout = 120 if proof.quick else 1800
    step_timeout = 120 if proof.quick else 1800
    done_kills = []
    wake = Waker(proof)
    in_progress = True
    last = 0
    for kind in KILLS:
        # in progress: at least one chunk cleared since the last kill (or since the start), not all
        def went_on(at=last):
            if done_kills:
                wake()
            total, cleared, pending = progress(proof, settlement)
            return cleared > at or (total and not pending)

        if not wait_until(went_on, timeout=post_timeout if not done_kills else step_timeout, interval=0.2):
            in_progress = False
            print(f"    no kill: the clearing did not go on ({progress(proof, settlement)})", flush=True)
            break
        killed_at = time.monotonic() - posting_began
        what, (total, cleared, pending) = kill(proof, kind, settlement)
        in_progress = in_progress and 0 < cleared < total and pending
        done_kills.append(f"{what} at {killed_at:.0f} s ({cleared} of {total} chunks cleared)")
        print(f"    killed {done_kills[-1]}", flush=True)
        last = cleared
    after_kills = time.monotonic()
    ok = proof.figure(SUITE, "payout: kills while clearing", "; ".join(done_kills) or "none",
                      f"{len(KILLS)} SIGKILLs (cron worker, cron worker, whole server), each with some chunks "
                      f"cleared and some not", in_progress and len(done_kills) == len(KILLS)) and ok
    def finished():
        wake()
        total, cleared, pending = progress(proof, settlement)
        return total and cleared == total and not pending

    finished = wait_until(finished, timeout=step_timeout, interval=0.5)
    total, cleared, pending = progress(proof, settlement)
    ok = proof.figure(SUITE, "payout: posting completed after the last restart",
                      f"{cleared} of {total} chunks cleared in {time.monotonic() - after_kills:.0f} s "
                      f"({time.monotonic() - posting_began:.0f} s from the trigger"
                      f"{f'; cron worker woken {wake.sent} times' if wake.sent else ''})",
                      f"all {chunks}, within {step_timeout} s", bool(finished) and total == chunks) and ok
    ok = check(proof, setup, chunks, cron_id, progress_before) and ok
    print(f"    payout part: {time.monotonic() - began:.0f} s", flush=True)
    return ok


def check(proof, setup, chunks, cron_id, progress_before):
    settlement, name = setup["settlement"], setup["name"]
    state, move_id, pending = proof.sql("SELECT state, move_id, clearing_pending FROM omni_settlement WHERE id = %s",
                                        (settlement,))[0]
    moves = proof.sql("SELECT id, ref, state FROM account_move WHERE omni_settlement_id = %s", (settlement,))
    main = [move for move in moves if move[1] == name]
    clearing = [move for move in moves if move[1] != name]
    refs = {move[1] for move in clearing}
    ok = proof.figure(SUITE, "payout: main entries / clearing entries (distinct) / not posted",
                      f"{len(main)} / {len(clearing)} ({len(refs)}) / {sum(move[2] != 'posted' for move in moves)}",
                      f"1 / {chunks} ({chunks}) / 0",
                      len(main) == 1 and main[0][0] == move_id and len(clearing) == len(refs) == chunks
                      and all(move[2] == "posted" for move in moves)
                      and all(ref.startswith(f"{name}: clearing ") for ref in refs))
    lines, reconciled, once, partials = proof.sql("""
        SELECT count(*), count(*) FILTER (WHERE aml.reconciled),
               count(*) FILTER (WHERE (SELECT count(*) FROM account_partial_reconcile p
                                        WHERE p.debit_move_id = aml.id OR p.credit_move_id = aml.id) = 1),
               (SELECT count(*) FROM account_partial_reconcile p JOIN account_move_line c
                          ON c.id IN (p.debit_move_id, p.credit_move_id)
                        JOIN account_move m ON m.id = c.move_id AND m.omni_settlement_id = %(s)s)
          FROM omni_settlement_line l
          JOIN account_payment pay ON pay.id = l.payment_id
          JOIN account_move_line aml ON aml.move_id = pay.move_id AND aml.account_id = pay.outstanding_account_id
         WHERE l.settlement_id = %(s)s""", {"s": settlement})[0]
    total_lines = proof.scalar("SELECT count(*) FROM omni_settlement_line WHERE settlement_id = %s", (settlement,))
    ok = proof.figure(SUITE, "payout: payments cleared / exactly once / partial reconciliations",
                      f"{reconciled} / {once} / {partials}", f"{total_lines} / {total_lines} / {total_lines}",
                      lines == reconciled == once == partials == total_lines) and ok
    transit, transit_currency = proof.sql("""
        SELECT coalesce(sum(aml.balance), 0), coalesce(sum(aml.amount_currency), 0) FROM account_move_line aml
          JOIN account_move m ON m.id = aml.move_id
         WHERE m.omni_settlement_id = %s AND aml.account_id = %s""", (settlement, setup["transit"]))[0]
    expected = float(setup["expected"])
    ok = proof.figure(SUITE, "payout: in transit / deposit; state",
                      f"{transit:.2f} / {expected:.2f}; {state}{', clearing pending' if pending else ''}",
                      "equal; posted", abs(float(transit) - expected) < 0.005
                      and abs(float(transit_currency) - expected) < 0.005 and state == "posted" and not pending) and ok
    exceptions = proof.sql("""SELECT message FROM omni_exception WHERE res_model = 'omni.settlement' AND res_id = %s
                               AND state IN ('open', 'assigned')""", (settlement,))
    for (message,) in exceptions[:5]:
        print(f"    open exception: {message[:200]}")
    failures, active = proof.sql("SELECT failure_count, active FROM ir_cron WHERE id = %s", (cron_id,))[0]
    runs, stalled = proof.sql("""SELECT count(*), count(*) FILTER (WHERE timed_out_counter > 0 AND done = 0)
                                  FROM ir_cron_progress WHERE cron_id = %s AND id > %s""",
                              (cron_id, progress_before))[0]
    rows = [row for row in proof.log_text().splitlines() if "Omnichannel: match and post payouts" in row]
    timed_out = sum(1 for row in rows if "timed out" in row)
    no_record = sum(1 for row in rows if "processed no record" in row)
    ok = proof.figure(SUITE, "payout: open exceptions; cron failures / timed out / runs without progress",
                      f"{len(exceptions)}; {failures} / {timed_out} / {no_record} ({runs} runs, {stalled} killed "
                      f"without progress){'' if active else ', cron inactive'}", "0; 0 / 0 / 0",
                      not exceptions and not failures and not timed_out and not no_record and active) and ok
    return ok
