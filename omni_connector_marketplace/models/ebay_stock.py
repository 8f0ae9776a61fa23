"""Stock hooks of the eBay channel: quantity changes queue stock exports of the listed SKUs,
done deliveries of eBay orders queue shipments."""

from odoo import api, fields, models

from .ebay_backend import OUT_SHIPMENT


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        result = super()._update_available_quantity(product_id, location_id, *args, **kwargs)
        self.env["omni.ebay.listing"]._ebay_stock_touched(product_id)
        return result


class StockMove(models.Model):
    _inherit = "stock.move"

    def _action_assign(self, force_qty=False):
        """Reservations change the free quantity too."""
        result = super()._action_assign(force_qty=force_qty)
        self.env["omni.ebay.listing"]._ebay_stock_touched(self.product_id)
        return result


class OmniEbayListing(models.Model):
    _inherit = "omni.ebay.listing"

    @api.model
    def _ebay_stock_touched(self, products):
        if not products:
            return
        listings = self.sudo().search([("product_id", "in", products.ids), ("active", "=", True),
                                       ("backend_id.active", "=", True), ("backend_id.ebay_export_stock", "=", True)])
        for backend in listings.backend_id:
            backend._ebay_enqueue_stock(listings.filtered(lambda listing, b=backend: listing.backend_id == b))


class StockPicking(models.Model):
    _inherit = "stock.picking"  # files by role; pylint: disable=consider-merging-classes-inherited

    ebay_carrier = fields.Char(
        string="Carrier (eBay)", copy=False,
        help="eBay shipping carrier code sent with the shipment (USPS, UPS, FEDEX, DHL...). Without it, the "
        "delivery method's carrier is used when the Delivery app is installed, else OTHER.")
    ebay_tracking_number = fields.Char(
        string="Tracking Number (eBay)", copy=False,
        help="Tracking number sent to eBay. Without it, the delivery's tracking reference is used when the "
        "Delivery app is installed.")

    def _action_done(self):
        result = super()._action_done()
        self._ebay_enqueue_shipment()
        return result

    def _ebay_enqueue_shipment(self):
        Event = self.env["omni.event"].sudo()
        for picking in self.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            sale = picking.sudo().sale_id
            backend = sale.omni_backend_id
            if not backend or backend.channel != "ebay" or not backend.active or not sale.omni_external_id:
                continue
            key = f"shipment:{picking.id}"
            if Event.search_count([("backend_id", "=", backend.id), ("idempotency_key", "=", key)], limit=1):
                continue
            Event._omni_enqueue_outgoing(backend, OUT_SHIPMENT, {"picking_id": picking.id},
                                         resource_model="stock.picking", resource_key=sale.omni_external_id,
                                         idempotency_key=key)

    def _ebay_tracking(self):
        self.ensure_one()
        carrier = self.ebay_carrier or ("carrier_id" in self._fields and self.carrier_id.name) or None
        number = self.ebay_tracking_number or ("carrier_tracking_ref" in self._fields and self.carrier_tracking_ref)
        return {"carrier": carrier, "number": number or None}
