"""The *Trace* smart button on payouts and payout lines (``omni_monitoring``'s ``omni.trace``)."""

from odoo import models


class OmniSettlement(models.Model):
    _name = "omni.settlement"
    _inherit = ["omni.settlement", "omni.trace.mixin"]


class OmniSettlementLine(models.Model):
    _name = "omni.settlement.line"
    _inherit = ["omni.settlement.line", "omni.trace.mixin"]
