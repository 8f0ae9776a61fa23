"""Upload a settlement file (Amazon V2 flat-file report...) into a payout account."""

import base64

from odoo import fields, models
from odoo.exceptions import UserError


class OmniSettlementImportWizard(models.TransientModel):
    _name = "omni.settlement.import.wizard"
    _description = "Import a Payout File"

    payout_account_id = fields.Many2one("omni.settlement.account", required=True,
                                        help="The account the payout belongs to; its source decides the file format.")
    source = fields.Selection(related="payout_account_id.source")
    file = fields.Binary(required=True, help="Amazon: the GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2 report (TSV).")
    filename = fields.Char(help="Name of the uploaded file.")

    def action_import(self):
        self.ensure_one()
        content = base64.b64decode(self.file or b"")
        if not content:
            raise UserError(self.env._("The file is empty."))
        try:
            settlement = self.payout_account_id._omni_import_file(content, self.filename)
        except ValueError as error:
            raise UserError(self.env._("This file could not be read: %s", error)) from error
        return {"type": "ir.actions.act_window", "res_model": "omni.settlement", "res_id": settlement.id,
                "view_mode": "form", "target": "current"}
