"""Stock hooks: quantity changes queue stock exports, done deliveries queue fulfillments."""

from odoo import api, fields, models

from ..lib.sync import OUT_FULFILLMENT


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        """Every change of on-hand or reserved quantity goes through here: note the product and
        location so the stock export publishes the new free quantity (see ``omni.shopify.variant``)."""
        result = super()._update_available_quantity(product_id, location_id, *args, **kwargs)
        self.env["omni.shopify.variant"]._shopify_stock_touched(product_id, location_id)
        return result


class StockPicking(models.Model):
    _inherit = "stock.picking"

    omni_channel = fields.Selection(
        related="sale_id.omni_backend_id.channel",
        string="Sales Channel",
        help="The channel of the sale order this transfer delivers, if any.",
    )
    shopify_carrier = fields.Char(
        string="Carrier (Shopify)",
        copy=False,
        help="Carrier name sent with the Shopify fulfillment (e.g. DHL Express). Without it, the delivery "
        "method's carrier is used when the Delivery app is installed.",
    )
    shopify_tracking_number = fields.Char(
        string="Tracking Number (Shopify)",
        copy=False,
        help="Tracking number sent with the Shopify fulfillment (or received from it). Without it, the "
        "delivery's tracking reference is used when the Delivery app is installed.",
    )
    shopify_tracking_url = fields.Char(
        string="Tracking URL (Shopify)",
        copy=False,
        help="Tracking link sent with the Shopify fulfillment (or received from it).",
    )

    def _action_done(self):
        result = super()._action_done()
        if not self.env.context.get("omni_shopify_from_channel"):
            self._shopify_enqueue_fulfillment()
        return result

    def _shopify_enqueue_fulfillment(self):
        """Queue a fulfillment for each done delivery of a Shopify order that Odoo ships."""
        Event = self.env["omni.event"].sudo()
        for picking in self.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            sale = picking.sudo().sale_id
            backend = sale.omni_backend_id
            if (
                not backend
                or backend.channel != "shopify"
                or backend.shopify_handles_delivery
                or not backend.active
                or not sale.omni_external_id
            ):
                continue
            key = f"fulfillment:{picking.id}"
            if Event.search_count([("backend_id", "=", backend.id), ("idempotency_key", "=", key)], limit=1):
                continue
            Event._omni_enqueue_outgoing(
                backend,
                OUT_FULFILLMENT,
                {"picking_id": picking.id},
                resource_model="stock.picking",
                resource_key=sale.omni_external_id,
                idempotency_key=key,
            )

    def _shopify_tracking(self):
        """``{company, number, url}`` for Shopify: this connector's fields, else the Delivery app's."""
        self.ensure_one()
        company = self.shopify_carrier or ("carrier_id" in self._fields and self.carrier_id.name) or None
        number = (
            self.shopify_tracking_number
            or ("carrier_tracking_ref" in self._fields and self.carrier_tracking_ref)
            or None
        )
        url = (
            self.shopify_tracking_url or ("carrier_tracking_url" in self._fields and self.carrier_tracking_url) or None
        )
        return {"company": company, "number": number, "url": url}

    def _shopify_set_tracking(self, shipment):
        """Store the carrier and tracking a Shopify fulfillment names (never erase with nothing)."""
        self.ensure_one()
        values = {}
        for field, value in (
            ("shopify_carrier", shipment.carrier),
            ("shopify_tracking_number", shipment.tracking_number),
            ("shopify_tracking_url", shipment.tracking_url),
        ):
            if value and self[field] != value:
                values[field] = value
        if values:
            self.write(values)
