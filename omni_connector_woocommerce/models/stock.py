"""Stock hooks: quantity changes queue WooCommerce stock exports, done deliveries queue shipments."""

import logging

from odoo import api, fields, models

from .omni_backend import OUT_SHIPMENT

_logger = logging.getLogger(__name__)
PRECOMMIT_KEY = "omni_woocommerce_stock_touched"


class StockQuant(models.Model):
    _inherit = "stock.quant"

    @api.model
    def _update_available_quantity(self, product_id, location_id, *args, **kwargs):
        """Every change of on-hand or reserved quantity passes here: queue the stock export of the
        product's WooCommerce bindings (coalesced: one pending event per binding)."""
        result = super()._update_available_quantity(product_id, location_id, *args, **kwargs)
        self.env["omni.woocommerce.product"].sudo()._woocommerce_stock_touched(product_id)
        return result


class OmniWooCommerceProduct(models.Model):
    _inherit = "omni.woocommerce.product"

    @api.model
    def _woocommerce_stock_touched(self, products):
        """Quants of ``products`` changed: note them for the end of the transaction (one search and
        one statement per backend just before commit, however many quants a picking touched)."""
        products = products.filtered("is_storable")
        if not products:
            return
        precommit = self.env.cr.precommit
        touched = precommit.data.get(PRECOMMIT_KEY)
        if touched is None:
            touched = precommit.data[PRECOMMIT_KEY] = set()
            precommit.add(self.env(su=True)["omni.woocommerce.product"]._woocommerce_enqueue_touched)
        touched.update(products.ids)

    @api.model
    def _woocommerce_enqueue_touched(self):
        """Pre-commit hook: queue the stock export of the touched products' bindings. Isolated in
        a savepoint: a failure is logged and never breaks the stock operation (the hourly backstop
        sends what was missed)."""
        touched = self.env.cr.precommit.data.pop(PRECOMMIT_KEY, None)
        if not touched:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                bindings = self.search([
                    ("product_id", "in", list(touched)),
                    ("export_stock", "=", True),
                    ("backend_id.active", "=", True),
                    ("backend_id.woocommerce_export_stock", "=", True),
                ])
                for backend in bindings.backend_id:
                    backend._woocommerce_enqueue_stock(bindings.filtered(lambda b, be=backend: b.backend_id == be))
                self.env.flush_all()
        except Exception:
            _logger.exception("WooCommerce: queuing the stock export of %s products failed", len(touched))


class StockPicking(models.Model):
    _inherit = "stock.picking"

    woocommerce_carrier = fields.Char(
        string="Carrier (WooCommerce)", copy=False,
        help="Carrier named in the shipment note sent to WooCommerce. Without it, the delivery method's carrier "
        "is used when the Delivery app is installed.",
    )
    woocommerce_tracking_number = fields.Char(
        string="Tracking Number (WooCommerce)", copy=False,
        help="Tracking number sent to WooCommerce. Without it, the delivery's tracking reference is used.",
    )
    woocommerce_tracking_url = fields.Char(string="Tracking URL (WooCommerce)", copy=False)

    def _action_done(self):
        result = super()._action_done()
        self._woocommerce_enqueue_shipment()
        return result

    def _woocommerce_enqueue_shipment(self):
        Event = self.env["omni.event"].sudo()
        for picking in self.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            sale = picking.sudo().sale_id
            backend = sale.omni_backend_id
            if (
                not backend
                or backend.channel != "woocommerce"
                or not backend.woocommerce_export_shipments
                or not backend.active
                or not sale.omni_external_id
            ):
                continue
            key = f"shipment:{picking.id}"
            if Event.search_count([("backend_id", "=", backend.id), ("idempotency_key", "=", key)], limit=1):
                continue
            Event._omni_enqueue_outgoing(
                backend, OUT_SHIPMENT, {"picking_id": picking.id},
                resource_model="stock.picking", resource_key=sale.omni_external_id, idempotency_key=key,
            )

    def _woocommerce_tracking(self):
        """``(carrier, tracking number, tracking url)``: this connector's fields, else the Delivery app's."""
        self.ensure_one()
        carrier = self.woocommerce_carrier or ("carrier_id" in self._fields and self.carrier_id.name) or None
        number = self.woocommerce_tracking_number or (
            "carrier_tracking_ref" in self._fields and self.carrier_tracking_ref) or None
        url = self.woocommerce_tracking_url or (
            "carrier_tracking_url" in self._fields and self.carrier_tracking_url) or None
        return carrier, number, url
