"""Import the Amazon orders updated since a moment (the poll's checkpoint moved back, its cron run now)."""

from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import UserError


class OmniAmazonImportWizard(models.TransientModel):
    _name = "omni.amazon.import.wizard"
    _description = "Import Amazon Orders Updated Since"

    backend_id = fields.Many2one("omni.backend", required=True, domain=[("channel", "=", "amazon")])
    since = fields.Datetime(
        required=True, default=lambda self: fields.Datetime.now() - timedelta(days=7),
        help="Orders updated since this moment are read again (Amazon keeps orders two years). Orders already "
        "imported are recognised and not duplicated.",
    )

    def action_import(self):
        """Base's catch-up import (``omni.backend._omni_catch_up``): the poll's checkpoint moves back to
        ``since`` and the poll cron runs now; it reads the orders page by page at Amazon's rate (progress on
        the account's *Poll Progress* and on the scheduled action) and the event processor imports them."""
        self.ensure_one()
        backend = self.backend_id.sudo()
        if backend.channel != "amazon":
            raise UserError(self.env._("Choose an Amazon seller account."))
        backend._omni_catch_up(self.since)
        return backend._amazon_notify(
            self.env._("Amazon import started"),
            self.env._("Orders updated since %s are being read; follow the progress on the account (Poll "
                       "Progress) and in the events.", self.since))
