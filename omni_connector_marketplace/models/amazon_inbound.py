"""Amazon orders in: a polled ``Order`` (v2026) -> the shared importer, per marketplace.

FBM orders (``fulfilledBy`` MERCHANT) become confirmed sale orders with a delivery from the
marketplace's (or the account's) warehouse; Odoo ships them and confirms the shipment to Amazon
(``amazon_outbound.py``). FBA orders (``fulfilledBy`` AMAZON) are imported once SHIPPED, in the
account's FBA warehouse, and their delivery is validated at import: nothing is pushed back.
Cancelled orders take the importer's cancellation path. Marketplace-collected tax follows the
marketplace's treatment (``lib/collected_tax.py``).

Refunds come from the settlement reports' Refund transactions (``amazon_payouts.py`` queues one
``refunds/settlement`` event per adjustment): a credit note against the order through base's inbound
refund path (``omni.order.importer._omni_import_refund``: credit note, refund payment in the Amazon
clearing journal under the adjustment id, which the settlement's refund line then matches). A refund
Amazon already made is recorded, never held for approval.
"""

import logging

from odoo import api, models

from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, StaleEvent, TransientError

from ..lib import collected_tax
from ..lib.amazon_mapper import ValidationError, map_order, map_settlement_refund, order_info, poll_decision
from .amazon_backend import IN_ORDER
from .marketplace_backend import COLLECTED_TAX_CONTEXT, MARKETPLACE_CONTEXT

