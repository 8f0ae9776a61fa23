"""Which WooCommerce product (or variation) an Odoo product is, and the stock last sent to it."""

from odoo import api, fields, models
from odoo.tools import SQL


class OmniWooCommerceProduct(models.Model):
    _name = "omni.woocommerce.product"
    _description = "WooCommerce Product Binding"
    _order = "backend_id, sku"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    product_id = fields.Many2one(
        "product.product", check_company=True, index=True, ondelete="cascade",
        help="The Odoo product this WooCommerce product or variation is. Empty: no Odoo product has its SKU.",
    )
    sku = fields.Char(string="SKU", index=True)
    name = fields.Char()
    wc_product_id = fields.Integer(string="Product ID", required=True, help="The WooCommerce product id.")
    wc_variation_id = fields.Integer(
        string="Variation ID", help="The WooCommerce variation id; 0 for a simple product."
    )
    export_stock = fields.Boolean(default=True, help="Publish this product's free quantity to the store.")
    last_sent_qty = fields.Integer(
        string="Last Sent Quantity", readonly=True, help="The stock quantity last written to WooCommerce."
    )
    last_sent_at = fields.Datetime(readonly=True)

    _unique_target = models.Constraint(
        "UNIQUE(backend_id, wc_product_id, wc_variation_id)", "This WooCommerce product is already bound."
    )

    @api.model
    def _woocommerce_sync_products(self, backend, products):
        """Upsert the bindings of ``products`` (``[(product json, variation json or None)]``),
        matched to Odoo products by SKU. Returns ``{"total", "bound", "unmatched"}``."""
        skus = {((variation or product).get("sku") or "").strip() for product, variation in products}
        skus.discard("")
        found = self.env["product.product"].with_company(backend.company_id).search(
            [("default_code", "in", list(skus)), ("company_id", "in", (False, backend.company_id.id))]
        )
        by_sku = {product.default_code: product for product in found}
        existing = {
            (binding.wc_product_id, binding.wc_variation_id): binding
            for binding in self.search([("backend_id", "=", backend.id)])
        }
        to_create, bound, unmatched = [], 0, []
        for product, variation in products:
            source = variation or product
            sku = (source.get("sku") or "").strip()
            odoo = by_sku.get(sku)
            key = (int(product["id"]), int(variation["id"]) if variation else 0)
            values = {
                "sku": sku or False,
                "name": (source.get("name") or product.get("name") or "")[:200],
                "product_id": odoo.id if odoo else False,
            }
            if odoo:
                bound += 1
            else:
                unmatched.append(sku)
            if key in existing:
                existing[key].write(values)
            else:
                to_create.append(dict(values, backend_id=backend.id, wc_product_id=key[0], wc_variation_id=key[1]))
        if to_create:
            self.create(to_create)
        return {"total": len(products), "bound": bound, "unmatched": unmatched}

    def _woocommerce_mark_sent(self, quantities):
        """Record what was sent (``{binding id: quantity}``) in one statement."""
        if not quantities:
            return
        self.flush_model(["last_sent_qty", "last_sent_at"])
        ids = list(quantities)
        self.env.cr.execute(
            SQL(
                "UPDATE omni_woocommerce_product AS b SET last_sent_qty = v.qty, "
                "last_sent_at = now() at time zone 'UTC' "
                "FROM unnest(%s::int[], %s::int[]) AS v(id, qty) WHERE b.id = v.id",
                ids,
                [int(quantities[i]) for i in ids],
            )
        )
        self.browse(ids).invalidate_recordset(["last_sent_qty", "last_sent_at"])
