"""The Trace window (see ``models/omni_trace.py``)."""

from odoo import fields, models


class OmniTraceView(models.TransientModel):
    _name = "omni.trace.view"
    _description = "Omnichannel Trace"

    res_model = fields.Char(readonly=True)
    res_id = fields.Integer(readonly=True)
    trace_html = fields.Html(readonly=True)
