"""eBay as a payout source of omni_reconciliation: eBay payouts are fetched through the eBay
channel set on the payout account (``omni.backend._omni_fetch_settlements``)."""

from odoo import api, fields, models


class OmniSettlementAccount(models.Model):
    _inherit = "omni.settlement.account"

    source = fields.Selection(selection_add=[("ebay", "eBay")], ondelete={"ebay": "cascade"})

    @api.model
    def _omni_default_values(self, company, source="stripe", name=None):
        values = super()._omni_default_values(company, source=source, name=name)
        if source == "ebay" and not values.get("gateway"):
            values["gateway"] = "ebay"
        return values

    @api.onchange("source")
    def _onchange_source_ebay(self):
        if self.source == "ebay" and not self.gateway:
            self.gateway = "ebay"
