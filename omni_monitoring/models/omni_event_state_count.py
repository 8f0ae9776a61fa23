"""Live-state counters of the event table, kept by PostgreSQL in the transaction of each change.

``/omni/metrics`` (``omni_events``, ``omni_dead_events``, the ready queue depth), the alert rules and
the Overview read how many events of each backend, direction and state are pending, retrying,
blocked or dead. Counting them in the event table costs a scan of the whole live backlog at every
scrape; these rows hold the counts instead, so a scrape reads a few rows per backend whatever the
table or its backlog holds.

Statement-level triggers on ``omni_event`` (``AFTER INSERT``, ``UPDATE`` and ``DELETE``, with
transition tables: one upsert per statement, not per row) add the difference of each statement in
that statement's own transaction, so the counts commit or roll back with the work. They see every
write, the ORM's and plain SQL's (the processor, the outbox, the purge). Each database connection
adds into a row of its own (``shard`` = its ``pg_backend_pid()``): parallel workers never update the
same row, so they neither wait on each other nor meet a serialization failure. The hourly compaction
cron folds the rows of connections that no longer exist into shard 0. Nothing lives in process
memory: the figures are the same whichever prefork worker or node answers.
"""

from odoo import api, fields, models
from odoo.tools import SQL

LIVE_STATES = ("pending", "retry", "blocked", "dead")

_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION omni_event_state_count_apply() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO omni_event_state_count AS t (backend_id, company_id, direction, state, shard, count)
        SELECT backend_id, company_id, direction, state, pg_backend_pid(), count(*)
          FROM omni_event_state_new
         WHERE state IN ('pending', 'retry', 'blocked', 'dead')
         GROUP BY backend_id, company_id, direction, state
        ON CONFLICT (backend_id, company_id, direction, state, shard) DO UPDATE SET count = t.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO omni_event_state_count AS t (backend_id, company_id, direction, state, shard, count)
        SELECT o.backend_id, o.company_id, o.direction, o.state, pg_backend_pid(), -count(*)
          FROM omni_event_state_old o
         WHERE o.state IN ('pending', 'retry', 'blocked', 'dead')
           AND EXISTS (SELECT 1 FROM omni_backend b WHERE b.id = o.backend_id)
         GROUP BY o.backend_id, o.company_id, o.direction, o.state
        ON CONFLICT (backend_id, company_id, direction, state, shard) DO UPDATE SET count = t.count + EXCLUDED.count;
    ELSE
        INSERT INTO omni_event_state_count AS t (backend_id, company_id, direction, state, shard, count)
        SELECT d.backend_id, d.company_id, d.direction, d.state, pg_backend_pid(), sum(d.delta)
          FROM (SELECT n.backend_id, n.company_id, n.direction, n.state, 1 AS delta
                  FROM omni_event_state_new n JOIN omni_event_state_old o ON o.id = n.id
                 WHERE (n.backend_id, n.company_id, n.direction, n.state)
                       IS DISTINCT FROM (o.backend_id, o.company_id, o.direction, o.state)
                UNION ALL
                SELECT o.backend_id, o.company_id, o.direction, o.state, -1 AS delta
                  FROM omni_event_state_new n JOIN omni_event_state_old o ON o.id = n.id
                 WHERE (n.backend_id, n.company_id, n.direction, n.state)
                       IS DISTINCT FROM (o.backend_id, o.company_id, o.direction, o.state)) d
         WHERE d.state IN ('pending', 'retry', 'blocked', 'dead')
         GROUP BY d.backend_id, d.company_id, d.direction, d.state
        HAVING sum(d.delta) <> 0
        ON CONFLICT (backend_id, company_id, direction, state, shard) DO UPDATE SET count = t.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END
