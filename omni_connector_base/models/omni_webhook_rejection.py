from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL


class OmniWebhookRejection(models.Model):
    """One refused webhook call (bad or missing signature, oversize body).

    Insert-only, so concurrent rejections never contend on a counter row; the backend shows
    the last 24 hours' count and administrators can see who is knocking.
    """

    _name = "omni.webhook.rejection"
    _description = "Omnichannel Rejected Webhook"
    _order = "id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    reason = fields.Char(required=True)
    http_status = fields.Integer()
    remote_addr = fields.Char(help="Client address with its last part masked.")
    topic = fields.Char()
    body_size = fields.Integer()

    @api.model
    def _omni_log(self, backend_id, reason, http_status, remote_addr=None, topic=None, body_size=0):
        """One INSERT: refused requests (possibly a flood of forgeries) must cost less than real ones."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO omni_webhook_rejection (backend_id, company_id, reason, http_status, remote_addr, topic,
                                                    body_size, create_uid, write_uid, create_date, write_date)
                SELECT b.id, b.company_id, %(reason)s, %(status)s, %(addr)s, %(topic)s, %(size)s,
                       %(uid)s, %(uid)s, %(now)s, %(now)s
                  FROM omni_backend b WHERE b.id = %(backend)s
                """,
                backend=backend_id,
                reason=reason[:256],
                status=http_status,
                addr=mask_address(remote_addr) or None,
                topic=(topic or "")[:128] or None,
                size=body_size,
                uid=self.env.uid or SUPERUSER_ID,
                now=now,
            )
        )

    @api.model
    def _omni_purge(self, days=30):
        old = self.sudo().search([("create_date", "<", fields.Datetime.subtract(fields.Datetime.now(), days=days))])
        old.unlink()
        return len(old)


def mask_address(address):
    """``203.0.113.7`` -> ``203.0.113.x``; IPv6 keeps its first four groups."""
    if not address:
        return False
    if ":" in address:
        return ":".join(address.split(":")[:4]) + ":x"
    parts = address.split(".")
    return ".".join([*parts[:3], "x"]) if len(parts) == 4 else "x"
