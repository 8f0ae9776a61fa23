"""Stock hooks of Amazon orders: a done delivery of an FBM order queues its shipment confirmation."""

from odoo import fields, models

from .amazon_backend import OUT_SHIPMENT


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_fulfilled_by = fields.Selection(
        [("MERCHANT", "Merchant (FBM)"), ("AMAZON", "Amazon (FBA)")], string="Fulfilled By", copy=False,
        readonly=True, help="Who ships this Amazon order: you (FBM) or Amazon (FBA).",
    )
    amazon_pii_purged_at = fields.Datetime(
        string="Buyer Data Purged", copy=False, readonly=True,
        help="When the Amazon buyer's personal data of this order was anonymised (Data Protection Policy).",
    )


class StockPicking(models.Model):
    _inherit = "stock.picking"

    amazon_carrier_code = fields.Char(
        string="Carrier (Amazon)", copy=False,
        help="Carrier code sent with the Amazon shipment confirmation (UPS, USPS, FedEx, DHL, Royal Mail...). "
        "Empty: the delivery method's carrier when the Delivery app is installed, else 'Other'.",
    )
    amazon_tracking_number = fields.Char(
        string="Tracking Number (Amazon)", copy=False,
        help="Tracking number sent with the Amazon shipment confirmation. Empty: the delivery's tracking "
        "reference when the Delivery app is installed.",
    )
    amazon_shipping_method = fields.Char(string="Shipping Service (Amazon)", copy=False,
                                         help="Shipping service sent to Amazon (e.g. USPS Ground Advantage).")
    amazon_confirmed_at = fields.Datetime(string="Shipment Confirmed to Amazon", copy=False, readonly=True)

    def _action_done(self):
        result = super()._action_done()
        if not self.env.context.get("omni_amazon_from_channel"):
            self._amazon_enqueue_shipment()
        return result

    def _amazon_enqueue_shipment(self):
        """Queue ``confirmShipment`` for each done delivery of an FBM Amazon order (FBA: Amazon ships)."""
        Event = self.env["omni.event"].sudo()
        for picking in self.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            sale = picking.sudo().sale_id
            backend = sale.omni_backend_id
            if (not backend or backend.channel != "amazon" or not backend.active or not sale.omni_external_id
                    or sale.amazon_fulfilled_by != "MERCHANT"):
                continue
            key = f"amazon:shipment:{picking.id}"
            if Event.search_count([("backend_id", "=", backend.id), ("idempotency_key", "=", key)], limit=1):
                continue
            Event._omni_enqueue_outgoing(backend, OUT_SHIPMENT, {"picking_id": picking.id},
                                         resource_model="stock.picking", resource_key=sale.omni_external_id,
                                         idempotency_key=key)

    def _amazon_tracking(self):
        """``(carrier code, tracking number, shipping method)`` for Amazon."""
        self.ensure_one()
        carrier = self.amazon_carrier_code
        tracking = self.amazon_tracking_number
        if "carrier_tracking_ref" in self._fields:
            tracking = tracking or self.carrier_tracking_ref
        if not carrier and "carrier_id" in self._fields and self.carrier_id:
            carrier = self.carrier_id.name
        return carrier, tracking, self.amazon_shipping_method
