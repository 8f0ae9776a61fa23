"""Per-minute aggregate rows of the work the pipeline does, written in the work's own transaction.

One row per minute, database connection (``shard``: parallel workers never update the same row, so
they neither wait on each other nor meet a serialization failure), backend (or payout source),
metric and operation. ``metric`` is an event outcome (``done``, ``skipped``, ``blocked``, ``dead``,
``retry``: one count per processed attempt) or ``api`` (channel API calls drained from
``pipeline.call_metrics``: calls, errors, throttled answers, seconds and latency buckets).
``omni_monitoring`` sums them at scrape time; a scrape reads minutes x workers rows, not events.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..pipeline import call_metrics

EVENT_OUTCOMES = ("done", "skipped", "blocked", "dead", "retry")
_BUCKET_COLUMNS = tuple(f"bucket_{index}" for index in range(1, len(call_metrics.BUCKETS) + 1))


class OmniMetricMinute(models.Model):
    _name = "omni.metric.minute"
    _description = "Omnichannel Metrics per Minute"
    _log_access = False
    _order = "minute desc, id desc"

    minute = fields.Datetime(required=True, readonly=True, help="Start of the minute (UTC).")
    shard = fields.Integer(required=True, default=0, readonly=True,
                           help="Database connection that wrote the row (keeps parallel workers apart).")
    backend_id = fields.Many2one("omni.backend", ondelete="cascade", readonly=True, index="btree_not_null")
    source = fields.Char(required=True, default="", readonly=True,
                         help="What the row counts for when it is no backend (a payout account: 'stripe:3').")
    channel = fields.Char(required=True, default="", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    metric = fields.Char(required=True, readonly=True, help="Event outcome (done, retry...) or 'api'.")
    operation = fields.Char(required=True, default="", readonly=True, help="Channel API operation ('api' rows).")
    count = fields.Integer(readonly=True, help="Events processed with this outcome, or API calls.")
    errors = fields.Integer(readonly=True, help="API calls that failed (no answer, 4xx, 5xx).")
    throttled = fields.Integer(readonly=True, help="API calls the channel throttled (429, THROTTLED).")
    seconds = fields.Float(readonly=True, help="Total duration of the API calls.")
    bucket_1 = fields.Integer(readonly=True)
    bucket_2 = fields.Integer(readonly=True)
    bucket_3 = fields.Integer(readonly=True)
    bucket_4 = fields.Integer(readonly=True)
    bucket_5 = fields.Integer(readonly=True)
    bucket_6 = fields.Integer(readonly=True)
    bucket_7 = fields.Integer(readonly=True)
    bucket_8 = fields.Integer(readonly=True)

    _unique_key = models.Constraint(
        "UNIQUE NULLS NOT DISTINCT (minute, shard, backend_id, source, channel, company_id, metric, operation)",
        "One aggregate row per minute, shard, backend, metric and operation.",
    )
    _minute_index = models.Index("(minute)")

    @api.model
    def _omni_flush_calls(self, backend=None, outcome=None, *, channel=None, company=None, source="", count=1,
                          calls=True):
        """Add ``count`` event ``outcome`` (if given) and this thread's buffered API calls (unless ``calls``
        is false) to the current minute's rows of ``backend`` (or of ``source``/``channel``/``company``):
        one statement, in the caller's transaction. Does nothing when there is nothing to count."""
        calls = call_metrics.drain() if calls else {}
        if not outcome and not calls:
            return
        if backend:
            backend = backend.sudo()
            channel, company_id = channel or backend.channel or "", backend.company_id.id
        else:
            company_id = (company or self.env.company).id
        rows = []
        if outcome:
            rows.append((outcome, "", count, 0, 0, 0.0, (0,) * len(_BUCKET_COLUMNS)))
        for operation, stats in calls.items():
            count, errors, throttled, seconds, buckets = stats.as_tuple()
            rows.append(("api", operation, count, errors, throttled, seconds, buckets))
        minute = fields.Datetime.now().replace(second=0, microsecond=0)
        values = [
            SQL("(%s, pg_backend_pid(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                minute, backend.id if backend else None, source or "", channel or "", company_id,
                metric, operation, count, errors, throttled, seconds, SQL(", ").join(buckets))
            for metric, operation, count, errors, throttled, seconds, buckets in rows
        ]
        bucket_names = SQL(", ").join(SQL.identifier(name) for name in _BUCKET_COLUMNS)
        bucket_updates = SQL(", ").join(
            SQL("%s = t.%s + EXCLUDED.%s", SQL.identifier(name), SQL.identifier(name), SQL.identifier(name))
            for name in _BUCKET_COLUMNS
        )
        self.env.cr.execute(SQL(
            """
            INSERT INTO omni_metric_minute AS t (minute, shard, backend_id, source, channel, company_id, metric,
                                                 operation, count, errors, throttled, seconds, %s)
            VALUES %s
            ON CONFLICT (minute, shard, backend_id, source, channel, company_id, metric, operation)
            DO UPDATE SET count = t.count + EXCLUDED.count, errors = t.errors + EXCLUDED.errors,
                          throttled = t.throttled + EXCLUDED.throttled, seconds = t.seconds + EXCLUDED.seconds, %s
            """,
            bucket_names, SQL(", ").join(values), bucket_updates,
        ))
