from odoo import fields, models


class OmniException(models.Model):
    _inherit = "omni.exception"

    category = fields.Selection(selection_add=[("monitoring", "Monitoring")], ondelete={"monitoring": "set default"})
