"""Reconciliation's extension of the exception queue."""

from odoo import fields, models


class OmniException(models.Model):
    _inherit = "omni.exception"

    def _omni_resolve_with(self, note):
        """Resolve with an explanation in the chatter (reconciliation resolves its own exceptions)."""
        if not self:
            return
        self.sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
        for exception in self.sudo():
            exception.message_post(body=note)
