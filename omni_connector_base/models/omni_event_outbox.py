"""Batch outbox helpers on ``omni.event``: enqueue many, claim a batch, finish many.

For connectors whose channel takes many changes in one call (Shopify's
``inventorySetQuantities`` takes 250 quantities): one statement queues a thousand events, one
claim locks a batch of them, and one write records the batch's outcome.
"""

import json
import uuid

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL

from ..pipeline.masking import mask_text
from .omni_event import ORDER_HOLDING_STATES, _json_default


class OmniEvent(models.Model):
    _inherit = "omni.event"  # files by role; pylint: disable=consider-merging-classes-inherited

    @api.model
    @api.private
    def _omni_enqueue_outgoing_many(self, backend, topic, items, resource_model=None):
        """Queue one outgoing event per resource in one statement; return how many were created.

        :param items: ``{resource_key: payload}`` (payload: a JSON-serialisable dict)

        Coalesced as a stock level needs it: a resource that already has a pending, unclaimed
        event is not queued again (its handler reads the current state when it pushes); one a
        worker is pushing right now (locked) gets a new event, so no change is ever lost.
        """
        if not items:
            return 0
        keys = [str(key) for key in items]
        payloads = [json.dumps(items[key], default=_json_default, sort_keys=True) for key in items]
        idempotency = [f"out:{topic}:{uuid.uuid4().hex}" for _key in keys]
        self.flush_model()
        now = fields.Datetime.now()
        # Raw SQL for one round trip; it sets every column the ORM would (no computed field is stored).
        self.env.cr.execute(
            SQL(
                """
                WITH queued AS (
                    SELECT resource_key FROM omni_event
                     WHERE backend_id = %(backend)s AND direction = 'out' AND topic = %(topic)s
                       AND resource_key = ANY(%(keys)s) AND state = 'pending' AND attempts = 0
                       FOR UPDATE SKIP LOCKED
                )
                INSERT INTO omni_event (backend_id, company_id, direction, topic, idempotency_key, resource_model,
                                        resource_key, source_ts, payload, payload_encoding, state, attempts,
                                        received_at, create_uid, write_uid, create_date, write_date)
                SELECT %(backend)s, %(company)s, 'out', %(topic)s, t.ikey, %(rmodel)s, t.key, %(now)s, t.payload,
                       'text', 'pending', 0, %(now)s, %(uid)s, %(uid)s, %(now)s, %(now)s
                  FROM unnest(%(keys)s::varchar[], %(payloads)s::text[], %(ikeys)s::varchar[]) AS t(key, payload, ikey)
                 WHERE t.key NOT IN (SELECT resource_key FROM queued)
                RETURNING id
                """,
                backend=backend.id,
                company=backend.company_id.id,
                topic=topic,
                keys=keys,
                payloads=payloads,
                ikeys=idempotency,
                rmodel=resource_model,
                now=now,
                uid=self.env.uid or SUPERUSER_ID,
            )
        )
        created = len(self.env.cr.fetchall())
        if created:
            self._omni_trigger_processor()
        return created

    @api.model
    @api.private
    def _omni_claim_batch(self, backend, topic, limit, exclude=None):
        """Lock up to ``limit`` more ready outgoing events of ``backend`` and ``topic``.

        The processor's readiness rule: due, and the earliest unfinished event of its
        resource. Locked ``FOR UPDATE SKIP LOCKED``: a parallel worker takes the next batch.
        """
        if limit <= 0:
            return self.browse()
        # The head (earliest unfinished event) of each resource, in one ordered pass over the
        # processor's resource index: linear whatever the table's statistics say (a correlated
        # NOT EXISTS planned on stale statistics after a bulk enqueue turns quadratic).
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
            WITH heads AS (
                SELECT DISTINCT ON (resource_key) id, state, COALESCE(next_attempt_at, received_at) AS due
                  FROM omni_event
                 WHERE backend_id = %(backend)s AND direction = 'out' AND state IN %(holding)s
                   AND resource_key IS NOT NULL
                 ORDER BY resource_key, COALESCE(source_ts, received_at), id
            )
            SELECT e.id
              FROM omni_event e
              JOIN heads h ON h.id = e.id
             WHERE e.topic = %(topic)s AND h.state IN ('pending', 'retry') AND h.due <= %(now)s
               AND e.id != ALL(%(exclude)s)
             ORDER BY e.id
             LIMIT %(limit)s
               FOR UPDATE OF e SKIP LOCKED
            """,
                backend=backend.id,
                topic=topic,
                now=fields.Datetime.now(),
                exclude=list(exclude.ids if exclude else []) or [0],
                holding=ORDER_HOLDING_STATES,
                limit=limit,
            )
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.private
    def _omni_finish_many(self, state, error=None, next_attempt_at=None):
        """Record one outcome for a whole batch in one statement (the caller's transaction).

        ``done``, ``skipped``, ``blocked``, ``dead``: finished now; ``retry``: due again at
        ``next_attempt_at`` (default now). Counts the attempt. Files no exception: a caller
        that blocks a batch raises for the event it is processing.
        """
        if not self:
            return
        now = fields.Datetime.now()
        retry = state == "retry"
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE omni_event SET state = %s, attempts = attempts + 1, processed_at = %s, "
                "next_attempt_at = %s, last_error = %s, write_date = %s, write_uid = %s WHERE id IN %s",
                state,
                SQL("processed_at") if retry else now,
                (next_attempt_at or now) if retry else None,
                mask_text(error) if error else None,
                now,
                self.env.uid,
                tuple(self.ids),
            )
        )
        for backend in self.backend_id:  # the outcomes in the per-minute aggregates, in this transaction
            self.env["omni.metric.minute"]._omni_flush_calls(
                backend, outcome=state, count=len(self.filtered(lambda e, b=backend: e.backend_id == b)), calls=False)
        self.invalidate_recordset()
