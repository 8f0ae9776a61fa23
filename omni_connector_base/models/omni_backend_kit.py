"""The connector kit on ``omni.backend``: what every connector needs and no channel owns.

* a client cache keyed by backend and ``connection_version`` (``_omni_client``);
* polling checkpoints with overlap, per resource type (``_omni_checkpoint_since``,
  ``_omni_checkpoint_advance``, ``_omni_run_poll``; rows in ``omni.sync.checkpoint``);
* a circuit breaker stored in the database (``_omni_pause``, ``_omni_check_pause``,
  ``_omni_resume``; rows in ``omni.backend.pause``), seen by every worker and node.

The hooks a connector implements are in ``omni_backend.py`` ("connector hooks"); the outbox
batch helpers are on ``omni.event`` (``omni_event_outbox.py``). See CONNECTORS.md.
"""

import threading
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..pipeline.errors import TransientError

# One client per backend and process: what it learnt (a cost bucket, a renewed token)
# survives from one event to the next. Rebuilt when ``connection_version`` moves.
_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()
DEFAULT_OVERLAP_MINUTES = 10
# Scope of a pause that holds every push of the backend (a topic pauses only that topic).
ALL_PUSHES = "*"


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    connection_version = fields.Integer(
        default=1,
        readonly=True,
        copy=False,
        help="Moves whenever a connection field (address, credentials, API version) changes: every worker "
        "then builds a new API client.",
    )
    checkpoint_ids = fields.One2many("omni.sync.checkpoint", "backend_id", string="Polling Checkpoints")
    pause_ids = fields.One2many("omni.backend.pause", "backend_id", string="Pauses", readonly=True)
    paused_until = fields.Datetime(
        compute="_compute_paused",
        string="Pushes Paused Until",
        help="After a channel failure, pushes to the channel wait until this moment (every worker honours it).",
    )
    pause_reason = fields.Char(compute="_compute_paused")

    def _compute_paused(self):
        now = fields.Datetime.now()
        for backend in self:
            pause = backend.pause_ids.filtered(lambda p: p.open_until > now).sorted("open_until", reverse=True)[:1]
            backend.paused_until = pause.open_until
            backend.pause_reason = pause.reason

    # ------------------------------------------------------------ client cache

    def _omni_connection_fields(self):
        """Names of the fields the channel's API client is built from (connectors add theirs)."""
        return set()

    def write(self, vals):
        result = super().write(vals)
        # ``omni_client_state``: the client itself learnt the value (a renewed token); keep it.
        if self._omni_connection_fields().intersection(vals) and not self.env.context.get("omni_client_state"):
            self.flush_recordset()
            # A bare counter, not tracked nor recomputed: raw SQL skips only write_date/uid.
            self.env.cr.execute(
                SQL("UPDATE omni_backend SET connection_version = COALESCE(connection_version, 0) + 1 "
                    "WHERE id IN %s", tuple(self.ids))
            )
            self.invalidate_recordset(["connection_version"])
        return result

    @api.private
    def _omni_client(self, factory):
        """The process's API client of this backend: ``factory()`` builds it on first use and
        again after any connection field changed (``connection_version``)."""
        self.ensure_one()
        key = (self.env.cr.dbname, self.id)
        version = self.connection_version
        with _CLIENTS_LOCK:
            cached = _CLIENTS.get(key)
            if cached and cached[0] == version:
                return cached[1]
            client = factory()
            _CLIENTS[key] = (version, client)
        if cached:
            _close(cached[1])
        return client

    @api.private
    def _omni_reset_client(self):
        """Forget this process's clients of these backends."""
        with _CLIENTS_LOCK:
            dropped = [_CLIENTS.pop((self.env.cr.dbname, backend_id), None) for backend_id in self.ids]
        for cached in filter(None, dropped):
            _close(cached[1])

    # ------------------------------------------------------------ checkpoints

    @api.private
    def _omni_checkpoint(self, resource_type):
        self.ensure_one()
        return self.env["omni.sync.checkpoint"].sudo().search(
            [("backend_id", "=", self.id), ("resource_type", "=", resource_type)], limit=1
        )

    @api.private
    def _omni_checkpoint_since(self, resource_type, now=None):
        """Where the next poll of ``resource_type`` starts: the checkpoint minus the overlap.

        Without a checkpoint yet, the backend's creation (a new backend does not import the
        shop's history); a checkpoint cleared by hand re-reads from ``now`` minus the overlap.
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        checkpoint = self._omni_checkpoint(resource_type)
        if checkpoint:
            start, overlap = checkpoint.checkpoint or now, checkpoint.overlap_minutes
        else:
            start, overlap = self.create_date or now, DEFAULT_OVERLAP_MINUTES
        return start - timedelta(minutes=overlap or 0)

    @api.private
    def _omni_checkpoint_advance(self, resource_type, moment):
        """Record a successful poll that started at ``moment`` (one upsert; the backend row is not written)."""
        self.ensure_one()
        Checkpoint = self.env["omni.sync.checkpoint"]
        Checkpoint.flush_model()
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO omni_sync_checkpoint (backend_id, company_id, resource_type, checkpoint, overlap_minutes,
                                                  create_uid, write_uid, create_date, write_date)
                VALUES (%(backend)s, %(company)s, %(type)s, %(moment)s, %(overlap)s, %(uid)s, %(uid)s, %(now)s, %(now)s)
                ON CONFLICT (backend_id, resource_type)
                DO UPDATE SET checkpoint = EXCLUDED.checkpoint, write_date = EXCLUDED.write_date,
                              write_uid = EXCLUDED.write_uid
                """,
                backend=self.id,
                company=self.company_id.id,
                type=resource_type,
                moment=moment,
                overlap=DEFAULT_OVERLAP_MINUTES,
                uid=self.env.uid,
                now=now,
            )
        )
        Checkpoint.invalidate_model()
        self.invalidate_recordset(["checkpoint_ids"])

    @api.private
    def _omni_checkpoint_set(self, resource_type, **values):
        """Set ``checkpoint`` and/or ``overlap_minutes`` of one resource type (forms, tests)."""
        self.ensure_one()
        checkpoint = self._omni_checkpoint(resource_type)
        if checkpoint:
            checkpoint.write(values)
        else:
            self.env["omni.sync.checkpoint"].sudo().create(
                dict({"checkpoint": self.create_date}, backend_id=self.id, resource_type=resource_type, **values)
            )

    @api.private
    def _omni_run_poll(self, resource_type):
        """One poll of ``resource_type`` through the ``_omni_poll`` hook, checkpoint advanced after success.

        :return: what the hook returned
        """
        self.ensure_one()
        started = fields.Datetime.now()
        result = self._omni_poll(resource_type, self._omni_checkpoint_since(resource_type, now=started))
        self._omni_checkpoint_advance(resource_type, started)
        self.env["omni.metric.minute"]._omni_flush_calls(self)  # the poll's API calls, in its transaction
        return result

    # ---------------------------------------------------------------- breaker

    @api.private
    def _omni_pause(self, scope, seconds, reason):
        """Hold this backend's pushes of ``scope`` (a topic, or ``ALL_PUSHES``) for ``seconds``.

        One upsert into the pause table; a pause already open longer is kept. Write it outside
        the handler's savepoint (a rolled-back handler would undo it): handlers mark the error
        with ``_omni_pause_on_error`` and the processor applies it.
        """
        self.ensure_one()
        now = fields.Datetime.now()
        self.env["omni.backend.pause"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO omni_backend_pause (backend_id, company_id, scope, open_until, reason,
                                                create_uid, write_uid, create_date, write_date)
                VALUES (%(backend)s, %(company)s, %(scope)s, %(until)s, %(reason)s, %(uid)s, %(uid)s, %(now)s, %(now)s)
                ON CONFLICT (backend_id, scope) DO UPDATE
                   SET open_until = GREATEST(omni_backend_pause.open_until, EXCLUDED.open_until),
                       reason = EXCLUDED.reason, write_date = EXCLUDED.write_date
                """,
                backend=self.id,
                company=self.company_id.id,
                scope=scope,
                until=now + timedelta(seconds=float(seconds)),
                reason=(reason or "")[:256],
                uid=self.env.uid,
                now=now,
            )
        )
        self.env["omni.backend.pause"].invalidate_model()
        self.invalidate_recordset(["pause_ids"])

    @api.private
    def _omni_pause_on_error(self, error, scope, seconds, reason):
        """Mark ``error`` (about to be raised by a handler) to pause ``scope`` once it is recorded."""
        error.omni_pause = (self.id, scope, seconds, reason)
        return error

    @api.private
    def _omni_apply_error_pause(self, error):
        """Processor side of ``_omni_pause_on_error``: open the pause the handler asked for."""
        mark = getattr(error, "omni_pause", None)
        if mark and mark[0] == self.id:
            self._omni_pause(*mark[1:])

    @api.private
    def _omni_check_pause(self, scope):
        """:raises TransientError: (retry when the pause ends) while ``scope`` or all pushes are paused."""
        self.ensure_one()
        self.env["omni.backend.pause"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT open_until, reason FROM omni_backend_pause WHERE backend_id = %s AND scope IN %s "
                "AND open_until > %s ORDER BY open_until DESC LIMIT 1",
                self.id,
                (scope, ALL_PUSHES),
                fields.Datetime.now(),
            )
        )
        row = self.env.cr.fetchone()
        if row:
            wait = max((row[0] - fields.Datetime.now()).total_seconds(), 1.0)
            raise TransientError(
                self.env._("%(reason)s; waiting %(wait).0f s before trying again.", reason=row[1], wait=wait),
                retry_after=wait,
            )

    @api.private
    def _omni_resume(self, scope=None):
        """Close the pauses of these backends (of ``scope`` only, when given)."""
        domain = [("backend_id", "in", self.ids)] + ([("scope", "=", scope)] if scope else [])
        self.env["omni.backend.pause"].sudo().search(domain).unlink()

    def action_omni_resume(self):
        """Button: let pushes go out again now."""
        self.check_access("write")
        self._omni_resume()
        return True


def _close(client):
    close = getattr(client, "close", None)
    if close:
        close()
