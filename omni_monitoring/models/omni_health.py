"""``GET /omni/health``: named checks, each ``ok`` or ``fail``; no personal data (ids and counts only)."""

from odoo import api, fields, models
from odoo.tools import SQL

from .omni_metrics import PROCESSOR_CRON
from .res_config_settings import CRON_LATE_PARAM, DEFAULT_CRON_LATE_MINUTES


class OmniHealth(models.AbstractModel):
    _name = "omni.health"
    _description = "Omnichannel Health Checks"

    @api.private
    @api.model
    def _omni_health(self, now=None):
        now = now or fields.Datetime.now()
        checks = [self._omni_check_database(), self._omni_check_processor(now), self._omni_check_pauses(now)]
        return {"status": "ok" if all(check["status"] == "ok" for check in checks) else "fail", "checks": checks}

    def _omni_check_database(self):
        self.env.cr.execute(SQL("SELECT 1"))
        return {"name": "database", "status": "ok" if self.env.cr.fetchone() == (1,) else "fail"}

    def _omni_check_processor(self, now):
        limit = int(self.env["ir.config_parameter"].sudo().get_param(CRON_LATE_PARAM) or DEFAULT_CRON_LATE_MINUTES)
        rows = {row[0]: row for row in self.env["omni.metrics"]._omni_cron_rows(now)}
        row = rows.get(PROCESSOR_CRON)
        if not row or not row[2]:
            return {"name": "processor_cron", "status": "fail", "detail": "the event processor cron is not active"}
        lateness = row[5]
        return {"name": "processor_cron", "status": "ok" if lateness <= limit * 60 else "fail",
                "late_seconds": round(lateness), "limit_seconds": limit * 60}

    def _omni_check_pauses(self, now):
        self.env.cr.execute(SQL(
            "SELECT DISTINCT p.backend_id FROM omni_backend_pause p JOIN omni_backend b ON b.id = p.backend_id "
            "WHERE b.active AND p.open_until > %s ORDER BY 1", now))
        paused = [row[0] for row in self.env.cr.fetchall()]
        return {"name": "circuit_breaker", "status": "fail" if paused else "ok", "paused_backend_ids": paused}
