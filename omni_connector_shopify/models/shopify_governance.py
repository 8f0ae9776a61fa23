"""Governance on Shopify: orders the risk policy cancels are cancelled on Shopify (``orderCancel``);
returns with exchange line items (``returns/process``, ``returns/close``) become the base's exchanges;
the channel location of a new order for the warehouse allocation rules.

The risk itself is read with the order's transactions (``shopify_inbound._shopify_order_payments``)
and by the poll (``mapper_graphql.map_graphql_order``); the base's policy acts on it.
"""

import logging
from dataclasses import replace
from decimal import Decimal

from odoo import models

from odoo.addons.omni_connector_base.canonical.parse import parse_datetime
from odoo.addons.omni_connector_base.models.omni_governance_approval import OUT_ORDER_CANCEL
from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, StaleEvent, TransientError
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.errors import ShopifyApiError
from ..lib.graphql import legacy_id, nodes
from ..lib.mapper_common import ValidationError
from ..lib.mapper_exchange import map_graphql_exchange
from ..lib.sync import RETURN_TOPICS

_logger = logging.getLogger(__name__)


class OmniBackendShopifyGovernance(models.Model):
    # The Shopify connector's governance pushes, in a file of their own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    def _omni_handle_event(self, event):
        if self.channel == "shopify" and event.direction == "out" and event.topic == OUT_ORDER_CANCEL:
            return self._shopify_push_cancel(event)
        if self.channel == "shopify" and event.direction == "in" and event.topic in RETURN_TOPICS:
            return self._shopify_import_return(event)
        return super()._omni_handle_event(event)

    def _shopify_push_cancel(self, event):
        """Cancel the order on Shopify (reason FRAUD, refunded and restocked there); the
        ``orders/cancelled`` webhook that follows finds the order already cancelled in Odoo."""
        payload = self._shopify_payload(event)
        order_id = str(payload.get("order_id") or "")
        sale = self.env["omni.binding"]._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale or sale.state != "cancel":
            raise StaleEvent(self.env._("Order %s is not cancelled in Odoo any more; nothing cancelled on Shopify.",
                                        order_id))
        job = self._shopify_call(
            "cancel_order",
            order_id,
            reason="FRAUD" if payload.get("reason") == "fraud" else "OTHER",
            staff_note=payload.get("note") or None,
            idempotency_key=self._shopify_idempotency_key(event.idempotency_key),
        )
        sale.message_post(body=self.env._("Cancelled on Shopify (job %s).", (job or {}).get("id") or "-"))
        return sale

    def _shopify_with_channel_location(self, order):
        """The canonical ``order`` with its channel location (``location_external_id``), which the
        allocation rules *Channel Location* match: the order's own ``location_id`` (a POS or retail
        order names the store it was placed in), else the location Shopify assigned the order's
        first fulfillment order to (``fulfillmentOrders.assignedLocation``, one request), read only
        for a new order of a backend with a rule by channel location. Shopify refusing the read
        (scope) keeps the order without a location: the other rules and the fallback still apply."""
        if order.location_external_id or not self._shopify_has_credentials():
            return order
        if not any(rule.channel_location for rule in self.allocation_rule_ids):
            return order
        try:
            fulfillment_orders = self._shopify_call("fulfillment_orders", order.external_id)
        except ShopifyApiError as error:
            _logger.warning("Shopify backend %s: fulfillment orders of %s unavailable: %s", self.id,
                            order.external_id, mask_text(error.message))
            return order
        for fulfillment_order in fulfillment_orders:
            location = legacy_id(fulfillment_order.get("location_id"))
            if location:
                return replace(order, location_external_id=str(location))
        return order

    # ------------------------------------------------------------- exchanges

    def _shopify_import_return(self, event):
        """``returns/process`` or ``returns/close`` -> the base's exchange flow, when the return
        exchanges goods (``exchangeLineItems``): a credit note and a return picking for what comes
        back, new delivery lines (or a follow-up order) for what goes out, money for the difference.

        The webhook body names the return; the ``Return`` node is read (one request), and the
        order's transactions processed since the return was created carry the difference (a sale
        for a top-up, a refund for a partial refund). Both topics of one return have one effect
        (the exchange is bound by the return's id). A return without exchange line items is
        skipped: its refund comes through ``refunds/create``."""
        payload = self._shopify_payload(event)
        return_id = legacy_id(payload.get("admin_graphql_api_id")) or legacy_id(payload.get("id"))
        if not return_id:
            raise BusinessError(self.env._("The return body has no id."), category="validation")
        key = f"exchange:{return_id}"
        done = self.env["omni.binding"]._omni_lookup(self, "account.move", [key]).get(key)
        if done:
            return done
        node = self._shopify_call("get_return", return_id)
        if not node:
            raise StaleEvent(self.env._("Shopify has no return %s any more.", return_id))
        if not nodes(node.get("exchangeLineItems")):
            raise StaleEvent(self.env._(
                "Return %s exchanges nothing: its refund is imported from refunds/create.", return_id))
        order_node = node.get("order") or {}
        order_id = str(legacy_id(order_node.get("id")) or event.resource_key or "")
        sale = self.env["omni.binding"]._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            raise TransientError(self.env._("Order %(order)s of return %(ret)s is not imported yet.",
                                            order=order_id, ret=return_id), retry_after=60)
        currency = order_node.get("currencyCode") or sale.currency_id.name
        taxes_included = order_node.get("taxesIncluded")
        if not isinstance(taxes_included, bool):
            taxes_included = any(sale.order_line.tax_ids.mapped("price_include"))
        try:
            exchange = map_graphql_exchange(
                node, currency=currency, taxes_included=taxes_included,
                unit_amounts=self._shopify_unit_amounts(sale, order_id),
                transactions=self._shopify_exchange_transactions(order_id, node), restock=True)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify return %(id)s cannot be read: %(error)s", id=return_id, error=error),
                category="validation") from error
        return self.env["omni.order.importer"]._omni_import_exchange(self, exchange, event)

    def _shopify_refund_of_exchange(self, return_ref):
        """Whether a refund that names its return (``refunds/create``'s ``return``) belongs to an exchange:
        the return's exchange is imported, or the return has exchange line items (one request). Such a
        refund is the exchange's price difference, which the return's handler applies."""
        if not isinstance(return_ref, dict):
            return False
        return_id = legacy_id(return_ref.get("admin_graphql_api_id")) or legacy_id(return_ref.get("id"))
        if not return_id:
            return False
        key = f"exchange:{return_id}"
        if self.env["omni.binding"]._omni_lookup(self, "account.move", [key]).get(key):
            return True
        node = self._shopify_call("get_return", return_id)
        return bool(node and nodes(node.get("exchangeLineItems")))

    def _shopify_unit_amounts(self, sale, order_id):
        """``{line item id: what one unit is worth, tax included}`` from the imported order's lines."""
        Binding = self.env["omni.binding"]
        prefix = f"{order_id}/"
        bindings = Binding.search([("backend_id", "=", self.id), ("res_model", "=", "sale.order.line"),
                                   ("res_id", "in", sale.order_line.ids)])
        lines = {binding.res_id: binding.external_id.removeprefix(prefix) for binding in bindings
                 if binding.external_id.startswith(prefix)}
        amounts = {}
        for line in sale.order_line.filtered(lambda line: line.id in lines and line.product_uom_qty):
            currency = line.currency_id
            amounts[lines[line.id]] = Decimal(str(currency.round(line.price_total / line.product_uom_qty)))
        return amounts

    def _shopify_exchange_transactions(self, order_id, node):
        """The order's successful sale, capture and refund transactions processed since the return was
        created: the exchange's price difference."""
        since = parse_datetime(node.get("createdAt")) if node.get("createdAt") else None
        transactions = self._shopify_call("get_order_transactions", order_id) or []
        chosen = []
        for transaction in transactions:
            if str(transaction.get("kind") or "").upper() not in ("SALE", "CAPTURE", "REFUND"):
                continue
            if str(transaction.get("status") or "").upper() != "SUCCESS":
                continue
            processed = transaction.get("processedAt")
            if since and (not processed or parse_datetime(processed) < since):
                continue
            chosen.append(transaction)
        return chosen
