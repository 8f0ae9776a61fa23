"""Polling checkpoints: how far a backend's polling backstop has read, per resource type."""

from odoo import fields, models


class OmniSyncCheckpoint(models.Model):
    """One row per backend and resource type (``orders``, ``refunds``...).

    The next poll reads what changed after ``checkpoint - overlap``: the overlap covers clock
    differences and changes saved while the previous poll ran; re-read versions are recognised
    by the intake (idempotency keys) and change nothing. Kept off the backend row so a poll
    advancing its checkpoint never conflicts with a person editing the backend.
    """

    _name = "omni.sync.checkpoint"
    _description = "Omnichannel Polling Checkpoint"
    _order = "backend_id, resource_type"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    resource_type = fields.Char(required=True, help="What the poll reads (orders, refunds, fulfillments...).")
    checkpoint = fields.Datetime(string="Polled Up To", help="The start of the last successful poll (UTC).")
    overlap_minutes = fields.Integer(
        string="Overlap (min)", default=10, help="Each poll also re-reads this many minutes before the checkpoint."
    )

    resume_state = fields.Text(
        copy=False,
        help="Technical: where a poll read page by page stands between two pages (JSON: its window, the "
        "connector's next page, what it read and stored). A run interrupted by its time budget, a restart or a "
        "failed request resumes from the next page; cleared when the last page is read.",
    )

    _unique_backend_resource = models.Constraint(
        "UNIQUE(backend_id, resource_type)", "A backend has one checkpoint per resource type."
    )
    _check_overlap = models.Constraint(
        "CHECK (overlap_minutes IS NULL OR overlap_minutes >= 0)", "The poll overlap cannot be negative."
    )
