import hashlib
import hmac
import secrets

from odoo import api, fields, models
from odoo.exceptions import AccessError

TOKEN_HASH_PARAM = "omni_monitoring.metrics_token_hash"  # noqa: S105 - a parameter name, not a secret
CRON_LATE_PARAM = "omni_monitoring.health_cron_late_minutes"
DEFAULT_CRON_LATE_MINUTES = 10


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    omni_metrics_token = fields.Char(
        string="New Metrics Token", groups="base.group_system",
        help="Bearer token Prometheus sends to GET /omni/metrics (Authorization: Bearer <token>). Only its "
        "SHA-256 hash is stored: type a new token (or use Generate) and save; it cannot be read back.")
    omni_metrics_token_set = fields.Boolean(
        string="Metrics Token Set", compute="_compute_omni_metrics_token_set",
        help="Whether a token protects /omni/metrics. Without one, every scrape is refused (401).")
    omni_health_cron_late_minutes = fields.Integer(
        string="Processor Late After (minutes)", config_parameter=CRON_LATE_PARAM,
        default=DEFAULT_CRON_LATE_MINUTES,
        help="GET /omni/health answers 503 when the event processor cron is late by more than this.")

    def _compute_omni_metrics_token_set(self):
        token_set = bool(self.env["ir.config_parameter"].sudo().get_param(TOKEN_HASH_PARAM))
        for settings in self:
            settings.omni_metrics_token_set = token_set

    def set_values(self):
        result = super().set_values()
        for settings in self:
            if settings.omni_metrics_token:
                token_hash = hash_token(settings.omni_metrics_token)
                self.env["ir.config_parameter"].sudo().set_param(TOKEN_HASH_PARAM, token_hash)
                settings.omni_metrics_token = False
        return result

    def action_omni_generate_metrics_token(self):
        """Generate a random token, store its hash and show it once."""
        if not self.env.user._is_system():
            raise AccessError(self.env._("Only system administrators can set the metrics token."))
        token = secrets.token_urlsafe(32)
        self.env["ir.config_parameter"].sudo().set_param(TOKEN_HASH_PARAM, hash_token(token))
        return {
            "type": "ir.actions.client", "tag": "display_notification",
            "params": {"title": self.env._("New metrics token (shown once)"), "message": token, "sticky": True,
                       "type": "warning"},
        }

    @api.private
    @api.model
    def _omni_check_metrics_token(self, token):
        """Whether ``token`` is the configured metrics token (constant-time comparison of the hashes)."""
        stored = self.env["ir.config_parameter"].sudo().get_param(TOKEN_HASH_PARAM)
        return bool(stored and token) and hmac.compare_digest(stored, hash_token(token))