$body$
"""
_TRIGGERS = (
    ("omni_event_state_count_insert", "INSERT", "NEW TABLE AS omni_event_state_new"),
    ("omni_event_state_count_update", "UPDATE", "OLD TABLE AS omni_event_state_old NEW TABLE AS omni_event_state_new"),
    ("omni_event_state_count_delete", "DELETE", "OLD TABLE AS omni_event_state_old"),
)


def drop_triggers(cr):
    """Remove the triggers and their function (uninstall: the counters' table goes away), and the
    due-moment statistics of ``models/omni_event.py``."""
    for name, _event, _tables in _TRIGGERS:
        cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON omni_event", SQL.identifier(name)))
    cr.execute(SQL("DROP FUNCTION IF EXISTS omni_event_state_count_apply()"))
    cr.execute(SQL("DROP STATISTICS IF EXISTS omni_event_due_stats"))


class OmniEventStateCount(models.Model):
    _name = "omni.event.state.count"
    _description = "Omnichannel Event Counts by State"
    _log_access = False
    _order = "backend_id, direction, state, shard"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", ondelete="cascade", readonly=True,
                                 help="The events' company (their backend's); a user reads the rows of the companies "
                                 "selected.")
    direction = fields.Char(required=True, readonly=True, help="'in' (inbox) or 'out' (outbox).")
    state = fields.Char(required=True, readonly=True, help="A live state: pending, retry, blocked or dead.")
    shard = fields.Integer(required=True, default=0, readonly=True,
                           help="Database connection that wrote the row (0: folded by the compaction cron).")
    count = fields.Integer(readonly=True, help="Change of the number of events in this state (summed over shards).")

    _unique_key = models.Constraint(
        "UNIQUE NULLS NOT DISTINCT (backend_id, company_id, direction, state, shard)",
        "One counter row per backend, direction, state and connection.",
    )

    def init(self):
        """(Re)create the triggers and count the live events as they are now, in this transaction."""
        cr = self.env.cr
        cr.execute(SQL(_TRIGGER_FUNCTION))
        for name, event, tables in _TRIGGERS:
            cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON omni_event", SQL.identifier(name)))
            cr.execute(SQL("CREATE TRIGGER %s AFTER %s ON omni_event REFERENCING %s FOR EACH STATEMENT "
                           "EXECUTE FUNCTION omni_event_state_count_apply()",
                           SQL.identifier(name), SQL(event), SQL(tables)))
        # CREATE TRIGGER locks out writers of omni_event until this transaction ends: the count is exact.
        cr.execute(SQL("DELETE FROM omni_event_state_count"))
        cr.execute(SQL(
            """
            INSERT INTO omni_event_state_count (backend_id, company_id, direction, state, shard, count)
            SELECT backend_id, company_id, direction, state, 0, count(*) FROM omni_event
             WHERE state IN %s GROUP BY backend_id, company_id, direction, state
            """, LIVE_STATES))

    @api.model
    def _omni_counts(self):
        """``{(backend id, direction, state): count}`` of the live events, zero counts left out."""
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT backend_id, direction, state, sum(count) FROM omni_event_state_count "
            "GROUP BY backend_id, direction, state HAVING sum(count) <> 0"))
        return {(backend_id, direction, state): int(count)
                for backend_id, direction, state, count in self.env.cr.fetchall()}

    @api.model
    def _omni_compact(self):
        """Fold the rows of closed database connections into shard 0; returns the rows folded.

        A live connection's row stays: it may be in an open transaction that holds it."""
        self.env.cr.execute(SQL(
            """
            WITH old AS (
                DELETE FROM omni_event_state_count
                 WHERE shard <> 0 AND shard NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
                RETURNING backend_id, company_id, direction, state, count
            ), folded AS (
                INSERT INTO omni_event_state_count AS t (backend_id, company_id, direction, state, shard, count)
                SELECT backend_id, company_id, direction, state, 0, sum(count) FROM old
                 GROUP BY backend_id, company_id, direction, state
                ON CONFLICT (backend_id, company_id, direction, state, shard)
                DO UPDATE SET count = t.count + EXCLUDED.count
            )
            SELECT count(*) FROM old
            """))
        folded = self.env.cr.fetchone()[0]
        self.env.cr.execute(SQL("DELETE FROM omni_event_state_count WHERE shard = 0 AND count = 0"))
        return folded
