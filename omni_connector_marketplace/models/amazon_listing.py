"""Amazon listings of an account (seller SKU <-> product, FBM or FBA) and the listings feeds sent."""

from odoo import fields, models

FULFILLMENT_CHANNELS = [("DEFAULT", "Merchant (FBM)"), ("AMAZON", "Amazon (FBA)")]


class OmniAmazonListing(models.Model):
    _name = "omni.amazon.listing"
    _description = "Amazon Listing"
    _order = "backend_id, seller_sku"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", string="Seller Account", required=True, ondelete="cascade",
                                 index=True, domain=[("channel", "=", "amazon")])
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    seller_sku = fields.Char(string="Seller SKU", required=True, help="The SKU of the listing in Seller Central.")
    product_id = fields.Many2one("product.product", check_company=True, index=True, ondelete="cascade",
                                 help="The Odoo product sold under this SKU.")
    fulfillment_channel = fields.Selection(
        FULFILLMENT_CHANNELS, required=True, default="DEFAULT",
        help="Merchant (FBM): you ship it and its free quantity is sent to Amazon by the listings feed. Amazon "
        "(FBA): Amazon ships it; its quantity comes from Amazon into the FBA warehouse.",
    )
    export_stock = fields.Boolean(default=True, help="Send this FBM listing's quantity to Amazon.")
    last_quantity_sent = fields.Integer(readonly=True, help="The quantity the last listings feed sent.")
    quantity_sent = fields.Boolean(readonly=True, help="Whether a quantity was ever sent.")
    last_sent_at = fields.Datetime(readonly=True)
    last_feed_id = fields.Many2one("omni.amazon.feed", readonly=True, ondelete="set null")
    last_error = fields.Char(readonly=True, help="What the last feed's processing report said about this SKU.")
    fba_quantity = fields.Integer(string="FBA Quantity", readonly=True,
                                  help="Fulfillable quantity Amazon reported at the last FBA inventory sync.")
    active = fields.Boolean(default=True)

    _uniq_sku = models.Constraint("UNIQUE(backend_id, seller_sku, fulfillment_channel)",
                                  "A seller SKU is listed once per account and fulfilment channel.")


class OmniAmazonFeed(models.Model):
    _name = "omni.amazon.feed"
    _description = "Amazon Listings Feed"
    _order = "id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    feed_ref = fields.Char(string="Feed ID", required=True, readonly=True, index=True)
    feed_type = fields.Char(default="JSON_LISTINGS_FEED", readonly=True)
    state = fields.Selection(
        [("submitted", "Submitted"), ("done", "Done"), ("failed", "Failed")], default="submitted", required=True,
        readonly=True, help="Submitted: Amazon is processing it; its processing report is read every 5 minutes.",
    )
    message_count = fields.Integer(readonly=True)
    accepted_count = fields.Integer(readonly=True)
    error_count = fields.Integer(readonly=True)
    warning_count = fields.Integer(readonly=True)
    quantities = fields.Json(readonly=True, help="The quantity sent per SKU.")
    processing_status = fields.Char(readonly=True, help="Amazon's processingStatus at the last check.")
    report_summary = fields.Text(readonly=True)
