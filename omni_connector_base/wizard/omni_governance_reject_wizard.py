"""Why a held order or refund is rejected: the reason is kept on the record and in its chatter."""

from odoo import api, fields, models
from odoo.exceptions import UserError

TARGET_MODELS = ("sale.order", "account.move")


class OmniGovernanceRejectWizard(models.TransientModel):
    _name = "omni.governance.reject.wizard"
    _description = "Omnichannel: reject a held order or refund"

    res_model = fields.Char(required=True, readonly=True)
    res_id = fields.Integer(required=True, readonly=True)
    record_name = fields.Char(readonly=True, string="Record")
    reason = fields.Text(required=True, help="Kept on the record and in its chatter.")

    @api.model
    def _omni_open(self, record):
        """The wizard's action for ``record`` (a held order or credit note)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_res_model": record._name,
                "default_res_id": record.id,
                "default_record_name": record.display_name,
            },
        }

    def action_reject(self):
        self.ensure_one()
        if self.res_model not in TARGET_MODELS:
            raise UserError(self.env._("Nothing to reject here."))
        reason = (self.reason or "").strip()
        if not reason:
            raise UserError(self.env._("Say why it is rejected."))
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            raise UserError(self.env._("The record no longer exists."))
        record._omni_governance_reject(reason)
        return {"type": "ir.actions.act_window_close"}
