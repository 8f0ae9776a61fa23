"""What every marketplace channel (Amazon, eBay) adds to the backend: its marketplaces, and the
tax lookup of marketplace-collected tax (``lib/collected_tax.py``)."""

from odoo import api, fields, models

# Context key set by a marketplace handler while it imports an order whose taxes the
# marketplace collected: the id of the ``omni.marketplace`` whose collected tax to use.
COLLECTED_TAX_CONTEXT = "omni_collected_tax_marketplace_id"
# Context key naming the ``omni.marketplace`` of the order being imported (warehouse, team,
# pricelist of the marketplace).
MARKETPLACE_CONTEXT = "omni_marketplace_id"


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    marketplace_ids = fields.One2many(
        "omni.marketplace", "backend_id", string="Marketplaces", context={"active_test": False},
        help="The marketplaces this seller account sells on, each with its currency, pricelist, warehouse, "
        "sales team and treatment of marketplace-collected tax. Orders of a marketplace not listed are "
        "blocked with an exception until it is added.",
    )

    @api.private
    def _omni_marketplace(self, marketplace_ref):
        """The active marketplace of this account with the channel's id ``marketplace_ref``, or an
        empty recordset."""
        self.ensure_one()
        return self.marketplace_ids.filtered(lambda m: m.active and m.marketplace_ref == marketplace_ref)[:1]

    def _omni_tax_for(self, percent, included):
        marketplace_id = self.env.context.get(COLLECTED_TAX_CONTEXT)
        if marketplace_id:
            return self.env["omni.marketplace"].browse(marketplace_id)._omni_collected_tax_for(percent, included)
        return super()._omni_tax_for(percent, included)
