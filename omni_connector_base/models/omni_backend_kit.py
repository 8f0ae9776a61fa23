"""The connector kit on ``omni.backend``: what every connector needs and no channel owns.

* a client cache keyed by backend and ``connection_version`` (``_omni_client``);
* polling checkpoints with overlap, per resource type (``_omni_checkpoint_since``,
  ``_omni_checkpoint_advance``, ``_omni_run_poll``; rows in ``omni.sync.checkpoint``), and
  resumable polls read page by page with a cron's progress (``_omni_run_poll_page``,
  ``_omni_cron_poll_pages``);
* a circuit breaker stored in the database (``_omni_pause``, ``_omni_check_pause``,
  ``_omni_resume``; rows in ``omni.backend.pause``), seen by every worker and node;
* the start of every refund export (``_omni_refund_push_start``: the outgoing event's credit
  note, the channel order it refunds, its lines and their channel line ids).

The hooks a connector implements are in ``omni_backend.py`` ("connector hooks"); the outbox
batch helpers are on ``omni.event`` (``omni_event_outbox.py``). See CONNECTORS.md.
"""

import json
import logging
import threading
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..pipeline.errors import OmniError, PermanentError, StaleEvent, TransientError
from ..pipeline.masking import mask_text

_logger = logging.getLogger(__name__)

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
        if not checkpoint:
            # Two people (or a person and the poll) creating the first checkpoint at once: the second
            # meets a serialization conflict, which Odoo's request retry runs again, instead of a unique
            # violation answered "The operation cannot be completed" (the authz suite's concurrent clients).
            Checkpoint = self.env["omni.sync.checkpoint"]
            Checkpoint.flush_model()
            now = fields.Datetime.now()
            self.env.cr.execute(SQL(
                """
                INSERT INTO omni_sync_checkpoint (backend_id, company_id, resource_type, checkpoint, overlap_minutes,
                                                  create_uid, write_uid, create_date, write_date)
                VALUES (%(backend)s, %(company)s, %(type)s, %(moment)s, %(overlap)s, %(uid)s, %(uid)s, %(now)s, %(now)s)
                ON CONFLICT (backend_id, resource_type) DO NOTHING
                """,
                backend=self.id, company=self.company_id.id, type=resource_type, moment=self.create_date,
                overlap=DEFAULT_OVERLAP_MINUTES, uid=self.env.uid, now=now,
            ))
            Checkpoint.invalidate_model()
            self.invalidate_recordset(["checkpoint_ids"])
            checkpoint = self._omni_checkpoint(resource_type)
        if values:
            checkpoint.write(values)

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

    # ------------------------------------------------------- resumable polls

    @api.private
    def _omni_poll_resume(self, resource_type):
        """The state of the paged poll of ``resource_type`` between two pages, or None."""
        self.ensure_one()
        checkpoint = self._omni_checkpoint(resource_type)
        return json.loads(checkpoint.resume_state) if checkpoint and checkpoint.resume_state else None

    @api.private
    def _omni_poll_save_resume(self, resource_type, state):
        """Save (or clear, with None) where the paged poll of ``resource_type`` stands."""
        self.ensure_one()
        self._omni_checkpoint_set(resource_type, resume_state=json.dumps(state) if state else False)

    @api.private
    def _omni_run_poll_page(self, resource_type):
        """One page of a resumable poll of ``resource_type`` through the ``_omni_poll_page`` hook.

        A poll reads what changed since the checkpoint minus the overlap, page after page. After
        each page its state (window, the connector's cursor, counts) is saved on the checkpoint
        row, in the page's transaction: a run stopped by its time budget, a restart or a failed
        request resumes with the next page (a failed page is read again), and the checkpoint
        moves to the poll's start only once the last page is read. Re-read objects are
        recognised by the intake's idempotency keys.

        :return: ``(stored, read, pages_left)``: ``pages_left`` 0 once the poll is complete
        """
        self.ensure_one()
        state = self._omni_poll_resume(resource_type)
        if not state:
            started = fields.Datetime.now()
            state = {
                "since": fields.Datetime.to_string(self._omni_checkpoint_since(resource_type, now=started)),
                "started": fields.Datetime.to_string(started),
                "cursor": None, "pages": 0, "read": 0, "stored": 0, "left": None,
            }
        stored, read, cursor, left = self._omni_poll_page(
            resource_type, fields.Datetime.to_datetime(state["since"]), state["cursor"]
        )
        state.update(cursor=cursor, pages=state["pages"] + 1, read=state["read"] + read,
                     stored=state["stored"] + stored, left=left)
        if cursor is None:
            self._omni_poll_save_resume(resource_type, None)
            self._omni_checkpoint_advance(resource_type, fields.Datetime.to_datetime(state["started"]))
            _logger.info("Backend %s: poll of %s since %s complete: %s pages, %s read, %s stored", self.id,
                         resource_type, state["since"], state["pages"], state["read"], state["stored"])
            left = 0
        else:
            self._omni_poll_save_resume(resource_type, state)
            left = max(int(left or 0), 1)
        self.env["omni.metric.minute"]._omni_flush_calls(self)  # the page's API calls, in its transaction
        return stored, read, left

    @api.private
    def _omni_poll_progress_text(self, resource_type):
        """A person's summary of the paged poll under way, or "" when none is."""
        self.ensure_one()
        state = self._omni_poll_resume(resource_type)
        if not state:
            return ""
        return self.env._(
            "Reading the changes since %(since)s: %(pages)s page(s) read, %(read)s objects, %(stored)s new; about "
            "%(left)s page(s) to go.", since=state["since"], pages=state["pages"], read=state["read"],
            stored=state["stored"], left=state.get("left") or "?",
        )

    def _omni_resolve_poll_failures(self, *keys):
        """A poll that succeeds resolves the "Polling ... failed" exceptions of earlier ones: one failed
        poll is repaired by the next, no person needs to look any more. ``keys``: the ``dedupe_key`` the
        failures were raised with (default ``<channel>:poll``)."""
        self.ensure_one()
        failed = self.env["omni.exception"].sudo().search([
            ("backend_id", "=", self.id), ("category", "=", "channel_api"),
            ("resource_key", "in", list(keys or (f"{self.channel}:poll",))), ("state", "in", ("open", "assigned")),
        ])
        if failed:
            failed.write({"state": "resolved", "resolved_at": fields.Datetime.now()})
            for exception in failed:
                exception.message_post(body=self.env._("Resolved automatically: the next poll succeeded."))

    @api.model
    def _omni_cron_poll_pages(self, backends, resource_type, cron_xmlid, on_error=None, on_complete=None):
        """A poll cron with Odoo's progress display: each page is one step of the job
        (``ir.cron._commit_progress``: committed, ``done`` + 1, ``remaining`` = the pages the
        channel still announces plus the backends not reached yet), so the job's progress
        advances page by page and a restart resumes from the last committed page.

        Each page runs in a savepoint (the commit comes after it): a failed page is rolled back,
        handed to ``on_error(backend, error)`` (default: an exception for a person) and the
        next backend goes on. ``on_complete(backend)`` runs in the transaction of a poll's last
        page. When the run's time budget is spent the cron is triggered again.
        """
        Event = self.env["omni.event"]
        Event._omni_commit_progress(remaining=len(backends))
        for index, backend in enumerate(backends):
            left = 1
            while left:
                processed = 1
                try:
                    with self.env.cr.savepoint():
                        _stored, _read, left = backend._omni_run_poll_page(resource_type)
                        if not left:
                            backend._omni_resolve_poll_failures(f"{resource_type}:poll", f"{backend.channel}:poll")
                            if on_complete:
                                on_complete(backend)
                except OmniError as error:
                    processed = left = 0
                    if on_error:
                        on_error(backend, error)
                    else:
                        _logger.warning("Backend %s: poll of %s failed: %s", backend.id, resource_type,
                                        mask_text(error.message))
                        self.env["omni.exception"]._omni_raise(
                            self.env._("Polling %(channel)s failed: %(error)s", channel=backend.channel,
                                       error=error.message),
                            backend=backend, category="channel_api", dedupe_key=f"{resource_type}:poll")
                time_left = Event._omni_commit_progress(processed, remaining=left + len(backends) - index - 1)
                if Event._omni_cron_budget_spent(time_left):
                    self.env.ref(cron_xmlid).sudo()._trigger()
                    return False
        return True

    # ---------------------------------------------------------- refund export

    @api.private
    def _omni_refund_push_start(self, event):
        """What every connector's refund export (a credit note made in Odoo -> the channel) starts
        with: the outgoing event's credit note, checked posted; whether it was pushed already (it is
        then bound to the refund it created); the order of this backend it refunds; its product lines
        (shipping, fee and rounding lines included) and each one's channel line id.

        :return: ``(move, sale, product_lines, line_refs)``: ``line_refs`` maps a credit note line
            id to the channel's id of the order line it refunds (from the sale line's binding
            ``<order id>/<line id>``; "" when it has none). ``sale`` is empty when the credit note
            was pushed already: the handler returns ``move`` and sends nothing.
        :raises PermanentError: the event's body is not a JSON object
        :raises StaleEvent: the credit note is gone or not posted, or refunds no order of this backend
        """
        self.ensure_one()
        payload = event._omni_payload_json()
        if not isinstance(payload, dict):
            raise PermanentError(self.env._("The body is not a JSON object."))
        move = self.env["account.move"].browse(payload.get("move_id") or 0).exists()
        if not move or move.state != "posted" or move.move_type != "out_refund":
            raise StaleEvent(self.env._("The credit note no longer exists or is not posted."))
        Binding = self.env["omni.binding"]
        sale = self.env["sale.order"]
        if Binding._omni_external_ids(self, move):
            return move, sale, move.invoice_line_ids.browse(), {}
        product_lines = move.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        sale = product_lines.sale_line_ids.order_id.filtered(lambda order: order.omni_backend_id == self)[:1]
        if not sale:
            raise StaleEvent(self.env._(
                "Credit note %(move)s is not linked to an order of %(backend)s.", move=move.name, backend=self.name))
        sale_refs = Binding._omni_external_ids(self, product_lines.sale_line_ids)
        line_refs = {}
        for line in product_lines:
            external = sale_refs.get(line.sale_line_ids[:1].id) or ""
            line_refs[line.id] = external.split("/", 1)[1] if "/" in external else ""
        return move, sale, product_lines, line_refs

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
