from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL

# Rows deleted per statement (and committed, in a cron run) by the purge.
PURGE_BATCH = 5000


class OmniWebhookRejection(models.Model):
    """Refused webhook and API calls (bad or missing signature or key, oversize body), counted per
    backend, reason and minute.

    A flood of forgeries costs one row per minute and reason, not one per request: each refusal is
    one ``INSERT ... ON CONFLICT DO UPDATE`` that adds to the minute's counter. The backend shows
    the last 24 hours' count and administrators can see who is knocking (the last address seen).
    """

    _name = "omni.webhook.rejection"
    _description = "Omnichannel Rejected Webhooks"
    _order = "minute desc, id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    reason = fields.Char(required=True)
    minute = fields.Datetime(
        index=True, help="The minute (UTC, seconds cut) these refusals happened in; one row per backend, reason "
        "and minute.")
    count = fields.Integer(default=1, help="Requests refused for this reason in this minute.")
    http_status = fields.Integer()
    remote_addr = fields.Char(help="Last client address seen, with its last part masked.")
    topic = fields.Char(help="Last topic seen.")
    body_size = fields.Integer(help="Largest body seen (bytes).")

    _unique_minute = models.Constraint(
        "UNIQUE(backend_id, reason, minute)", "Refusals are counted in one row per backend, reason and minute."
    )

    @api.model
    def _omni_log(self, backend_id, reason, http_status, remote_addr=None, topic=None, body_size=0):
        """Count one refusal: a single upsert, so refused requests cost less than real ones.

        Returns True for the first refusal of this backend, reason and minute (the caller logs
        that one only: a flood of forgeries must not flood the log either).

        Raw SQL on purpose (a flood must not go through the ORM); it writes every stored column of
        this model itself: ``company_id`` (the related field, read from the backend), the counter
        and the audit columns. No other module adds computed fields to this table.
        """
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO omni_webhook_rejection AS r (backend_id, company_id, reason, minute, count, http_status,
                                                         remote_addr, topic, body_size, create_uid, write_uid,
                                                         create_date, write_date)
                SELECT b.id, b.company_id, %(reason)s, %(minute)s, 1, %(status)s, %(addr)s, %(topic)s, %(size)s,
                       %(uid)s, %(uid)s, %(now)s, %(now)s
                  FROM omni_backend b WHERE b.id = %(backend)s
                ON CONFLICT (backend_id, reason, minute) DO UPDATE
                   SET count = r.count + 1,
                       http_status = EXCLUDED.http_status,
                       remote_addr = COALESCE(EXCLUDED.remote_addr, r.remote_addr),
                       topic = COALESCE(EXCLUDED.topic, r.topic),
                       body_size = GREATEST(EXCLUDED.body_size, r.body_size),
                       write_uid = EXCLUDED.write_uid,
                       write_date = EXCLUDED.write_date
                RETURNING r.count = 1
                """,
                backend=backend_id,
                reason=reason[:256],
                minute=now.replace(second=0, microsecond=0),
                status=http_status,
                addr=mask_address(remote_addr) or None,
                topic=(topic or "")[:128] or None,
                size=body_size or 0,
                uid=self.env.uid or SUPERUSER_ID,
                now=now,
            )
        )
        row = self.env.cr.fetchone()
        self.invalidate_model()
        return bool(row and row[0])

    @api.model
    def _omni_purge(self, days=30):
        """Delete rows older than ``days``, in batches; in a cron run each batch is committed and
        reported (``ir.cron._commit_progress``), and the run stops when its time budget is spent."""
        Event = self.env["omni.event"]
        cutoff = fields.Datetime.subtract(fields.Datetime.now(), days=days)
        where = SQL("COALESCE(minute, create_date) < %s", cutoff)
        self.flush_model()
        self.env.cr.execute(SQL("SELECT count(*) FROM omni_webhook_rejection WHERE %s", where))
        Event._omni_commit_progress(remaining=self.env.cr.fetchone()[0])
        purged = 0
        while True:
            self.env.cr.execute(SQL(
                "DELETE FROM omni_webhook_rejection WHERE id IN "
                "(SELECT id FROM omni_webhook_rejection WHERE %s LIMIT %s FOR UPDATE SKIP LOCKED)",
                where, PURGE_BATCH,
            ))
            deleted = self.env.cr.rowcount
            purged += deleted
            time_left = Event._omni_commit_progress(deleted)
            if deleted < PURGE_BATCH or Event._omni_cron_budget_spent(time_left):
                break
        self.invalidate_model()
        return purged


def mask_address(address):
    """``203.0.113.7`` -> ``203.0.113.x``; IPv6 keeps its first four groups."""
    if not address:
        return False
    if ":" in address:
        return ":".join(address.split(":")[:4]) + ":x"
    parts = address.split(".")
    return ".".join([*parts[:3], "x"]) if len(parts) == 4 else "x"
