"""The metric families of ``/omni/metrics``, computed from the database at scrape time.

The payout families (``omni_settlement*``, ``omni_payout_in_transit_amount``,
``omni_days_since_last_payout``) are served where ``omni_reconciliation`` is installed.

Nothing is kept in process memory: the live-state gauges come from the counters the triggers on
``omni_event`` keep in each write's transaction (``omni.event.state.count``), the other gauges from
indexes of the live part of a table (the claim index, open exceptions, unposted payouts); counters
are sums of the per-minute aggregate rows ``omni.metric.minute`` (written in the transaction of the
work they count: their running totals ``omni.metric.total`` plus the minutes not folded yet) and of
``omni.webhook.rejection``. One SQL statement per family group. Whichever prefork worker or node
answers, the figures are the same.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.pipeline import call_metrics

from ..lib.exposition import cumulative
from .omni_event import WEBHOOK_DELIVERY

BACKEND_LABELS = ("backend", "channel", "company")
QUEUE_STATES = ("pending", "retry", "blocked", "dead")
PROCESSED_OUTCOMES = ("done", "skipped")
FAILED_OUTCOMES = ("blocked", "dead", "retry")
OPEN_MATCH_STATES = ("unmatched", "suggested", "difference")
PROCESSOR_CRON = "omni_connector_base.cron_omni_event_process"


def _family(name, kind, help_text, labels=BACKEND_LABELS, samples=None):
    return {"name": name, "type": kind, "help": help_text, "labels": tuple(labels), "samples": samples or []}


class OmniMetrics(models.AbstractModel):
    _name = "omni.metrics"
    _description = "Omnichannel Metrics"

    # ------------------------------------------------------------------ entry

    @api.model
    def _omni_families(self, now=None):
        """Every metric family, as plain dicts (``lib.exposition.render`` writes them out)."""
        now = now or fields.Datetime.now()
        self.env.flush_all()
        backends = self._omni_backend_labels()
        families = []
        families += self._omni_event_families(backends, now)
        families += self._omni_counter_families(backends)
        families += self._omni_exception_families(backends, now)
        families += self._omni_intake_families(backends)
        if self._omni_has_payouts():
            families += self._omni_settlement_families(backends, now)
        families += self._omni_cron_families(now)
        return families

    @api.model
    def _omni_has_payouts(self):
        """Whether the payout families are served: ``omni_reconciliation`` is installed (its models are
        in the registry of the database scraped, checked at each scrape)."""
        return "omni.settlement" in self.env

    @api.model
    def _omni_backend_labels(self):
        """``{backend id: (name, channel, company)}`` of every backend, archived ones too."""
        self.env.cr.execute(SQL(
            """
            SELECT b.id, b.name, b.channel, c.name, b.active
              FROM omni_backend b JOIN res_company c ON c.id = b.company_id
            """
        ))
        return {row[0]: {"labels": (row[1], row[2], row[3]), "active": row[4]} for row in self.env.cr.fetchall()}

    @staticmethod
    def _labels(backends, backend_id):
        backend = backends.get(backend_id)
        return backend["labels"] if backend else ("", "", "")

    def _rows(self, query):
        self.env.cr.execute(query)
        return self.env.cr.fetchall()

    # ----------------------------------------------------------------- events

    def _omni_event_families(self, backends, now):
        active = [backend_id for backend_id, backend in backends.items() if backend["active"]]
        by_state = _family("omni_events", "gauge", "Events in a live state (pending, retry, blocked, dead).",
                           (*BACKEND_LABELS, "direction", "state"))
        # One statement: the live-state counters kept by the triggers on omni_event (a few rows per
        # backend, however many events the table or its backlog holds; models/omni_event_state_count.py),
        # the events due later (a range of the claim index past now: the retries backing off, not the
        # backlog) and, per backend with a ready event, the oldest one (one probe of the claim index).
        counts, ready, oldest = {}, {}, {}
        for kind, backend_id, direction, state, count, due in self._rows(SQL(
                """
                WITH counts AS (
                    SELECT backend_id, direction, state, sum(count) AS n FROM omni_event_state_count
                     GROUP BY backend_id, direction, state HAVING sum(count) <> 0
                ), later AS (
                    SELECT backend_id, count(*) AS n FROM omni_event
                     WHERE state IN ('pending', 'retry') AND COALESCE(next_attempt_at, received_at) > %(now)s
                     GROUP BY backend_id
                ), ready AS (
                    SELECT c.backend_id, sum(c.n) - COALESCE(min(l.n), 0) AS n
                      FROM counts c LEFT JOIN later l ON l.backend_id = c.backend_id
                     WHERE c.state IN ('pending', 'retry') GROUP BY c.backend_id
                )
                SELECT 'count', backend_id, direction, state, n, NULL FROM counts
                 UNION ALL
                SELECT 'ready', r.backend_id, NULL, NULL, r.n, o.due
                  FROM ready r
                  LEFT JOIN LATERAL (
                       SELECT COALESCE(e.next_attempt_at, e.received_at) AS due FROM omni_event e
                        WHERE r.n > 0 AND e.state IN ('pending', 'retry') AND e.backend_id = r.backend_id
                          AND COALESCE(e.next_attempt_at, e.received_at) <= %(now)s
                        ORDER BY COALESCE(e.next_attempt_at, e.received_at), e.id LIMIT 1) o ON true
                """, now=now)):
            if kind == "count":
                counts[backend_id, direction, state] = int(count)
            else:
                ready[backend_id] = int(count)
                oldest[backend_id] = due
        for backend_id in active:
            for direction in ("in", "out"):
                for state in QUEUE_STATES:
                    counts.setdefault((backend_id, direction, state), 0)
        for (backend_id, direction, state), count in sorted(counts.items()):
            by_state["samples"].append(((*self._labels(backends, backend_id), direction, state), count))
        dead = _family("omni_dead_events", "gauge", "Events given up (dead): each needs a person.")
        dead_counts = dict.fromkeys(active, 0)
        for (backend_id, _direction, state), count in counts.items():
            if state == "dead":
                dead_counts[backend_id] = dead_counts.get(backend_id, 0) + count
        dead["samples"] = [(self._labels(backends, b), c) for b, c in sorted(dead_counts.items())]

        depth = _family("omni_ready_queue_depth", "gauge", "Events ready to be processed now (pending or retry due).")
        age = _family("omni_oldest_ready_event_age_seconds", "gauge",
                      "Age of the oldest ready event (since it became due), 0 when none is ready.")
        for backend_id in sorted(set(active) | {b for b, count in ready.items() if count}):
            depth["samples"].append((self._labels(backends, backend_id), ready.get(backend_id, 0)))
            first = oldest.get(backend_id)
            age["samples"].append((self._labels(backends, backend_id),
                                   max((now - first).total_seconds(), 0.0) if first else 0.0))
        return [by_state, depth, age, dead]

    # --------------------------------------------------------------- counters

    def _omni_counter_families(self, backends):
        processed = _family("omni_events_processed", "counter", "Event attempts that succeeded (done) or were "
                            "skipped (stale), from the per-minute aggregates.", (*BACKEND_LABELS, "outcome"))
        failed = _family("omni_events_failed", "counter", "Event attempts that failed: blocked, dead, or retry "
                         "scheduled.", (*BACKEND_LABELS, "outcome"))
        retries = _family("omni_event_retries", "counter", "Retries scheduled after a transient failure.")
        op_labels = (*BACKEND_LABELS, "operation")
        calls = _family("omni_api_calls", "counter", "Channel API calls, by operation.", op_labels)
        errors = _family("omni_api_errors", "counter", "Channel API calls that failed (no answer, 4xx, 5xx).",
                         op_labels)
        throttled = _family("omni_api_throttled", "counter", "Channel API answers that throttled the call "
                            "(HTTP 429, GraphQL THROTTLED).", op_labels)
        latency = _family("omni_api_call_duration_seconds", "histogram", "Duration of channel API calls.", op_labels)
        buckets = SQL(", ").join(SQL("sum(bucket_%s)", index) for index in range(1, len(call_metrics.BUCKETS) + 1))
        # The running totals (one row per key) plus the per-minute rows not folded into them yet (the
        # last minutes: the fold cron runs every 5 minutes; models/omni_metric_minute.py), then the
        # company names: one statement, a few rows per key whatever the history.
        columns = SQL("backend_id, source, channel, company_id, metric, operation, count, errors, throttled, "
                      "seconds, bucket_1, bucket_2, bucket_3, bucket_4, bucket_5, bucket_6, bucket_7, bucket_8")
        for row in self._rows(SQL(
                """
                SELECT g.backend_id, g.source, g.channel, c.name, g.metric, g.operation, g.n, g.errors,
                       g.throttled, g.seconds, g.buckets
                  FROM (SELECT backend_id, source, channel, company_id, metric, operation, sum(count) AS n,
                               sum(errors) AS errors, sum(throttled) AS throttled, sum(seconds) AS seconds,
                               ARRAY[%(buckets)s] AS buckets
                          FROM (SELECT %(columns)s FROM omni_metric_total
                                UNION ALL
                                SELECT %(columns)s FROM omni_metric_minute WHERE folded IS NOT TRUE) u
                         GROUP BY backend_id, source, channel, company_id, metric, operation) g
                  JOIN res_company c ON c.id = g.company_id
                 ORDER BY 1, 2, 5, 6
                """, buckets=buckets, columns=columns)):
            backend_id, source, channel, company, metric, operation, count, n_errors, n_throttled, seconds = row[:10]
            if backend_id:
                name, backend_channel, company = self._labels(backends, backend_id)
                labels = (name, channel or backend_channel, company)
            else:
                labels = (source, channel, company)
            if metric in PROCESSED_OUTCOMES:
                processed["samples"].append(((*labels, metric), count))
            elif metric in FAILED_OUTCOMES:
                failed["samples"].append(((*labels, metric), count))
                if metric == "retry":
                    retries["samples"].append((labels, count))
            elif metric == "api":
                calls["samples"].append(((*labels, operation), count))
                errors["samples"].append(((*labels, operation), n_errors))
                throttled["samples"].append(((*labels, operation), n_throttled))
                latency["samples"].append(((*labels, operation),
                                           (cumulative(call_metrics.BUCKETS, row[10], count), seconds)))
        return [processed, failed, retries, calls, errors, throttled, latency]

    # ------------------------------------------------------------- exceptions

    def _omni_exception_families(self, backends, now):
        open_ = _family("omni_exceptions_open", "gauge", "Open or assigned exceptions, by category and severity.",
                        (*BACKEND_LABELS, "category", "severity"))
        oldest = _family("omni_oldest_open_exception_age_seconds", "gauge", "Age of the oldest open exception.")
        oldest_by = {}
        for backend_id, company, category, severity, count, first in self._rows(SQL(
                """
                SELECT e.backend_id, c.name, e.category, e.severity, count(*), min(e.create_date)
                  FROM omni_exception e JOIN res_company c ON c.id = e.company_id
                 WHERE e.state IN ('open', 'assigned')
                 GROUP BY e.backend_id, c.name, e.category, e.severity ORDER BY 1, 3, 4
                """)):
            labels = self._labels(backends, backend_id) if backend_id else ("", "", company)
            open_["samples"].append(((*labels, category, severity), count))
            if labels not in oldest_by or first < oldest_by[labels]:
                oldest_by[labels] = first
        oldest["samples"] = [(labels, max((now - first).total_seconds(), 0.0)) for labels, first in oldest_by.items()]
        return [open_, oldest]

    # ----------------------------------------------------------------- intake

    def _omni_intake_families(self, backends):
        webhook = _family("omni_last_webhook_timestamp_seconds", "gauge",
                          "When the last webhook of the backend was received (Unix time).")
        poll = _family("omni_last_successful_poll_timestamp_seconds", "gauge",
                       "Start of the last successful poll of each resource type (Unix time).",
                       (*BACKEND_LABELS, "resource"))
        rejections = _family("omni_webhook_rejections", "counter", "Webhook requests refused, by reason "
                             "(kept for the rejection log's retention).", (*BACKEND_LABELS, "reason"))
        paused = _family("omni_backend_paused", "gauge", "1 while a circuit-breaker pause of the backend is open.",
                         (*BACKEND_LABELS, "scope"))
        # One statement: the last webhook of each backend (one probe of its (backend_id, received_at)
        # index each, whatever the table holds), the polling checkpoints, the rejection log, the pauses.
        for kind, backend_id, key, value in self._rows(SQL(
                """
                SELECT 'webhook', b.id, NULL, w.at
                  FROM unnest(%(backends)s::int[]) AS b (id)
                 CROSS JOIN LATERAL (
                       SELECT EXTRACT(EPOCH FROM e.received_at)::float AS at FROM omni_event e
                        WHERE e.backend_id = b.id AND %(webhook)s
                        ORDER BY e.received_at DESC LIMIT 1) w
                 UNION ALL
                SELECT 'poll', backend_id, resource_type, EXTRACT(EPOCH FROM checkpoint)::float
                  FROM omni_sync_checkpoint WHERE checkpoint IS NOT NULL
                 UNION ALL
                SELECT 'rejection', backend_id, reason, sum(count)::float FROM omni_webhook_rejection
                 GROUP BY backend_id, reason
                 UNION ALL
                SELECT 'paused', backend_id, scope, 1.0 FROM omni_backend_pause WHERE open_until > %(now)s
                 ORDER BY 1, 2, 3
                """, backends=sorted(backends), now=fields.Datetime.now(), webhook=SQL(WEBHOOK_DELIVERY))):
            labels = self._labels(backends, backend_id)
            if kind == "webhook":
                webhook["samples"].append((labels, value))
            elif kind == "poll":
                poll["samples"].append(((*labels, key), value))
            elif kind == "rejection":
                rejections["samples"].append(((*labels, key), int(value)))
            else:
                paused["samples"].append(((*labels, key), 1))
        return [webhook, poll, rejections, paused]

    # ------------------------------------------------------------ settlements

    def _omni_account_labels(self, backends):
        rows = self._rows(SQL(
            "SELECT a.id, a.name, a.source, a.backend_id, c.name, a.active FROM omni_settlement_account a "
            "JOIN res_company c ON c.id = a.company_id"))
        labels = {}
        for account_id, name, source, backend_id, company, active in rows:
            backend = self._labels(backends, backend_id)[0] if backend_id else ""
            labels[account_id] = {"labels": (backend, source, company, name), "active": active}
        return labels

    def _omni_settlement_families(self, backends, now):
        accounts = self._omni_account_labels(backends)
        account_labels = (*BACKEND_LABELS, "account")
        by_state = _family("omni_settlements", "gauge", "Payouts by state.", (*account_labels, "state"))
        unmatched = _family("omni_settlement_unmatched_lines", "gauge",
                            "Payout lines not matched yet (unmatched, suggested, amount differs).", account_labels)
        transit = _family("omni_payout_in_transit_amount", "gauge",
                          "Payouts posted to the transit account and not yet matched to a bank line, in the "
                          "payout's currency.", (*account_labels, "currency"))
        silence = _family("omni_days_since_last_payout", "gauge", "Days since the last payout of the account.",
                          account_labels)
        found, in_transit, last = {}, {}, {}
        # One statement: payouts by state, their open lines (the match_state index), the amounts in
        # transit (the state index) and the last payout date of each account.
        for kind, account_id, key, value, moment in self._rows(SQL(
                """
                SELECT 'state', payout_account_id, state, count(*)::numeric, NULL::date FROM omni_settlement
                 GROUP BY payout_account_id, state
                 UNION ALL
                SELECT 'unmatched', s.payout_account_id, NULL, count(*), NULL
                  FROM omni_settlement_line l JOIN omni_settlement s ON s.id = l.settlement_id
                 WHERE l.match_state IN %(open)s GROUP BY s.payout_account_id
                 UNION ALL
                SELECT 'transit', s.payout_account_id, cur.name, sum(s.expected_amount), NULL
                  FROM omni_settlement s JOIN res_currency cur ON cur.id = s.currency_id
                 WHERE s.state = 'posted' GROUP BY s.payout_account_id, cur.name
                 UNION ALL
                SELECT 'last', payout_account_id, NULL, NULL, max(payout_date) FROM omni_settlement
                 GROUP BY payout_account_id
                 ORDER BY 1, 2, 3
                """, open=OPEN_MATCH_STATES)):
            if kind == "state":
                by_state["samples"].append((accounts[account_id]["labels"] + (key,), int(value)))
            elif kind == "unmatched":
                found[account_id] = int(value)
            elif kind == "transit":
                in_transit[account_id, key] = float(value)
            elif moment:
                last[account_id] = moment
        for account_id, account in sorted(accounts.items()):
            if not account["active"]:
                continue
            unmatched["samples"].append((account["labels"], found.get(account_id, 0)))
            if last.get(account_id):
                silence["samples"].append((account["labels"], (now.date() - last[account_id]).days))
        for (account_id, currency), amount in sorted(in_transit.items()):
            transit["samples"].append((accounts[account_id]["labels"] + (currency,), amount))
        return [by_state, unmatched, transit, silence]

    # ------------------------------------------------------------------ crons

    @api.model
    def _omni_cron_rows(self, now=None):
        """``[(xml id, name, active, lastcall, duration seconds or None, lateness seconds)]`` of the omni crons.

        Lateness: how long the cron's earliest due moment (next call or a pending trigger) has passed."""
        now = now or fields.Datetime.now()
        rows = self._rows(SQL(
            """
            SELECT d.module || '.' || d.name, c.cron_name, c.active, c.lastcall,
                   LEAST(c.nextcall, (SELECT min(t.call_at) FROM ir_cron_trigger t WHERE t.cron_id = c.id)),
                   (SELECT EXTRACT(EPOCH FROM p.write_date - p.create_date) FROM ir_cron_progress p
                     WHERE p.cron_id = c.id ORDER BY p.id DESC LIMIT 1)
              FROM ir_cron c
              JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = c.id AND d.module LIKE %s
             ORDER BY 1
            """, "omni\\_%"))
        return [(xmlid, name, active, lastcall, duration, max((now - due).total_seconds(), 0.0) if active else 0.0)
                for xmlid, name, active, lastcall, due, duration in rows]

    def _omni_cron_families(self, now):
        last = _family("omni_cron_last_run_timestamp_seconds", "gauge", "Last successful run of the cron (Unix time).",
                       ("cron",))
        duration = _family("omni_cron_last_duration_seconds", "gauge", "Duration of the cron's last run.", ("cron",))
        late = _family("omni_cron_lateness_seconds", "gauge",
                       "How late the cron is: time since its earliest due run (0 when on time).", ("cron",))
        epoch = fields.Datetime.to_datetime("1970-01-01 00:00:00")
        for xmlid, _name, _active, lastcall, seconds, lateness in self._omni_cron_rows(now):
            if lastcall:
                last["samples"].append(((xmlid,), (lastcall - epoch).total_seconds()))
            if seconds is not None:
                duration["samples"].append(((xmlid,), float(seconds)))
            late["samples"].append(((xmlid,), lateness))
        return [last, duration, late]
