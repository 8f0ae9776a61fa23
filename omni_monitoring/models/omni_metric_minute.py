"""Folding of the per-minute aggregate rows into running totals, so a scrape reads a few rows per key.

``omni.metric.minute`` (in omni_connector_base) gets one row per minute, database connection,
backend, metric and operation, written in the transaction of the work it counts. A counter of
``/omni/metrics`` is the sum of every row ever written; summing two hours of minutes at each scrape
costs minutes x connections x keys rows. The fold cron (every 5 minutes) adds the rows of finished
minutes into ``omni.metric.total`` (one row per key) and marks them ``folded``, in one transaction;
the scrape reads the totals plus the rows not folded yet (the last minutes), so the sums are exact at
any moment and never go back. Only minutes that ended over a minute ago are folded: a writer adds to
the row of the minute of its own clock, so nothing adds to a row once it is folded. Folded rows stay
``KEEP_MINUTES`` for the alert rules' windows (failure ratio), then are deleted.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

KEEP_MINUTES = 120  # the alert rules' windows (failure ratio: 15 min) read these rows
_COLUMNS = ("count", "errors", "throttled", "seconds", *(f"bucket_{index}" for index in range(1, 9)))
_KEY = ("backend_id", "source", "channel", "company_id", "metric", "operation")


class OmniMetricMinute(models.Model):
    _inherit = "omni.metric.minute"

    folded = fields.Boolean(readonly=True, help="Added into the running totals (omni.metric.total) already.")

    # The rows a scrape reads besides the totals: the minutes not folded yet.
    _omni_unfolded_index = models.Index("(minute) WHERE folded IS NOT TRUE")

    @api.model
    def _cron_compact(self, keep_minutes=KEEP_MINUTES, settle_minutes=1):
        """Fold the minutes that ended over ``settle_minutes`` ago into the totals, delete folded rows
        older than ``keep_minutes``; returns the rows folded. Also folds the live-state counter rows of
        closed connections."""
        self.env["omni.event.state.count"]._omni_compact()
        now = fields.Datetime.now().replace(second=0, microsecond=0)
        key = SQL(", ").join(SQL.identifier(column) for column in _KEY)
        names = SQL(", ").join(SQL.identifier(column) for column in _COLUMNS)
        sums = SQL(", ").join(SQL("sum(%s)", SQL.identifier(column)) for column in _COLUMNS)
        updates = SQL(", ").join(SQL("%s = t.%s + EXCLUDED.%s", SQL.identifier(c), SQL.identifier(c), SQL.identifier(c))
                                 for c in _COLUMNS)
        # SKIP LOCKED: a row still locked by an open transaction is folded at the next run.
        self.env.cr.execute(SQL(
            """
            WITH moved AS (
                UPDATE omni_metric_minute SET folded = true
                 WHERE id IN (SELECT id FROM omni_metric_minute WHERE folded IS NOT TRUE AND minute < %(before)s
                               FOR UPDATE SKIP LOCKED)
                RETURNING %(key)s, %(names)s
            ), added AS (
                INSERT INTO omni_metric_total AS t (%(key)s, %(names)s)
                SELECT %(key)s, %(sums)s FROM moved GROUP BY %(key)s
                ON CONFLICT (%(key)s) DO UPDATE SET %(updates)s
            )
            SELECT count(*) FROM moved
            """, before=now - timedelta(minutes=max(settle_minutes, 1)), key=key, names=names, sums=sums,
            updates=updates))
        folded = self.env.cr.fetchone()[0]
        self.env.cr.execute(SQL("DELETE FROM omni_metric_minute WHERE folded AND minute < %s",
                                now - timedelta(minutes=keep_minutes)))
        return folded


class OmniMetricTotal(models.Model):
    _name = "omni.metric.total"
    _description = "Omnichannel Metric Totals"
    _log_access = False
    _order = "backend_id, metric, operation"

    backend_id = fields.Many2one("omni.backend", ondelete="cascade", readonly=True, index="btree_not_null")
    source = fields.Char(required=True, default="", readonly=True,
                         help="What the row counts for when it is no backend (a payout account).")
    channel = fields.Char(required=True, default="", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    metric = fields.Char(required=True, readonly=True, help="Event outcome (done, retry...) or 'api'.")
    operation = fields.Char(required=True, default="", readonly=True, help="Channel API operation ('api' rows).")
    count = fields.Integer(readonly=True, help="Events processed with this outcome, or API calls, folded so far.")
    errors = fields.Integer(readonly=True)
    throttled = fields.Integer(readonly=True)
    seconds = fields.Float(readonly=True)
    bucket_1 = fields.Integer(readonly=True)
    bucket_2 = fields.Integer(readonly=True)
    bucket_3 = fields.Integer(readonly=True)
    bucket_4 = fields.Integer(readonly=True)
    bucket_5 = fields.Integer(readonly=True)
    bucket_6 = fields.Integer(readonly=True)
    bucket_7 = fields.Integer(readonly=True)
    bucket_8 = fields.Integer(readonly=True)

    _unique_key = models.Constraint(
        "UNIQUE NULLS NOT DISTINCT (backend_id, source, channel, company_id, metric, operation)",
        "One total per backend, metric and operation.",
    )
