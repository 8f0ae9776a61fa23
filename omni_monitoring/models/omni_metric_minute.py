"""Compaction of the per-minute aggregate rows, so a scrape reads a bounded number of rows.

Rows older than ``KEEP_MINUTES`` are folded into one total row per key (minute 1970-01-01, shard 0),
in one transaction: the counters' sums do not change, so Prometheus sees no reset. Only the compaction
cron writes the total rows; the processor writes the current minute, which is never compacted.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

KEEP_MINUTES = 120  # the alert rules' windows (failure ratio: 15 min) read these rows
TOTAL_MINUTE = "1970-01-01 00:00:00"
_COLUMNS = ("count", "errors", "throttled", "seconds", *(f"bucket_{index}" for index in range(1, 9)))


class OmniMetricMinute(models.Model):
    _inherit = "omni.metric.minute"

    @api.model
    def _cron_compact(self, keep_minutes=KEEP_MINUTES):
        """Fold rows older than ``keep_minutes`` into the total rows; returns the rows folded.

        Also folds the live-state counter rows of closed connections (``omni.event.state.count``)."""
        self.env["omni.event.state.count"]._omni_compact()
        cutoff = fields.Datetime.now().replace(second=0, microsecond=0) - timedelta(minutes=keep_minutes)
        sums = SQL(", ").join(SQL("sum(%s)", SQL.identifier(column)) for column in _COLUMNS)
        names = SQL(", ").join(SQL.identifier(column) for column in _COLUMNS)
        updates = SQL(", ").join(SQL("%s = t.%s + EXCLUDED.%s", SQL.identifier(c), SQL.identifier(c), SQL.identifier(c))
                                 for c in _COLUMNS)
        self.env.cr.execute(SQL(
            """
            WITH old AS (
                DELETE FROM omni_metric_minute WHERE minute < %(cutoff)s AND minute > %(total)s
                RETURNING backend_id, source, channel, company_id, metric, operation, %(names)s
            )
            INSERT INTO omni_metric_minute AS t (minute, shard, backend_id, source, channel, company_id, metric,
                                                 operation, %(names)s)
            SELECT %(total)s, 0, backend_id, source, channel, company_id, metric, operation, %(sums)s
              FROM old GROUP BY backend_id, source, channel, company_id, metric, operation
            ON CONFLICT (minute, shard, backend_id, source, channel, company_id, metric, operation)
            DO UPDATE SET %(updates)s
            """, cutoff=cutoff, total=TOTAL_MINUTE, names=names, sums=sums, updates=updates))
        return self.env.cr.rowcount
