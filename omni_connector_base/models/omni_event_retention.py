"""Governance, payload retention: raw payloads of finished events lose their personal data once the
channel's *Payload Retention* ends; dead, blocked and queued events keep theirs until resolved.

``_cron_strip_payloads`` (daily) walks the ``done``/``skipped`` events processed before each backend's
cutoff whose payload was not stripped yet, in batches: one ``SELECT ... FOR UPDATE SKIP LOCKED`` reads a
batch, ``pipeline/pii.py`` (pure) strips each payload, one ``UPDATE ... FROM (VALUES ...)`` writes the
batch back with ``payload_stripped_at``; each batch is committed with the cron's progress.
"""

from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL

from ..pipeline.pii import strip_payload

STRIP_BATCH = 500


class OmniBackendPayloadRetention(models.Model):
    # The payload retention of omni.backend, beside the cron that applies it.
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    payload_retention_days = fields.Integer(
        string="Payload Retention (days)",
        default=14,
        help="Finished events (done, skipped) processed longer ago than this have the personal data of their raw "
        "payload removed (names, e-mails, phones, street addresses, notes, IP addresses); ids, totals, SKUs, "
        "statuses and timestamps stay for the trace. Dead, blocked and queued events keep theirs until "
        "resolved. 0: payloads are kept until the events are purged (Retention Days).",
    )

    _check_payload_retention = models.Constraint(
        "CHECK (payload_retention_days >= 0)", "The payload retention cannot be negative."
    )


class OmniEventRetention(models.Model):
    # One model in files by role: the payload retention of omni.event.
    _inherit = "omni.event"  # pylint: disable=consider-merging-classes-inherited

    def _cron_strip_payloads(self, batch_size=STRIP_BATCH):
        """Remove the personal data of finished payloads past their backend's payload retention.

        :return: the number of events stripped in this run (the cron runs again at once while some
            remain and its time budget is spent)
        """
        self.flush_model()
        now = fields.Datetime.now()
        conditions = []
        backends = self.env["omni.backend"].sudo().with_context(active_test=False)
        # a handful of channel accounts: reading them all is cheap
        for backend in backends.search([("payload_retention_days", ">", 0)]):
            cutoff = now - timedelta(days=backend.payload_retention_days)
            conditions.append(SQL("(backend_id = %s AND processed_at < %s)", backend.id, cutoff))
        if not conditions:
            return 0
        where = SQL("state IN ('done', 'skipped') AND payload_stripped_at IS NULL AND (%s)",
                    SQL(" OR ").join(conditions))
        self.env.cr.execute(SQL("SELECT count(*) FROM omni_event WHERE %s", where))
        self._omni_commit_progress(remaining=self.env.cr.fetchone()[0])
        stripped = 0
        while True:
            self.env.cr.execute(SQL(
                "SELECT id, payload, payload_encoding FROM omni_event WHERE %s ORDER BY id LIMIT %s "
                "FOR UPDATE SKIP LOCKED", where, batch_size))
            rows = self.env.cr.fetchall()
            if not rows:
                break
            values = []
            for event_id, payload, encoding in rows:
                text = "" if encoding == "base64" else strip_payload(payload)[0]
                values.append(SQL("(%s, %s)", event_id, text))
            self.env.cr.execute(SQL(
                """
                UPDATE omni_event e SET payload = v.payload, payload_encoding = 'text', payload_stripped_at = %s,
                                        write_date = %s
                  FROM (VALUES %s) AS v(id, payload) WHERE e.id = v.id
                """, now, now, SQL(", ").join(values)))
            stripped += len(rows)
            time_left = self._omni_commit_progress(len(rows))
            if len(rows) < batch_size or self._omni_cron_budget_spent(time_left):
                break
        self.invalidate_model(["payload", "payload_encoding", "payload_stripped_at"])
        return stripped
