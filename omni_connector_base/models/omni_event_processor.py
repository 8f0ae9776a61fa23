"""The event processor: claim ready events, apply them one transaction each, record the outcome.

Part of ``omni.event`` (see ``omni_event.py`` for the fields, intake and actions). Claiming walks
the queue's indexes in order (next due event, "is an earlier event of the same resource
unfinished?", then the ``FOR UPDATE SKIP LOCKED`` row lock), so its cost does not grow with the
backlog; the row lock held for the duration is the lease.
"""

import logging
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..pipeline.backoff import retry_delay
from ..pipeline.errors import BusinessError, PermanentError, StaleEvent, TransientError
from ..pipeline.masking import exception_summary, mask_text
from .omni_event import ORDER_HOLDING_STATES

# The model's one logger, wherever its code sits: what log filters and tests name.
_logger = logging.getLogger(__name__.replace("omni_event_processor", "omni_event"))

# Database errors that a fresh attempt usually does not meet again.
TRANSIENT_DB_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.UniqueViolation,  # two workers creating the same row: the retry finds it
)
# Conflicts with a concurrent transaction: the same work in a new transaction usually succeeds.
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)
# Consecutive claim conflicts with other workers before a cron run yields and re-triggers.
MAX_CLAIM_CONFLICTS = 20
# A cron run writes its progress record at most this often (it commits every event).
PROGRESS_INTERVAL_SECONDS = 1.0
# Events read per step of the claim: the head of the queue is nearly always claimable at once.
CLAIM_PAGE = 20
# Above this many ready events, the other processor crons are woken to share the queue.
SCALE_OUT_BACKLOG = 20
# Back to the planner's default after the claim's page (see _omni_claim).
RESET_SORT = SQL("SET LOCAL enable_sort = DEFAULT;")

_expecting = threading.local()


class _ExpectedConflictFilter(logging.Filter):
    """Drop odoo.sql_db's "bad query" error line for a conflict the processor expects and handles.

    Only in the thread that set the flag, only for the concurrency errors: every other failing query
    is still logged. (``mute_logger`` would silence the logger for every thread of the server.)
    """

    def filter(self, record):
        if not getattr(_expecting, "conflicts", False) or record.levelno < logging.ERROR:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        return not (str(record.msg).startswith("bad query") and any(
            isinstance(arg, CONCURRENCY_ERRORS) for arg in args))


_SQL_LOGGER = logging.getLogger("odoo.sql_db")
if not any(type(f).__name__ == "_ExpectedConflictFilter" for f in _SQL_LOGGER.filters):  # once per process
    _SQL_LOGGER.addFilter(_ExpectedConflictFilter())


@contextmanager
def expecting_conflicts():
    """Within this block, a concurrency error of this thread's queries is not logged as a server error:
    the caller catches it and does the work again."""
    previous = getattr(_expecting, "conflicts", False)
    _expecting.conflicts = True
    try:
        yield
    finally:
        _expecting.conflicts = previous


