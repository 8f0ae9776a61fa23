"""Product matching report: the channel's SKUs against Odoo's products, with bulk actions.

Built from the backend's ``_omni_channel_products()`` hook, so every connector gets it. Each line
is one of: matched (one Odoo product by binding, SKU or barcode), missing in Odoo, missing on the
channel (an Odoo product sold nowhere on it), duplicate (a SKU twice on the channel or on two Odoo
products) and barcode conflict (the SKU finds one product, the barcode another). "Create products"
creates the missing ones; "Map" binds the chosen product to the channel's variant (the order
importer then finds it by binding first).
"""

from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError

STATUSES = [
    ("matched", "Matched"),
    ("missing_odoo", "Missing in Odoo"),
    ("missing_channel", "Missing on the Channel"),
    ("duplicate", "Duplicate"),
    ("barcode_conflict", "Barcode Conflict"),
]


class OmniProductMatch(models.TransientModel):
    _name = "omni.product.match"
    _description = "Product matching report"

    backend_id = fields.Many2one("omni.backend", required=True, readonly=True)
    line_ids = fields.One2many("omni.product.match.line", "match_id", string="Lines")
    summary = fields.Char(compute="_compute_summary", help="How many lines of each status.")

    @api.depends("line_ids.status")
    def _compute_summary(self):
        labels = dict(STATUSES)
        for report in self:
            counts = defaultdict(int)
            for line in report.line_ids:
                counts[line.status] += 1
            report.summary = ", ".join(f"{labels[key]}: {counts[key]}" for key, _label in STATUSES) if counts else \
                self.env._("The channel lists no product.")

    @api.model
    def _omni_build(self, backend):
        backend.ensure_one()
        channel_rows = backend._omni_channel_products()
        Product = self.env["product.product"].with_company(backend.company_id)
        skus = {row.get("sku") for row in channel_rows if row.get("sku")}
        barcodes = {row.get("barcode") for row in channel_rows if row.get("barcode")}
        by_sku, by_barcode = defaultdict(list), defaultdict(list)
        for product in Product.search(["|", ("default_code", "in", list(skus)), ("barcode", "in", list(barcodes))]):
            if product.default_code:
                by_sku[product.default_code].append(product)
            if product.barcode:
                by_barcode[product.barcode].append(product)
        bound = self.env["omni.binding"]._omni_lookup(
            backend, "product.product", [str(row.get("external_id") or "") for row in channel_rows])
        sku_count = defaultdict(int)
        for row in channel_rows:
            if row.get("sku"):
                sku_count[row["sku"]] += 1
        lines, seen = [], set()
        for row in channel_rows:
            sku, barcode = row.get("sku") or "", row.get("barcode") or ""
            external_id = str(row.get("external_id") or "")
            product = bound.get(external_id)
            sku_products, barcode_products = by_sku.get(sku, []), by_barcode.get(barcode, [])
            note = ""
            if product:
                status = "matched"
                note = self.env._("Bound to the channel's variant.")
            elif sku and (sku_count[sku] > 1 or len(sku_products) > 1):
                status = "duplicate"
                note = self.env._("SKU %(sku)s: %(channel)s on the channel, %(odoo)s in Odoo.", sku=sku,
                                  channel=sku_count[sku], odoo=len(sku_products))
                product = sku_products[0] if len(sku_products) == 1 else False
            elif sku_products and barcode_products and barcode_products[0] != sku_products[0]:
                status = "barcode_conflict"
                note = self.env._("The SKU finds %(sku_product)s, the barcode %(barcode_product)s.",
                                  sku_product=sku_products[0].display_name,
                                  barcode_product=barcode_products[0].display_name)
                product = sku_products[0]
            elif sku_products or barcode_products:
                status, product = "matched", (sku_products or barcode_products)[0]
                note = self.env._("By SKU.") if sku_products else self.env._("By barcode.")
            else:
                status = "missing_odoo"
            if product:
                seen.add(product.id)
            lines.append({"status": status, "external_id": external_id, "sku": sku, "barcode": barcode,
                          "name": row.get("name") or sku, "product_id": product.id if product else False,
                          "note": note})
        on_sale = Product.search([("sale_ok", "=", True), ("default_code", "!=", False), ("id", "not in", list(seen)),
                                  ("type", "=", "consu")])
        for product in on_sale:
            lines.append({"status": "missing_channel", "sku": product.default_code, "barcode": product.barcode or "",
                          "name": product.display_name, "product_id": product.id,
                          "note": self.env._("Sold in Odoo, not listed on the channel.")})
        return self.create({"backend_id": backend.id, "line_ids": [fields.Command.create(v) for v in lines]})

    def action_open_lines(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Product matching: %s", self.backend_id.name),
            "res_model": "omni.product.match.line",
            "view_mode": "list",
            "domain": [("match_id", "=", self.id)],
            "context": {"search_default_group_status": 1},
            "target": "current",
        }


class OmniProductMatchLine(models.TransientModel):
    _name = "omni.product.match.line"
    _description = "Product matching line"
    _order = "status, sku"

    match_id = fields.Many2one("omni.product.match", required=True, ondelete="cascade", index=True)
    backend_id = fields.Many2one(related="match_id.backend_id")
    status = fields.Selection(STATUSES, required=True, help="What the report found for this SKU.")
    external_id = fields.Char(string="Channel Variant", help="The variant's id on the channel.")
    sku = fields.Char(string="SKU")
    barcode = fields.Char()
    name = fields.Char(string="Channel Name")
    product_id = fields.Many2one("product.product", string="Odoo Product",
                                 help="The product this SKU is (or will be) mapped to. Choose one, then Map.")
    note = fields.Char(help="Why the line has its status.")

    def action_create_products(self):
        """Create an Odoo product for each selected line missing in Odoo, and map it."""
        lines = self.filtered(lambda line: line.status == "missing_odoo" and not line.product_id)
        if not lines:
            raise UserError(self.env._("Select lines 'Missing in Odoo' to create their products."))
        for line in lines:
            company = line.backend_id.company_id
            line.product_id = self.env["product.product"].with_company(company).create({
                "name": line.name or line.sku, "default_code": line.sku or False, "barcode": line.barcode or False,
                "type": "consu", "is_storable": True, "sale_ok": True,
            })
        return lines.action_map()

    def action_map(self):
        """Bind each selected line's product to its channel variant."""
        lines = self.filtered(lambda line: line.product_id and line.external_id)
        if not lines:
            raise UserError(self.env._("Select lines with an Odoo product and a channel variant to map them."))
        Binding = self.env["omni.binding"]
        for line in lines:
            Binding._omni_bind(line.backend_id, line.product_id, line.external_id)
            line.write({"status": "matched", "note": self.env._("Mapped.")})
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("Product matching"), "type": "success",
                           "message": self.env._("%s product(s) mapped.", len(lines)),
                           "next": {"type": "ir.actions.client", "tag": "soft_reload"}}}
