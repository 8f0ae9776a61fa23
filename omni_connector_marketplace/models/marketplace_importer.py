"""The shared order importer, per marketplace: the warehouse, sales team and pricelist of the
marketplace an order was sold on (context ``omni_marketplace_id``) instead of the account's."""

from odoo import fields, models

from .marketplace_backend import COLLECTED_TAX_CONTEXT, MARKETPLACE_CONTEXT


class OmniOrderImporter(models.AbstractModel):
    _inherit = "omni.order.importer"

    def _omni_marketplace_of_context(self):
        marketplace_id = self.env.context.get(MARKETPLACE_CONTEXT)
        return self.env["omni.marketplace"].browse(marketplace_id) if marketplace_id else None

    def _omni_pricelist(self, backend, currency_code):
        marketplace = self._omni_marketplace_of_context()
        if marketplace and marketplace.pricelist_id and marketplace.pricelist_id.currency_id.name == currency_code:
            return marketplace.pricelist_id
        return super()._omni_pricelist(backend, currency_code)

    def _omni_create_order(self, backend, order, digest=None):
        sale = super()._omni_create_order(backend, order, digest)
        marketplace = self._omni_marketplace_of_context()
        if marketplace:
            values = {}
            warehouse = self.env.context.get("omni_force_warehouse_id") or marketplace.warehouse_id.id
            if warehouse and sale.warehouse_id.id != warehouse:
                values["warehouse_id"] = warehouse
            if marketplace.team_id:
                values["team_id"] = marketplace.team_id.id
            if values:
                sale.write(values)
        return sale

    def _omni_resolve_taxes(self, backend, order, planned):
        # The backend's tax lookup reads the collected-tax context (marketplace_backend.py).
        if self.env.context.get(COLLECTED_TAX_CONTEXT):
            backend = backend.with_context(**{COLLECTED_TAX_CONTEXT: self.env.context[COLLECTED_TAX_CONTEXT]})
        return super()._omni_resolve_taxes(backend, order, planned)


class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    omni_marketplace_id = fields.Many2one(
        "omni.marketplace", string="Marketplace", index="btree_not_null", copy=False, readonly=True,
        help="The marketplace of the seller account this order was sold on (Amazon.com, Amazon.de, eBay US...).",
    )
    omni_collected_tax_memo = fields.Text(
        string="Tax Collected by the Marketplace", copy=False, readonly=True,
        help="Tax the marketplace collected and remits itself (Amazon marketplace facilitator tax, eBay collect "
        "and remit), left out of this order by the marketplace's 'Excluded' treatment.",
    )
