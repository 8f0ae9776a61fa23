from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class OmniProductMapWizard(models.TransientModel):
    """Resolve "Unknown SKU" exceptions: map each unknown channel item to a product, or create
    it, then replay the blocked order."""

    _name = "omni.product.map.wizard"
    _description = "Map Channel Items to Products"

    exception_id = fields.Many2one("omni.exception", required=True, ondelete="cascade")
    backend_id = fields.Many2one(related="exception_id.backend_id")
    line_ids = fields.One2many(
        "omni.product.map.wizard.line", "wizard_id", compute="_compute_line_ids", store=True, readonly=False
    )

    @api.depends("exception_id")
    def _compute_line_ids(self):
        for wizard in self:
            items = (wizard.exception_id.action_data or {}).get("lines", [])
            wizard.line_ids = [Command.clear()] + [
                Command.create(
                    {
                        "sku": item.get("sku"),
                        "barcode": item.get("barcode"),
                        "variant_external_id": item.get("variant_external_id"),
                        "name": item.get("name") or item.get("sku"),
                        "price": float(item.get("price") or 0),
                    }
                )
                for item in items
            ]

    def action_apply(self):
        self.ensure_one()
        Binding = self.env["omni.binding"]
        backend = self.exception_id.backend_id
        for line in self.line_ids:
            if not line.product_id and not line.create_product:
                raise UserError(self.env._("Choose a product or tick 'Create' for %s.", line.name))
            product = line.product_id or self.env["product.product"].create(
                {
                    "name": line.name,
                    "default_code": line.sku or False,
                    "barcode": line.barcode or False,
                    "list_price": line.price,
                    "type": "consu",
                }
            )
            if line.variant_external_id:
                Binding._omni_bind(backend, product, line.variant_external_id)
            if line.sku and product.default_code != line.sku:
                Binding._omni_bind(backend, product, f"sku:{line.sku}")
        self.exception_id.message_post(
            body=self.env._("Channel items mapped by %s; order replayed.", self.env.user.name)
        )
        self.exception_id.action_retry()
        return {"type": "ir.actions.act_window_close"}


class OmniProductMapWizardLine(models.TransientModel):
    _name = "omni.product.map.wizard.line"
    _description = "Channel Item to Map"

    wizard_id = fields.Many2one("omni.product.map.wizard", required=True, ondelete="cascade")
    sku = fields.Char(string="SKU", readonly=True)
    barcode = fields.Char(readonly=True)
    variant_external_id = fields.Char(string="Channel Variant", readonly=True)
    name = fields.Char(readonly=True)
    price = fields.Float(readonly=True, digits="Product Price")
    product_id = fields.Many2one("product.product", help="The Odoo product this channel item is.")
    create_product = fields.Boolean(string="Create", help="Create a product with this SKU, name and price.")
