from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib.client import gid


class OmniShopifyLocation(models.Model):
    """A Shopify location and the Odoo stock location it stands for.

    Stock export publishes the free quantity of the Odoo location (and its children) to
    the Shopify location; Odoo deliveries from it are fulfilled on that location's
    fulfillment orders first.
    """

    _name = "omni.shopify.location"
    _description = "Shopify Location Mapping"
    _order = "backend_id, sequence, id"
    _check_company_auto = True

    backend_id = fields.Many2one(
        "omni.backend",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("channel", "=", "shopify")],
        help="The Shopify backend (shop) this location belongs to.",
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True, help="The backend's company.")
    sequence = fields.Integer(default=10, help="Order of preference when several locations could ship.")
    name = fields.Char(required=True, help="The location's name in Shopify, for people.")
    shopify_location_id = fields.Char(
        string="Shopify Location ID",
        required=True,
        help="The location's id in Shopify: 65544149001 or gid://shopify/Location/65544149001 (Settings > "
        "Locations; the number at the end of the location's admin URL).",
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse", check_company=True, help="The Odoo warehouse this Shopify location corresponds to."
    )
    location_id = fields.Many2one(
        "stock.location",
        string="Odoo Stock Location",
        compute="_compute_location_id",
        store=True,
        readonly=False,
        check_company=True,
        domain=[("usage", "=", "internal")],
        help="Whose free quantity (on hand minus reserved, this location and its children) is published to "
        "the Shopify location. Defaults to the warehouse's stock location.",
    )
    export_stock = fields.Boolean(default=True, help="Publish this location's quantities to Shopify.")

    _unique_location = models.Constraint(
        "UNIQUE(backend_id, shopify_location_id)", "This Shopify location is already mapped for this backend."
    )

    @api.depends("warehouse_id")
    def _compute_location_id(self):
        for mapping in self:
            if mapping.warehouse_id and not mapping.location_id:
                mapping.location_id = mapping.warehouse_id.lot_stock_id

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("shopify_location_id"):
                vals["shopify_location_id"] = self._shopify_normalize_id(vals["shopify_location_id"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("shopify_location_id"):
            vals = dict(vals, shopify_location_id=self._shopify_normalize_id(vals["shopify_location_id"]))
        return super().write(vals)

    @api.model
    def _shopify_normalize_id(self, value):
        value = str(value).strip()
        tail = value.rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise ValidationError(self.env._("'%s' is not a Shopify location id.", value))
        return gid("Location", tail)

    def _shopify_for_location(self, location):
        """The mapping whose Odoo location contains ``location`` (the deepest one), if any."""
        best = self.browse()
        for mapping in self.filtered("location_id"):
            if (
                location.parent_path
                and location.parent_path.startswith(mapping.location_id.parent_path)
                and (not best or len(mapping.location_id.parent_path) > len(best.location_id.parent_path))
            ):
                best = mapping
        return best
