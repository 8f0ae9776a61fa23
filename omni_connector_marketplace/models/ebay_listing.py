"""eBay listings (SKU <-> Odoo product) and what their stock export last sent, for the
per-listing revision limits (250 a day; a minimum interval between two revisions)."""

from datetime import timedelta

from odoo import api, fields, models

REVISIONS_PER_DAY = 250


class OmniEbayListing(models.Model):
    _name = "omni.ebay.listing"
    _description = "eBay Listing"
    _order = "backend_id, sku"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True,
                                 domain=[("channel", "=", "ebay")], help="The eBay seller account.")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sku = fields.Char(string="SKU", required=True, help="The inventory item's SKU on eBay (the offer's SKU).")
    product_id = fields.Many2one("product.product", check_company=True, index=True,
                                 help="The Odoo product whose free quantity is published for this SKU.")
    active = fields.Boolean(default=True, help="Archived listings are not exported.")
    last_quantity = fields.Integer(readonly=True, help="The quantity eBay last accepted.")
    last_sent_at = fields.Datetime(readonly=True, help="When the quantity was last sent.")
    revision_day = fields.Date(readonly=True, help="UTC day the revision count below belongs to.")
    revision_count = fields.Integer(readonly=True, help="Revisions sent that UTC day (eBay allows 250).")
    last_error = fields.Char(readonly=True, help="What eBay answered when it last refused this SKU.")

    _uniq_sku = models.Constraint("UNIQUE(backend_id, sku)", "A SKU is listed once per eBay account.")

    @api.private
    def _ebay_due_at(self, now):
        """When this listing may be revised again (``now`` when it may be at once)."""
        self.ensure_one()
        backend = self.backend_id
        due = now
        if self.last_sent_at:
            due = max(due, self.last_sent_at + timedelta(minutes=max(backend.ebay_stock_min_interval, 0)))
        if self.revision_day == now.date() and self.revision_count >= REVISIONS_PER_DAY:
            due = max(due, fields.Datetime.to_datetime(now.date() + timedelta(days=1)))
        return due

    @api.private
    def _ebay_free_quantity(self):
        """The product's free quantity in the backend's warehouse (never below 0)."""
        self.ensure_one()
        warehouse = self.backend_id.warehouse_id
        product = self.product_id.with_context(warehouse_id=warehouse.id) if warehouse else self.product_id
        return max(int(product.free_qty), 0)