_logger = logging.getLogger(__name__)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    @api.private
    def _amazon_import_order_event(self, event):
        payload = event._omni_payload_json()
        return self._amazon_import_order(payload)

    @api.private
    def _amazon_map(self, payload, marketplace):
        try:
            return map_order(payload, prices_include_tax=marketplace.prices_include_tax)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Amazon order %(order)s cannot be read: %(error)s",
                           order=payload.get("orderId") if isinstance(payload, dict) else "?", error=error),
                category="validation") from error

    @api.private
    def _amazon_import_order(self, payload):
        """Import one Amazon order version; returns the sale order."""
        self.ensure_one()
        try:
            info = order_info(payload)
        except ValidationError as error:
            raise BusinessError(self.env._("An Amazon order cannot be read: %s", error),
                                category="validation") from error
        marketplace = self._omni_marketplace(info.marketplace_id)
        if not marketplace:
            raise BusinessError(
                self.env._("Amazon order %(order)s was sold on marketplace %(marketplace)s, which is not listed on "
                           "%(account)s: add it to the Marketplaces tab, then retry.",
                           order=info.order_id, marketplace=info.marketplace_id, account=self.name),
                category="mapping")
        binding = self.env["omni.binding"]._omni_bindings(self, "sale.order", [info.order_id]).get(info.order_id)
        existing = binding._omni_record() if binding else None
        reason = poll_decision(info, self.amazon_import_fba, self.amazon_pending_policy)
        if reason and not existing:
            raise StaleEvent(self.env._("Amazon order %(order)s not imported: %(reason)s.", order=info.order_id,
                                        reason=reason))
        if info.status == "CANCELLED" and not existing:
            raise StaleEvent(self.env._("Amazon order %s was cancelled before it was imported.", info.order_id))
        order, info = self._amazon_map(payload, marketplace)
        context = {MARKETPLACE_CONTEXT: marketplace.id}
        memo = ""
        scope = collected_tax.collection_scope(order, info.collected_line_ids)
        if scope != collected_tax.NONE:
            if marketplace.collected_tax_treatment == collected_tax.TREATMENT_EXCLUDE:
                order, _taxes, memo = collected_tax.exclude_collected(
                    order, info.collected_line_ids, party=info.responsible_party, gateway="amazon")
            elif scope == collected_tax.ALL:
                context[COLLECTED_TAX_CONTEXT] = marketplace.id
            else:
                raise BusinessError(
                    self.env._("Amazon order %s has items whose tax Amazon collects and items whose tax you owe: "
                               "choose the 'Excluded' treatment on the marketplace, or import it by hand.",
                               info.order_id),
                    category="mapping")
        if info.is_fba:
            context["omni_force_warehouse_id"] = self._amazon_fba_warehouse().id
        sale = self.env["omni.order.importer"].with_context(**context)._omni_import_order(self, order)
        values = {}
        if sale.omni_marketplace_id != marketplace:
            values["omni_marketplace_id"] = marketplace.id
        if sale.amazon_fulfilled_by != info.fulfilled_by:
            values["amazon_fulfilled_by"] = info.fulfilled_by
        if memo and sale.omni_collected_tax_memo != memo:
            values["omni_collected_tax_memo"] = memo
        if values:
            sale.write(values)
        if info.is_fba and sale.state == "sale":
            self._amazon_deliver_fba(sale)
        self._amazon_ensure_listings(sale, "AMAZON" if info.is_fba else "DEFAULT")
        return sale

    @api.private
    def _amazon_import_refund_event(self, event):
        """``refunds/settlement``: one Amazon refund (adjustment) -> a credit note against its order."""
        self.ensure_one()
        payload = event._omni_payload_json()
        adjustment = str(payload.get("adjustmentId") or "") if isinstance(payload, dict) else ""
        order_id = str(payload.get("orderId") or "") if isinstance(payload, dict) else ""
        Binding = self.env["omni.binding"]
        existing = Binding._omni_lookup(self, "account.move", [adjustment]).get(adjustment)
        if existing:
            return existing
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            if self.env["omni.event"].sudo().search_count([
                    ("backend_id", "=", self.id), ("direction", "=", "in"), ("topic", "=", IN_ORDER),
                    ("resource_key", "=", order_id), ("state", "not in", ("done", "skipped"))], limit=1):
                raise TransientError(self.env._("Amazon order %s of this refund is still waiting in the inbox.",
                                                order_id), retry_after=600)
            raise StaleEvent(self.env._(
                "Amazon refund %(refund)s is for order %(order)s, which is not in Odoo: nothing to credit (the "
                "settlement's refund line stays unmatched for a person).", refund=adjustment or "?",
                order=order_id or "?"))
        marketplace = sale.omni_marketplace_id
        external = Binding._omni_external_ids(self, sale.order_line)
        order_lines = {}
        for line in sale.order_line:
            key = external.get(line.id) or ""
            if key.startswith(f"{order_id}/"):
                order_lines[key.split("/", 1)[1]] = (line.product_uom_qty, line.price_total)
        try:
            refund = map_settlement_refund(
                payload, prices_include_tax=marketplace.prices_include_tax,
                exclude_collected_tax=marketplace.collected_tax_treatment == collected_tax.TREATMENT_EXCLUDE,
                order_lines=order_lines)
        except ValidationError as error:
            raise BusinessError(self.env._("Amazon refund %(refund)s cannot be read: %(error)s",
                                           refund=adjustment or "?", error=error), category="validation") from error
        context = {MARKETPLACE_CONTEXT: marketplace.id} if marketplace else {}
        return self.env["omni.order.importer"].with_context(**context)._omni_import_refund(self, refund, event)

    @api.private
    def _amazon_ensure_listings(self, sale, channel):
        """The SKUs sold become listings of the account (their FBM stock is exported from then on)."""
        Listing = self.env["omni.amazon.listing"].sudo()
        products = {line.product_id.default_code: line.product_id for line in sale.order_line
                    if line.product_id.default_code and line.product_id.is_storable}
        if not products:
            return
        known = set(Listing.with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("fulfillment_channel", "=", channel),
             ("seller_sku", "in", list(products))]).mapped("seller_sku"))
        Listing.create([{"backend_id": self.id, "seller_sku": sku, "product_id": product.id,
                         "fulfillment_channel": channel}
                        for sku, product in products.items() if sku not in known])

    @api.private
    def _amazon_deliver_fba(self, sale):
        """Amazon shipped it: validate the order's open deliveries from the FBA warehouse at once."""
        pickings = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel"))
        for picking in pickings:
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            picking.with_context(omni_amazon_from_channel=True, skip_backorder=True, skip_sms=True,
                                 cancel_backorder=True).button_validate()
