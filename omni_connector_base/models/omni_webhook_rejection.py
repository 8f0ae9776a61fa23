from odoo import api, fields, models


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
        self.sudo().create(
            {
                "backend_id": backend_id,
                "reason": reason,
                "http_status": http_status,
                "remote_addr": mask_address(remote_addr),
                "topic": (topic or "")[:128] or False,
                "body_size": body_size,
            }
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