class OmniEvent(models.Model):
    _inherit = "omni.event"  # the processor in a file of its own; pylint: disable=consider-merging-classes-inherited

    # -------------------------------------------------------------- processor

    @api.model
    def _omni_claim(self, limit=1, direction=None, backend_ids=None, active_backend_ids=None):
        """Lock and return up to ``limit`` ready events.

        Ready: pending or retry whose time has come, of an active backend, and with no earlier
        unfinished (pending, retry, blocked) event of the same resource. ``SKIP LOCKED`` lets
        several workers share the queue without waiting on each other; the lock lasts until
        the transaction ends, so a crashed worker's events are claimable again at once.

        Small statements walking indexes in order rather than one query with an anti-join: a queue
        table's statistics are stale right after a burst (the last ANALYZE saw an empty queue), and
        the planner then evaluated that anti-join for every queued event against every other one,
        so a claim cost grew with the square of the backlog (19 ms at 300 queued events, measured).
        Here each statement reads a page of the queue or probes one resource, whatever the
        statistics say.
        """
        self.env["omni.event"].flush_model()
        if active_backend_ids is None:
            active_backend_ids = self._omni_active_backend_ids()
        active = [backend_id for backend_id in active_backend_ids if not backend_ids or backend_id in backend_ids]
        if not active:
            return self.browse()
        now = fields.Datetime.now()
        filters = [
            SQL("e.state IN ('pending', 'retry')"),
            SQL("COALESCE(e.next_attempt_at, e.received_at) <= %s", now),
            SQL("e.backend_id = ANY(%s)", active),
        ]
        if direction:
            filters.append(SQL("e.direction = %s", direction))
        claimed, after = [], None
        while len(claimed) < limit:
            page = filters + ([SQL("(COALESCE(e.next_attempt_at, e.received_at), e.id) > (%s, %s)", *after)]
                              if after else [])
            # The one plan that stays cheap with any backlog walks the claim index in queue order and
            # stops after a page. With statistics that believe the queue is empty, the planner rates
            # "read every queued event, then sort" as cheap as that walk; forbidding the sort for this
            # one statement leaves it the walk.
            # The setting travels with the statements around it (one round trip each, not three):
            # set before the page's SELECT, reset before the next statement, whichever it is.
            self.env.cr.execute(SQL(
                """
                SET LOCAL enable_sort = off;
                SELECT e.id, e.backend_id, e.direction, e.resource_key,
                       COALESCE(e.source_ts, e.received_at), COALESCE(e.next_attempt_at, e.received_at)
                  FROM omni_event e
                 WHERE %s
                 ORDER BY COALESCE(e.next_attempt_at, e.received_at), e.id
                 LIMIT %s
                """,
                SQL(" AND ").join(page), CLAIM_PAGE,
            ))
            candidates = self.env.cr.fetchall()
            reset = RESET_SORT
            for event_id, backend_id, event_direction, resource_key, source_ts, due in candidates:
                after = (due, event_id)
                status = self._omni_try_lock(event_id, backend_id, event_direction, resource_key, source_ts,
                                             prefix=reset)
                reset = None
                if status == "ok":
                    claimed.append(event_id)
                    if len(claimed) == limit:
                        break
            if reset is not None:
                self.env.cr.execute(reset)
            if len(candidates) < CLAIM_PAGE:
                break
        return self.browse(claimed)

    @api.model
    def _omni_try_lock(self, event_id, backend_id, direction, resource_key, source_ts, prefix=None):
        """The one claim step the cron and *Process Now* share: ``"ok"`` when the event is now locked
        by this transaction, ``"waiting"`` when an earlier event of its resource is unfinished,
        ``"busy"`` when another worker holds it (or it is no longer pending or retrying).

        The locking read also fetches the event's fields into the cache (what processing it reads
        first), so the lock and the read are one statement. ``prefix`` (a statement such as the
        claim's setting reset) is sent in the same round trip as the first statement here.
        """
        if resource_key:
            earlier = self._omni_has_earlier_unfinished(backend_id, direction, resource_key, source_ts, event_id,
                                                        prefix=prefix)
            prefix = None
            if earlier:
                return "waiting"
        columns = self._omni_lock_columns()
        # A conflict with another worker is expected under load and handled by the caller.
        self.env.cr.execute(SQL(
            "%s SELECT id, %s FROM omni_event WHERE id = %s AND state IN ('pending', 'retry') "
            "FOR UPDATE SKIP LOCKED", prefix or SQL(), SQL(", ").join(SQL.identifier(f.name) for f in columns),
            event_id), log_exceptions=False)
        row = self.env.cr.fetchone()
        if not row:
            return "busy"
        record = self.browse(row[0])
        for field, value in zip(columns, row[1:], strict=True):
            field._insert_cache(record, [value])  # never overwrites what the cache already holds
        return "ok"

    def _omni_lock_columns(self):
        """The fields the ORM would prefetch on the first read of an event (stored columns)."""
        return [field for field in self._fields.values()
                if field.store and field.column_type and field.prefetch is True and field.name != "id"
                and not field.translate]

    @api.model
    def _omni_active_backend_ids(self):
        self.env["omni.backend"].flush_model(["active"])  # a channel archived or reactivated just now
        self.env.cr.execute(SQL("SELECT id FROM omni_backend WHERE active"))
        return [row[0] for row in self.env.cr.fetchall()]

    def _omni_has_earlier_unfinished(self, backend_id, direction, resource_key, source_ts, event_id, prefix=None):
        """Whether an earlier event of the same resource is still pending, retrying or blocked."""
        self.env.cr.execute(SQL(
            """
            %s
            SELECT 1 FROM omni_event p
             WHERE p.backend_id = %s AND p.direction = %s AND p.resource_key = %s
               AND p.state IN %s
               AND (COALESCE(p.source_ts, p.received_at), p.id) < (%s, %s)
             LIMIT 1
            """,
            prefix or SQL(), backend_id, direction, resource_key, ORDER_HOLDING_STATES, source_ts, event_id,
        ))
        return bool(self.env.cr.fetchone())

    @api.model
    def _omni_ready_count(self):
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM omni_event WHERE state IN ('pending', 'retry') "
                "AND COALESCE(next_attempt_at, received_at) <= %s",
                fields.Datetime.now(),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _cron_process(self, batch_limit=None):
        """Cron entry point: claim, apply and commit events one by one until none is ready.

        One transaction per event, so a failing event never rolls back another. Stops early
        (and re-triggers itself) before the cron's time budget runs out.
        """
        ready = self._omni_ready_count()
        if ready > SCALE_OUT_BACKLOG:
            self._omni_wake_other_workers()
        self._omni_commit_progress(remaining=ready)
        active_backends = self._omni_active_backend_ids()  # read once: a run lasts seconds
        processed = conflicts = unreported = 0
        reported_at = time.monotonic()
        while batch_limit is None or processed < batch_limit:
            try:
                event = self._omni_claim(limit=1, active_backend_ids=active_backends)
            except psycopg2.errors.SerializationFailure:
                # REPEATABLE READ: a row in the scan was changed by another worker after our
                # snapshot. Start a new transaction and claim again; give up after a few.
                self.env.cr.rollback()
                conflicts += 1
                if self._omni_conflicts_exhausted(conflicts):
                    break
                continue
            if not event:
                break
            try:
                # The outcome (event, exceptions, metrics) is written after the handler's own savepoint:
                # another worker may have changed the same rows (an exception shared by two events, a
                # metrics minute) since this transaction began. Then nothing of this event is kept, it
                # is committed as it was (still due) and claimed again in a new transaction.
                with expecting_conflicts(), self.env.cr.savepoint():  # the savepoint flushes on exit
                    event._omni_process()
            except CONCURRENCY_ERRORS as error:
                _logger.info("omni.event %s: its outcome met a concurrent change (%s): it will be processed again",
                             event.id, type(error).__name__)
                self._omni_commit_only()
                conflicts += 1
                if self._omni_conflicts_exhausted(conflicts):
                    break
                continue
            processed += 1
            unreported += 1
            # Commit every event; write the progress record (two statements) once a second.
            if time.monotonic() - reported_at >= PROGRESS_INTERVAL_SECONDS:
                time_left = self._omni_commit_progress(unreported)
                unreported, reported_at = 0, time.monotonic()
            else:
                time_left = self._omni_commit_only()
            if self._omni_cron_budget_spent(time_left):
                self.env.ref("omni_connector_base.cron_omni_event_process")._trigger()
                break
        if unreported:
            self._omni_commit_progress(unreported)
        self._omni_schedule_next_retry()
        return processed

    @api.model
    def _omni_conflicts_exhausted(self, conflicts):
        """After too many conflicts with other workers, yield: re-trigger the cron and stop this run."""
        if conflicts <= MAX_CLAIM_CONFLICTS:
            return False
        self.env.ref("omni_connector_base.cron_omni_event_process")._trigger()
        self._omni_commit_progress()
        return True

    @api.model
    def _omni_commit_only(self):
        """In a cron run: commit, and return what is left of the run's time budget. Elsewhere
        (a button, a test) leave the transaction to the caller: unlimited budget."""
        if not self.env.context.get("ir_cron_progress_id"):
            return float("inf")
        # One transaction per event is the processor's contract (ir.cron._commit_progress commits
        # the same way); only the progress record is written less often.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        return max(self.env.context.get("cron_end_time", float("inf")) - time.monotonic(), 0)

    @api.model
    def _omni_wake_other_workers(self):
        """Trigger every other cron running the processor: they claim disjoint events."""
        current = self.env.context.get("cron_id")
        crons = (
            self.env["ir.cron"]
            .sudo()
            .search(
                [("model_id.model", "=", self._name), ("code", "=", "model._cron_process()"), ("id", "!=", current)]
            )
        )
        for cron in crons:
            cron._trigger()

    @api.model
    def _omni_commit_progress(self, processed=0, remaining=None):
        """Commit and report progress when running as a cron; otherwise leave the transaction
        to the caller (a button, a test) and report an unlimited time budget."""
        if not self.env.context.get("ir_cron_progress_id"):
            return float("inf")
        return self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    @api.model
    def _omni_cron_budget_spent(self, time_left):
        """Whether a cron run must stop: ``time_left`` is what ``_omni_commit_progress`` returned.

        Odoo gives each cron job a budget of a few seconds (``cron_end_time``) and runs a job
        again at once when it stopped with work remaining; a run keeps going until that budget is
        spent, one item at a time (stopping earlier would pay the job's bookkeeping per item).
        """
        return time_left <= 0

    @api.model
    def _omni_schedule_next_retry(self):
        """Make sure the cron wakes up when the earliest retry becomes due."""
        self.env.cr.execute(SQL("SELECT min(next_attempt_at) FROM omni_event WHERE state = 'retry'"))
        due = self.env.cr.fetchone()[0]
        if due:
            cron = self.env.ref("omni_connector_base.cron_omni_event_process", raise_if_not_found=False)
            if cron and due > fields.Datetime.now():
                cron.sudo()._trigger(at=due)

    def _omni_process(self):
        """Apply claimed events (each in a savepoint) and record each outcome on it.

        The caller commits; the outcome is written whatever the handler did, so a failure
        is always visible on the event and, when a person must act, in the exception queue.
        """
        for event in self:
            event._omni_process_one()

    def _omni_process_one(self):
        self.ensure_one()
        backend = self.backend_id.with_company(self.company_id)
        event = self.with_company(self.company_id)
        attempts = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                known = event._omni_check_stale()
                if event.direction == "out":
                    backend._omni_check_pause(event.topic)  # the circuit breaker (omni_backend_kit.py)
                if known is not None:
                    # The handler's importer need not read the same binding again (see _omni_order_binding).
                    backend = backend.with_context(omni_known_binding=known)
                result = backend._omni_handle_event(event)
                self.env.flush_all()
        except StaleEvent as outcome:
            self._omni_finish("skipped", attempts, error=outcome.message)
        except BusinessError as outcome:
            self._omni_finish("blocked", attempts, error=outcome.message)
            self.env["omni.exception"]._omni_raise_for_event(self, outcome)
        except PermanentError as outcome:
            self._omni_finish("dead", attempts, error=outcome.message)
            self.env["omni.exception"]._omni_raise_for_event(self, outcome)
        except TransientError as outcome:
            backend._omni_apply_error_pause(outcome)  # after the rollback, so the pause is kept
            self._omni_fail_transient(attempts, outcome.message, outcome.retry_after, outcome)
        except UserError as error:
            # Odoo's own business rules refused (a locked period, a missing account...): a
            # person must act, retrying alone would fail the same way.
            self._omni_finish("blocked", attempts, error=str(error))
            self.env["omni.exception"]._omni_raise_for_event(
                self, BusinessError(self.env._("Odoo refused the change: %s", error), category="validation")
            )
        except TRANSIENT_DB_ERRORS as error:
            self._omni_fail_transient(attempts, self.env._("Database conflict: %s", error.pgerror or error), None, None)
        except Exception as error:
            # Type and stack only: the message may quote the customer (see exception_summary).
            _logger.error("omni.event %s: unexpected error in handler: %s", self.id, exception_summary(error))
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            self._omni_fail_transient(attempts, self.env._("Unexpected error: %s", detail), None, None)
        else:
            values = {}
            if result:
                values = {"res_model": result._name, "res_id": result[:1].id}
            self._omni_finish("done", attempts, **values)
            self._omni_open_exceptions()._omni_auto_resolve()
        # Per-minute aggregates (outcome, the handler's API calls) in the event's own transaction.
        self.env["omni.metric.minute"]._omni_flush_calls(self.backend_id, outcome=self.state)

    def _omni_open_exceptions(self):
        """Open or assigned exceptions of this event (one indexed read, no ORM prefetch)."""
        self.env["omni.exception"].flush_model(["event_id", "state"])
        self.env.cr.execute(SQL(
            "SELECT id FROM omni_exception WHERE event_id = %s AND state IN ('open', 'assigned')", self.id))
        return self.env["omni.exception"].browse([row[0] for row in self.env.cr.fetchall()])

    def _omni_fail_transient(self, attempts, message, retry_after, outcome):
        backend = self.backend_id
        if attempts >= backend.max_attempts:
            self._omni_finish(
                "dead",
                attempts,
                error=self.env._("Gave up after %(n)s attempts. Last error: %(error)s", n=attempts, error=message),
            )
            self.env["omni.exception"]._omni_raise_for_event(
                self,
                outcome or TransientError(message),
                category="channel_api" if outcome else "other",
                severity="error",
            )
            return
        delay = retry_delay(attempts, backend.retry_base_delay, retry_after)
        self.write(
            {
                "state": "retry",
                "attempts": attempts,
                "last_error": mask_text(message),
                "next_attempt_at": fields.Datetime.now() + timedelta(seconds=delay),
            }
        )

    def _omni_finish(self, state, attempts, error=None, **values):
        values.update(
            state=state,
            attempts=attempts,
            processed_at=fields.Datetime.now(),
            next_attempt_at=False,
            last_error=mask_text(error) if error else False,
        )
        self.write(values)

    def _omni_check_stale(self):
        """Skip an incoming event older than what its binding has already seen.

        Returns what it read, ``(backend id, resource model, resource key, binding id or 0)``, or
        None when the event has no resource to check.
        """
        if self.direction != "in" or not (self.source_ts and self.resource_model and self.resource_key):
            return None
        if self.resource_model == "sale.order" and self.topic.startswith("refunds/"):
            # Stored before refunds carried their own model: a refund is never a version of its order.
            return None
        binding = (
            self.env["omni.binding"]
            ._omni_bindings(self.backend_id, self.resource_model, [self.resource_key])
            .get(self.resource_key)
        )
        if binding and binding.external_updated_at and binding.external_updated_at > self.source_ts:
            raise StaleEvent(
                self.env._(
                    "A newer version (%(newer)s) was already applied; this one is from %(older)s.",
                    newer=binding.external_updated_at,
                    older=self.source_ts,
                )
            )
        return (self.backend_id.id, self.resource_model, self.resource_key, binding.id if binding else 0)
