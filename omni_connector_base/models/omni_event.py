import base64
import json
import logging
import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..pipeline.errors import ConcurrentDelivery, PermanentError
from .omni_access import check_omni_manager

_logger = logging.getLogger(__name__)

EVENT_STATES = [
    ("pending", "Pending"),
    ("done", "Done"),
    ("retry", "Retry"),
    ("blocked", "Blocked"),
    ("dead", "Dead"),
    ("skipped", "Skipped"),
]
# States that hold back later events of the same resource: they are applied in source order.
ORDER_HOLDING_STATES = ("pending", "retry", "blocked")
PURGE_BATCH = 1000
# A due trigger older than this no longer counts as "a wake-up is on its way".
TRIGGER_FRESH_SECONDS = 5


class OmniEvent(models.Model):
    """The durable inbox (webhooks, polled changes, API calls) and outbox (pushes to channels).

    Intake only stores and triggers; ``_cron_process`` claims events with
    ``FOR UPDATE SKIP LOCKED`` and applies them one transaction each. The row lock is the
    lease: a worker that dies releases it with its connection, so nothing is ever stuck
    "in progress".
    """

    _name = "omni.event"
    _description = "Omnichannel Event"
    _order = "id desc"
    _rec_name = "display_name"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    channel = fields.Selection(related="backend_id.channel")
    direction = fields.Selection([("in", "Incoming"), ("out", "Outgoing")], required=True, default="in", readonly=True)
    topic = fields.Char(required=True, readonly=True, help="What happened, in the channel's words (orders/create...).")
    idempotency_key = fields.Char(
        required=True,
        readonly=True,
        help="The channel's delivery id (or a digest of the body). A second delivery with the same "
        "key is acknowledged and ignored.",
    )
    resource_model = fields.Char(readonly=True, help="Odoo model the channel object maps to.")
    resource_key = fields.Char(
        index=True,
        readonly=True,
        help="The channel object this event is about (e.g. the order id). Events of one object are "
        "applied one at a time, in source order.",
    )
    source_ts = fields.Datetime(
        string="Source Time",
        readonly=True,
        help="When the channel changed the object (its updated-at), in UTC. Decides the order of "
        "application and what is stale.",
    )
    payload = fields.Text(
        readonly=True,
        groups="base.group_system",
        help="The body exactly as received (base64 when it was not UTF-8 text). Only system administrators "
        "read it; once a finished event is past its channel's payload retention, its personal data is removed "
        "(Personal Data Removed).",
    )
    payload_stripped_at = fields.Datetime(
        string="Personal Data Removed",
        readonly=True,
        copy=False,
        help="When the personal data of this finished event's payload was removed (the channel's payload "
        "retention); ids, totals, SKUs and timestamps stay. Such an event cannot be replayed.",
    )
    payload_encoding = fields.Selection([("text", "Text"), ("base64", "Base64")], default="text", readonly=True)
    headers = fields.Text(readonly=True, help="Channel headers kept for tracing (never signatures or keys).")
    state = fields.Selection(EVENT_STATES, required=True, default="pending", index=True, readonly=True)
    attempts = fields.Integer(default=0, readonly=True)
    next_attempt_at = fields.Datetime(readonly=True, help="Earliest time of the next attempt (UTC).")
    last_error = fields.Text(readonly=True)
    res_model = fields.Char(string="Result Model", readonly=True)
    res_id = fields.Many2oneReference(string="Result ID", model_field="res_model", readonly=True)
    received_at = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    processed_at = fields.Datetime(readonly=True)
    exception_ids = fields.One2many("omni.exception", "event_id", readonly=True)
    # Why a queued event does not move (computed on display: nothing to keep up to date).
    waiting_event_id = fields.Many2one(
        "omni.event",
        string="Waiting For",
        compute="_compute_queue_note",
        search="_search_waiting_event_id",
        help="The earlier unfinished event of the same object this one waits for: events of one object "
        "are applied in source order, so it flows once that event is done, skipped or dead.",
    )
    is_paused = fields.Boolean(
        string="Paused",
        compute="_compute_queue_note",
        search="_search_is_paused",
        help="Queued for an archived channel: nothing is processed until the channel is active again.",
    )
    queue_note = fields.Char(string="Queue Status", compute="_compute_queue_note")

    _unique_idempotency = models.Constraint(
        "UNIQUE(backend_id, idempotency_key)",
        "An event with this idempotency key was already received for this backend.",
    )
    # The claim query reads only ready events, oldest first.
    _claim_index = models.Index("(COALESCE(next_attempt_at, received_at), id) WHERE state IN ('pending', 'retry')")
    # The ordering guard looks up earlier unfinished events of the same resource.
    _resource_index = models.Index(
        "(backend_id, direction, resource_key, COALESCE(source_ts, received_at), id) "
        "WHERE state IN ('pending', 'retry', 'blocked')"
    )
    _purge_index = models.Index("(backend_id, processed_at) WHERE state IN ('done', 'skipped')")
    # The payload retention reads only finished events whose payload still holds personal data.
    _strip_index = models.Index(
        "(backend_id, processed_at) WHERE state IN ('done', 'skipped') AND payload_stripped_at IS NULL"
    )

    @api.depends("topic", "resource_key")
    def _compute_display_name(self):
        for event in self:
            event.display_name = f"{event.topic or ''} {event.resource_key or ''}".strip() or self.env._("Event")

    @api.depends("state", "backend_id.active", "resource_key", "source_ts")
    def _compute_queue_note(self):
        waiting = self._omni_waiting_for([event_id for event_id in self.ids if isinstance(event_id, int)])
        for event in self:
            queued = event.state in ("pending", "retry")
            blocker = self.browse(waiting.get(event.id) or [])
            event.waiting_event_id = blocker
            event.is_paused = queued and not event.backend_id.active
            if event.is_paused:
                event.queue_note = self.env._(
                    "Paused: the channel %s is archived; it resumes when the channel is active again.",
                    event.backend_id.name)
            elif blocker:
                event.queue_note = self.env._(
                    "Waiting for event %(id)s (%(state)s: %(name)s)", id=blocker.id,
                    state=dict(EVENT_STATES)[blocker.state], name=blocker.display_name)
            else:
                event.queue_note = False

    @api.model
    def _omni_waiting_for(self, event_ids=None):
        """``{event id: id of the earliest unfinished earlier event of its resource}`` for queued
        events that wait (all of them when ``event_ids`` is None). Walks the resource index."""
        if event_ids is not None and not event_ids:
            return {}
        self.flush_model(["state", "backend_id", "direction", "resource_key", "source_ts", "received_at"])
        scope = SQL("e.id = ANY(%s)", list(event_ids)) if event_ids is not None else SQL("TRUE")
        self.env.cr.execute(SQL(
            """
            SELECT e.id, w.id
              FROM omni_event e
             CROSS JOIN LATERAL (
                   SELECT p.id FROM omni_event p
                    WHERE p.backend_id = e.backend_id AND p.direction = e.direction
                      AND p.resource_key = e.resource_key AND p.state IN %s
                      AND (COALESCE(p.source_ts, p.received_at), p.id) < (COALESCE(e.source_ts, e.received_at), e.id)
                    ORDER BY COALESCE(p.source_ts, p.received_at), p.id
                    LIMIT 1) w
             WHERE %s AND e.state IN ('pending', 'retry') AND e.resource_key IS NOT NULL
            """,
            ORDER_HOLDING_STATES, scope,
        ))
        return dict(self.env.cr.fetchall())

    def _search_waiting_event_id(self, operator, value):
        if operator in ("=", "!="):
            values, positive = [value], operator == "="
        elif operator in ("in", "not in"):
            values, positive = list(value), operator == "in"
        else:
            return NotImplemented
        values = [getattr(item, "id", item) or False for item in values]
        waiting = self._omni_waiting_for()
        if False in values:  # "not waiting" is the complement of the (small) set of waiting events
            ids = [event_id for event_id, blocker in waiting.items() if blocker not in values]
            return [("id", "not in" if positive else "in", ids)]
        ids = [event_id for event_id, blocker in waiting.items() if blocker in values]
        return [("id", "in" if positive else "not in", ids)]

    def _search_is_paused(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            return NotImplemented
        wanted = bool(value) if operator in ("=", "!=") else True in value
        if operator in ("!=", "not in"):
            wanted = not wanted
        archived = self.env["omni.backend"].with_context(active_test=False).search([("active", "=", False)]).ids
        paused = ["&", ("state", "in", ("pending", "retry")), ("backend_id", "in", archived)]
        return paused if wanted else ["!", *paused]

    # ------------------------------------------------------------------ intake

    @api.model
    def _omni_store_incoming(self, backend, raw_body, values, headers_json=None):
        """Store a verified incoming message; return ``(event_id, is_new)``.

        One ``INSERT ... ON CONFLICT DO NOTHING``: a duplicate delivery (same idempotency key),
        even one racing the first in another worker, never creates a second event and never
        raises. The processor is triggered only for a new event.

        Past the ORM on purpose (intake must stay cheap and race-free). What it skips: ``create()``
        overrides of omni.event (none in this suite) and stored computed fields, of which omni.event
        has one, ``company_id`` (related to the backend), written here explicitly. A module adding
        a stored computed field to omni.event must not rely on it being set at intake.
        """
        payload, encoding = _encode_body(raw_body)
        insert = SQL(
            """
            INSERT INTO omni_event (backend_id, company_id, direction, topic, idempotency_key, resource_model,
                                    resource_key, source_ts, payload, payload_encoding, headers, state, attempts,
                                    received_at, create_uid, write_uid, create_date, write_date)
            VALUES (%(backend)s, %(company)s, 'in', %(topic)s, %(key)s, %(rmodel)s, %(rkey)s, %(ts)s, %(payload)s,
                    %(encoding)s, %(headers)s, 'pending', 0, %(now)s, %(uid)s, %(uid)s, %(now)s, %(now)s)
            ON CONFLICT (backend_id, idempotency_key) DO NOTHING
            RETURNING id
            """,
            backend=backend.id,
            company=backend.company_id.id,
            topic=values["topic"][:256],
            key=values["idempotency_key"][:512],
            rmodel=values.get("resource_model") or None,
            rkey=values.get("resource_key") or None,
            ts=values.get("source_ts") or None,
            payload=payload,
            encoding=encoding,
            headers=headers_json,
            now=fields.Datetime.now(),
            uid=self.env.uid or SUPERUSER_ID,
        )
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(insert, log_exceptions=False)
                row = self.env.cr.fetchone()
        except psycopg2.errors.SerializationFailure as error:
            # REPEATABLE READ: a concurrent delivery of this key committed after our snapshot.
            raise ConcurrentDelivery(values["idempotency_key"]) from error
        if row:
            self._omni_trigger_processor()
            return row[0], True
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omni_event WHERE backend_id = %s AND idempotency_key = %s",
                backend.id,
                values["idempotency_key"][:512],
            )
        )
        return self.env.cr.fetchone()[0], False

    @api.model
    def _omni_enqueue_outgoing(
        self, backend, topic, payload, resource_model=None, resource_key=None, idempotency_key=None, coalesce=False
    ):
        """Write an outgoing event in the caller's transaction (the outbox pattern).

        With ``coalesce``, a still-pending, unclaimed event of the same backend, topic and
        resource takes the new payload instead of queuing another push (stock levels: only the
        latest quantity matters). An event a worker is pushing right now is locked, so it is
        skipped and a new one is queued: no change is ever lost.
        """
        body = json.dumps(payload, default=_json_default, sort_keys=True)
        if coalesce and resource_key:
            self.flush_model()
            self.env.cr.execute(
                SQL(
                    """
                SELECT id FROM omni_event
                 WHERE backend_id = %s AND direction = 'out' AND topic = %s AND resource_key = %s
                   AND state = 'pending' AND attempts = 0
                 ORDER BY id DESC LIMIT 1
                   FOR UPDATE SKIP LOCKED
                """,
                    backend.id,
                    topic,
                    str(resource_key),
                )
            )
            row = self.env.cr.fetchone()
            if row:
                event = self.browse(row[0])
                event.sudo().write({"payload": body})
                return event
        if idempotency_key:
            existing = self.sudo().search(
                [("backend_id", "=", backend.id), ("idempotency_key", "=", idempotency_key)], limit=1
            )
            if existing:
                return existing  # the same push was already queued: never twice
        event = self.sudo().create(
            {
                "backend_id": backend.id,
                "direction": "out",
                "topic": topic,
                "resource_model": resource_model,
                "resource_key": str(resource_key) if resource_key else False,
                "idempotency_key": idempotency_key or f"out:{topic}:{uuid.uuid4().hex}",
                "payload": body,
                "source_ts": fields.Datetime.now(),
            }
        )
        self._omni_trigger_processor()
        return event

    @api.model
    def _omni_trigger_processor(self):
        """Wake the processor cron, unless a fresh wake-up is already due (keeps intake cheap).

        One statement: a trigger row is added only when none younger than a few seconds is
        waiting, so a burst of webhooks costs one trigger and one NOTIFY, and a trigger left
        behind by a stopped worker does not leave a restarted one waiting for its poll.
        """
        # Raw SQL into ir_cron_trigger skips ir.cron.trigger's ORM create, which has no computed
        # fields; the NOTIFY it would send is sent after commit (_notifydb below).
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "omni_connector_base.cron_omni_event_process", raise_if_not_found=False
        )
        if not cron_id:
            return
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
                SELECT %(cron)s, %(now)s, %(uid)s, %(uid)s, %(now)s, %(now)s
                 WHERE NOT EXISTS (SELECT 1 FROM ir_cron_trigger
                                    WHERE cron_id = %(cron)s AND call_at <= %(now)s AND call_at > %(fresh)s)
                RETURNING id
                """,
                cron=cron_id,
                now=now,
                fresh=now - timedelta(seconds=TRIGGER_FRESH_SECONDS),
                uid=self.env.uid or SUPERUSER_ID,
            )
        )
        if self.env.cr.fetchone():
            self.env.cr.postcommit.add(self.env["ir.cron"]._notifydb)

    # --------------------------------------------------------------- payload

    def _omni_payload_bytes(self):
        """The body as received; the pipeline reads it whoever runs it (the field is for system
        administrators only: a manager's *Process Now* or a handler must still read it)."""
        self.ensure_one()
        payload = self.sudo().payload
        if self.payload_encoding == "base64":
            return base64.b64decode(payload or "")
        return (payload or "").encode()

    def _omni_payload_json(self):
        """The body parsed as JSON, numbers with decimals as ``Decimal`` (money is never float).

        :raises PermanentError: quoting the parse error when the body is not JSON
        """
        self.ensure_one()
        if self.payload_encoding == "base64":
            raise PermanentError(self.env._("The body is not UTF-8 text, so it cannot be JSON."))
        try:
            return json.loads(self.sudo().payload or "", parse_float=Decimal)
        except (ValueError, RecursionError) as error:
            raise PermanentError(self.env._("The body is not valid JSON: %s", error)) from error

    # ----------------------------------------------------------------- actions

    def action_replay(self):
        """Queue the events again (from done, dead, blocked or skipped); safe to repeat.

        Handlers are idempotent (bindings and digests), so replaying a done event re-applies
        the same state and creates nothing twice.
        """
        check_omni_manager(self.env)
        stripped = self.filtered("payload_stripped_at")
        if stripped:
            raise UserError(self.env._(
                "Events %s have had their personal data removed (payload retention): they cannot be replayed.",
                ", ".join(str(event.id) for event in stripped)))
        replayable = self.filtered(lambda event: event.state in ("done", "dead", "blocked", "skipped", "retry"))
        if not replayable and self:
            raise UserError(self.env._("Only finished or failed events can be replayed; these are already queued."))
        replayable.sudo().write({"state": "pending", "attempts": 0, "next_attempt_at": False, "last_error": False})
        replayable._omni_note_replay()
        self._omni_trigger_processor()
        return True

    def _omni_note_replay(self):
        """Record who replayed what on the related open exceptions' chatter."""
        for exception in self.exception_ids.filtered(lambda exc: exc.state in ("open", "assigned")):
            exception.message_post(body=self.env._("Event replayed by %s.", self.env.user.name))

    def action_process_now(self):
        """Process these events now in this transaction (for a person testing a fix).

        Through the cron's own claim: an event a worker is applying right now (row locked), one
        waiting behind an earlier unfinished event of its resource, or one of an archived channel
        is left alone, and the person is told why. Only the wait for the next attempt is skipped.
        """
        check_omni_manager(self.env)
        self.flush_model()
        active = set(self._omni_active_backend_ids())
        outcomes = {"ok": self.browse(), "waiting": self.browse(), "busy": self.browse(), "paused": self.browse()}
        for event in self.filtered(lambda event: event.state in ("pending", "retry")):
            if event.backend_id.id not in active:
                outcome = "paused"
            else:
                outcome = self._omni_try_lock(event.id, event.backend_id.id, event.direction, event.resource_key,
                                              event.source_ts or event.received_at)
            outcomes[outcome] |= event
        outcomes["ok"].sudo()._omni_process()
        left = {name: events for name, events in outcomes.items() if name != "ok" and events}
        if not left:
            return True
        reasons = {
            "waiting": self.env._("waiting for an earlier event of the same object"),
            "busy": self.env._("being processed by a worker right now"),
            "paused": self.env._("their channel is archived"),
        }
        message = "; ".join(
            self.env._("%(count)s not processed: %(reason)s", count=len(events), reason=reasons[name])
            for name, events in left.items()
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("Process Now"), "message": message, "type": "warning", "sticky": False,
                       "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

    def action_open_result(self):
        self.ensure_one()
        if not self.res_model:
            raise UserError(self.env._("This event produced no record."))
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------------ purge

    @api.model
    def _cron_purge(self):
        """Delete finished events past their backend's retention, in batches with progress.

        Only ``done`` and ``skipped`` events go; dead and blocked events wait for a person, and
        exceptions are kept (their event link is cleared).
        """
        self.flush_model()
        conditions = []
        backends = self.env["omni.backend"].sudo().with_context(active_test=False)
        # a handful of channel accounts: reading them all is cheap
        for backend in backends.search([]):  # pylint: disable=no-search-all
            cutoff = fields.Datetime.now() - timedelta(days=backend.retention_days)
            conditions.append(SQL("(backend_id = %s AND processed_at < %s)", backend.id, cutoff))
        if not conditions:
            return 0
        where = SQL("state IN ('done', 'skipped') AND (%s)", SQL(" OR ").join(conditions))
        # DELETE past unlink(): skips unlink() overrides (none on omni.event) and the ORM's cleanup;
        # the one reference to events, omni.exception.event_id, is cleared by its foreign key
        # (ON DELETE SET NULL), and no computed field of another model depends on events.
        self.env.cr.execute(SQL("SELECT count(*) FROM omni_event WHERE %s", where))
        self._omni_commit_progress(remaining=self.env.cr.fetchone()[0])
        purged = 0
        while True:
            self.env.cr.execute(
                SQL(
                    "DELETE FROM omni_event WHERE id IN (SELECT id FROM omni_event WHERE %s LIMIT %s "
                    "FOR UPDATE SKIP LOCKED)",
                    where,
                    PURGE_BATCH,
                )
            )
            deleted = self.env.cr.rowcount
            purged += deleted
            time_left = self._omni_commit_progress(deleted)
            if deleted < PURGE_BATCH or self._omni_cron_budget_spent(time_left):
                break
        self.env["omni.webhook.rejection"]._omni_purge()
        self.invalidate_model()
        return purged


def _encode_body(raw_body):
    """Text as received when it is UTF-8 without NUL bytes (PostgreSQL text cannot hold them),
    else base64 — either way the exact bytes can be recovered."""
    if isinstance(raw_body, str):
        raw_body = raw_body.encode()
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw_body).decode(), "base64"
    if "\x00" in text:
        return base64.b64encode(raw_body).decode(), "base64"
    return text, "text"


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
