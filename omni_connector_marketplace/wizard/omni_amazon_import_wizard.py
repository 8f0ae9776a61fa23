"""Import the Amazon orders updated since a moment (the poll's checkpoint moved back, its cron run now)."""

from datetime import timedelta

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.models.omni_backend_kit import DEFAULT_OVERLAP_MINUTES

from ..models.amazon_sync import POLL_RESOURCE, UPDATED_BEFORE_LAG


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
        """Move the poll's checkpoint back to ``since`` and run the poll cron now: it reads the orders page
        by page (its progress shows on the scheduled action) and the event processor imports them."""
        self.ensure_one()
        backend = self.backend_id.sudo()
        if backend.channel != "amazon":
            raise UserError(self.env._("Choose an Amazon seller account."))
        if self.since >= fields.Datetime.now() - UPDATED_BEFORE_LAG:
            raise UserError(self.env._("Amazon answers up to two minutes ago: choose an earlier moment."))
        overlap = backend._omni_checkpoint(POLL_RESOURCE).overlap_minutes if backend._omni_checkpoint(
            POLL_RESOURCE) else DEFAULT_OVERLAP_MINUTES
        # The poll starts at checkpoint minus overlap: exactly ``since``.
        backend._omni_checkpoint_set(POLL_RESOURCE, checkpoint=self.since + timedelta(minutes=overlap or 0),
                                     overlap_minutes=overlap or 0)
        backend.amazon_poll_resume = False
        self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders").sudo()._trigger()
        return backend._amazon_notify(
            self.env._("Amazon import started"),
            self.env._("Orders updated since %s are being read; follow the progress on the scheduled action "
                       "'Amazon: poll orders' and in the events.", self.since))
