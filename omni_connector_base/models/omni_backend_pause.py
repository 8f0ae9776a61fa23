"""The per-backend circuit breaker, in the database so every worker and node sees it."""

from odoo import fields, models


class OmniBackendPause(models.Model):
    """A backend's pushes of one scope (an outgoing topic, or ``*`` for all) wait until ``open_until``.

    Its own small table, written by one ``INSERT ... ON CONFLICT`` per trip: workers pushing
    events of one backend in parallel never write (nor lock) the backend row. Rows past
    ``open_until`` are inert; the next trip reuses them.
    """

    _name = "omni.backend.pause"
    _description = "Omnichannel Backend Pause"
    _order = "open_until desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    scope = fields.Char(required=True, readonly=True, help="The outgoing topic paused, or * for every push.")
    open_until = fields.Datetime(string="Paused Until", required=True, readonly=True)
    reason = fields.Char(readonly=True)

    _unique_backend_scope = models.Constraint("UNIQUE(backend_id, scope)", "One pause per backend and scope.")
