"""Omnichannel -> Overview: the last payout of each channel's payout accounts, and its list."""

from odoo import api, fields, models
from odoo.tools import SQL


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    ov_last_payout = fields.Date(string="Last Payout", compute="_compute_ov_last_payout",
                                 help="Date of the last payout of the channel's payout accounts.")

    @api.depends_context("uid")
    def _compute_ov_last_payout(self):
        ids = [backend_id for backend_id in self.ids if isinstance(backend_id, int)]
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "SELECT a.backend_id, max(s.payout_date) FROM omni_settlement s "
            "JOIN omni_settlement_account a ON a.id = s.payout_account_id WHERE a.backend_id = ANY(%s) GROUP BY 1",
            ids))
        last = dict(self.env.cr.fetchall())
        for backend in self:
            backend.ov_last_payout = last.get(backend.id) or False

    def action_ov_payouts(self):
        self.ensure_one()
        return self._ov_action("omni_reconciliation.action_omni_settlement", [
            ("payout_account_id.backend_id", "=", self.id)], self.env._("%s: payouts", self.name))
