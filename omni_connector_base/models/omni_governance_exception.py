"""The exception queue's governance category: risky orders held for review.

A hold is an exception of its own category ("Risky order") with two actions: release (the
order is confirmed by the channel's workflow) and cancel (in Odoo and on the channel).
"""

from odoo import fields, models
from odoo.exceptions import UserError


class OmniExceptionGovernance(models.Model):
    _inherit = "omni.exception"

    category = fields.Selection(selection_add=[("risk", "Risky order")], ondelete={"risk": "set default"})

    def _omni_held_order(self):
        self.ensure_one()
        if self.category != "risk" or self.res_model != "sale.order" or not self.res_id:
            raise UserError(self.env._("This exception holds no order for review."))
        sale = self.env["sale.order"].browse(self.res_id).exists()
        if not sale:
            raise UserError(self.env._("The held order no longer exists."))
        return sale

    def action_risk_release(self):
        """Release the held order: the channel's workflow confirms it."""
        for exception in self:
            exception._omni_held_order().action_omni_release()
        return True

    def action_risk_cancel(self):
        """Cancel the held order in Odoo and on the channel (asks why)."""
        self.ensure_one()
        return self._omni_held_order().action_omni_reject()
