"""Shopify -> Odoo event handlers: orders (webhook or poll), refunds, fulfillments, uninstall.

Every handler is idempotent (bindings name what was already created) and raises the
pipeline's outcome errors; the base processor records the outcome on the event.
"""

import logging
from decimal import Decimal

from odoo import models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical.digest import order_update_digest
from odoo.addons.omni_connector_base.pipeline.errors import (
    BusinessError,
    PermanentError,
    StaleEvent,
    TransientError,
)
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.client import (
    ShopifyApiError,
)
from ..lib.graphql import legacy_id, nodes
from ..lib.mapper import ValidationError, map_fulfillment, map_order, map_refund
from ..lib.mapper_common import _ident, shopify_risk_level
from ..lib.mapper_graphql import (
    graphql_order_keys,
    map_graphql_fulfillment,
    map_graphql_order,
    map_graphql_refund,
    map_graphql_transactions,
)
from ..lib.sync import FULFILLMENT_POLL_TOPIC, OUT_REFUND, POLL_TOPIC, REFUND_POLL_TOPIC
from ..lib.webhook import parse_timestamp

_logger = logging.getLogger(__name__)
_PAYMENT_STATUSES = ("paid", "partially_paid", "partially_refunded", "refunded")

class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _shopify_import_order(self, event):
        """Order body (webhook or poll) -> canonical order -> the shared importer.

        A version that changes nothing the order sells (the same version delivered by webhook
        and by poll, or Shopify rewriting tags, fulfillment status... on every
        ``orders/updated``) only refreshes the binding; a version with the same ``updated_at``
        as the applied one but other content is applied.
        """
        payload = self._shopify_payload(event)
        polled = event.topic == POLL_TOPIC  # a GraphQL Order node; a webhook's is REST JSON
        if polled:
            order_id, updated_at = graphql_order_keys(payload)
        else:
            order_id, updated_at = _ident(payload.get("id")), payload.get("updated_at")
        order_id = order_id or ""
        if not order_id:
            raise PermanentError(self.env._("The order body has no id."))
        Binding = self.env["omni.binding"]
        binding = Binding._omni_bindings(self, "sale.order", [order_id]).get(order_id)
        sale = binding._omni_record() if binding else None
        version = parse_timestamp(updated_at)
        version = version.replace(microsecond=0) if version else None
        # Shopify's updated_at has one-second resolution: two edits in one second share it, so
        # a version whose timestamp ties the applied one is decided by content (the digest),
        # read first without the transactions (the digest leaves payments out).
        tie = bool(sale and version and binding.external_updated_at == version)
        order = self._shopify_map_order(payload, order_id, polled, sale, read_transactions=not tie)
        digest = order_update_digest(order)
        if sale and sale.shopify_content_digest == digest:
            Binding._omni_bind(self, sale, order_id, external_updated_at=version)
            return sale
        if tie and not polled:
            order = self._shopify_map_order(payload, order_id, polled, sale, read_transactions=True)
        if not sale:
            order = self._shopify_with_channel_location(order)  # governance: warehouse allocation
        sale = self.env["omni.order.importer"]._omni_import_order(self, order, event)
        values = {"shopify_content_digest": digest}
        if order.is_test and not sale.shopify_is_test:
            values["shopify_is_test"] = True
        sale.sudo().write(values)
        return sale

    def _shopify_map_order(self, payload, order_id, polled, sale, read_transactions=True):
        """The canonical order of a webhook body (REST) or a polled node (GraphQL).

        With ``read_transactions``, a webhook body that will register a payment is completed
        with the order's transactions read through the API (``_shopify_order_payments``).
        """
        try:
            if polled:
                return map_graphql_order(payload)  # the node lists its transactions
            payments = risk_level = None
            want_payments = read_transactions and self._shopify_needs_transactions(payload, sale)
            want_risk = self._shopify_needs_risk(payload, sale)  # governance: the risk policy acts on it
            if want_payments or want_risk:
                payments, risk_level = self._shopify_order_payments(payload, with_risk=True)
                payments = payments if want_payments else None
            return map_order(payload, payments=payments, risk_level=risk_level)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify order %(order)s cannot be read: %(error)s", order=order_id, error=error),
                category="validation",
            ) from error

    def _shopify_needs_transactions(self, payload, sale):
        """Whether to read the order's transactions: a payment will be registered and the body
        (a webhook's) does not name the transaction it should reference."""
        if payload.get("transactions") or not self._shopify_has_credentials():
            return False
        if payload.get("test") and not self.import_test_orders:
            return False
        if str(payload.get("financial_status") or "").lower() not in _PAYMENT_STATUSES:
            return False
        return not sale or not sale.omni_payment_ids

    def _shopify_order_payments(self, payload, with_risk=False):
        """The payments of a webhook body's order, from its transactions read through the API
        (canonical, ``map_graphql_transactions``); None to keep the mapper's inference.

        Only the transactions are taken: the rest of the body stays the version the
        webhook announced. With ``with_risk``: ``(payments, risk_level)``, the order's risk
        assessment read in the same request. When Shopify refuses (scope, order gone) the mapper's inference
        is kept and the problem is shown once in the exception queue; network failures and
        throttling make the event retry instead.
        """
        try:
            node = self._shopify_call(
                "get_order_transactions_and_risk", payload.get("admin_graphql_api_id") or payload["id"]
            )
        except ShopifyApiError as error:
            _logger.warning(
                "Shopify backend %s: transactions of order %s unavailable: %s",
                self.id,
                payload.get("id"),
                mask_text(error.message),
            )
            self.env["omni.exception"]._omni_raise(
                self.env._(
                    "Could not read the transactions of Shopify orders (%s); payments are referenced by order "
                    "instead of by transaction.",
                    error.message,
                ),
                backend=self,
                category="channel_api",
                severity="warning",
                dedupe_key="shopify:transactions",
            )
            return (None, None) if with_risk else None
        transactions = nodes((node or {}).get("transactions"))
        payments = map_graphql_transactions(transactions, (str(payload.get("currency") or "")).upper() or None) \
            if transactions else None
        if with_risk:
            return payments, shopify_risk_level((node or {}).get("risk"))
        return payments

    def _shopify_needs_risk(self, payload, sale):
        """Whether to read the order's risk assessment (a webhook body has none): the channel's
        risk policy acts on it, and the order is new or still a quotation never reviewed."""
        if self.risk_policy == "ignore" or not self._shopify_has_credentials():
            return False
        if payload.get("test") and not self.import_test_orders:
            return False
        return not sale or (sale.state in ("draft", "sent") and not sale.omni_risk_state)

    def _shopify_import_refund(self, event):
        """``refunds/create`` -> credit note, return and refund payment, through the importer.

        A refund this backend created from an Odoo credit note is recognised by its binding
        and changes nothing; while such an export of the same order is still in flight,
        the webhook waits for it (never both ways for one refund).
        """
        payload = self._shopify_payload(event)
        polled = event.topic == REFUND_POLL_TOPIC  # a GraphQL Refund node of the order resource_key
        if polled:
            order_id, refund_id = event.resource_key or "", str(legacy_id(payload.get("id")) or "")
        else:
            order_id, refund_id = str(payload.get("order_id") or ""), str(payload.get("id") or "")
        Binding = self.env["omni.binding"]
        if refund_id:
            existing = Binding._omni_lookup(self, "account.move", [refund_id]).get(refund_id)
            if existing:
                return existing
        if order_id and self._shopify_out_pending(OUT_REFUND, order_id, exclude_id=None):
            raise TransientError(
                self.env._(
                    "A refund of order %s made in Odoo is being sent to Shopify; this refund waits until it is bound.",
                    order_id,
                ),
                retry_after=30,
            )
        if not polled and self._shopify_refund_of_exchange(payload.get("return")):
            raise StaleEvent(self.env._(
                "Refund %s is the price difference of an exchange: the return's webhook applies it.", refund_id))
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id) if order_id else None
        currency = sale.currency_id.name if sale else None
        try:
            if polled:
                refund = map_graphql_refund(payload, order_id, currency=currency)
            else:
                refund = map_refund(payload, currency=currency)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify refund %(refund)s cannot be read: %(error)s", refund=refund_id, error=error),
                category="validation",
            ) from error
        return self.env["omni.order.importer"]._omni_import_refund(self, refund, event)

    def _shopify_out_pending(self, topic, resource_key, exclude_id=None):
        """Whether an outgoing event of this topic and resource is queued or being sent."""
        self.env["omni.event"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM omni_event WHERE backend_id = %s AND direction = 'out' AND topic = %s "
                "AND resource_key = %s AND state IN ('pending', 'retry') AND id != %s LIMIT 1",
                self.id,
                topic,
                resource_key,
                exclude_id or 0,
            )
        )
        return bool(self.env.cr.fetchone())

    def _shopify_import_fulfillment(self, event):
        """``fulfillments/*``: when Shopify ships, validate the matching Odoo delivery.

        The shipped quantities are set on the open delivery of the order and validated;
        what Shopify did not ship stays in a backorder. The delivery is bound to the
        fulfillment: a later ``fulfillments/update`` only refreshes the tracking.
        """
        if not self.shopify_handles_delivery:
            raise StaleEvent(
                self.env._(
                    "Odoo handles the deliveries of this shop: Shopify's fulfillment is not applied "
                    "(it is usually the echo of a delivery Odoo sent)."
                )
            )
        payload = self._shopify_payload(event)
        polled = event.topic == FULFILLMENT_POLL_TOPIC  # a GraphQL Fulfillment node of the order resource_key
        version = parse_timestamp(payload.get("updatedAt" if polled else "updated_at"))
        try:
            shipment = map_graphql_fulfillment(payload, event.resource_key) if polled else map_fulfillment(payload)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify fulfillment cannot be read: %s", error), category="validation"
            ) from error
        Binding = self.env["omni.binding"]
        order_id = shipment.order_external_id
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            raise TransientError(
                self.env._("Order %s of this fulfillment is not imported yet.", order_id), retry_after=60
            )
        fulfillment_id = shipment.external_id
        picking = (
            Binding._omni_lookup(self, "stock.picking", [fulfillment_id]).get(fulfillment_id)
            if fulfillment_id
            else None
        )
        if picking:
            # The same fulfillment again (webhook and poll, or a retry): only the tracking of a
            # version at least as new as the one applied is taken; nothing ships twice.
            binding = Binding._omni_bindings(self, "stock.picking", [fulfillment_id]).get(fulfillment_id)
            if version and binding.external_updated_at and binding.external_updated_at > version:
                raise StaleEvent(
                    self.env._(
                        "Fulfillment %(id)s: a newer version (%(newer)s) was already applied.",
                        id=fulfillment_id,
                        newer=binding.external_updated_at,
                    )
                )
            picking._shopify_set_tracking(shipment)
            Binding._omni_bind(self, picking, fulfillment_id, external_updated_at=version)
            return picking
        if (shipment.status or "").lower() in ("cancelled", "failure", "error"):
            raise StaleEvent(
                self.env._(
                    "Fulfillment %(id)s has status %(status)s: nothing shipped.",
                    id=fulfillment_id,
                    status=shipment.status,
                )
            )
        line_keys = [f"{order_id}/{line.order_line_external_id}" for line in shipment.lines]
        sale_lines = Binding._omni_lookup(self, "sale.order.line", line_keys)
        wanted = {}
        for line, key in zip(shipment.lines, line_keys, strict=True):
            sale_line = sale_lines.get(key)
            if not sale_line:
                raise BusinessError(
                    self.env._(
                        "Fulfillment %(id)s ships a line (%(line)s) that order %(order)s does not have in Odoo.",
                        id=fulfillment_id,
                        line=line.order_line_external_id,
                        order=sale.name,
                    ),
                    category="validation",
                    record=(sale._name, sale.id),
                )
            wanted[sale_line] = wanted.get(sale_line, Decimal(0)) + line.quantity
        picking = self._shopify_validate_delivery(sale, wanted, fulfillment_id)
        picking._shopify_set_tracking(shipment)
        if fulfillment_id:
            Binding._omni_bind(self, picking, fulfillment_id, external_updated_at=version)
        return picking

    def _shopify_validate_delivery(self, sale, wanted, fulfillment_id):
        """Validate the shipped quantities on the order's first open delivery (backorder for the rest)."""
        pickings = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
        ).sorted("id")
        if not pickings:
            raise BusinessError(
                self.env._(
                    "Shopify shipped order %(order)s (fulfillment %(id)s) but it has no open delivery in Odoo.",
                    order=sale.name,
                    id=fulfillment_id,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        picking = pickings[0]
        remaining = {line: float(quantity) for line, quantity in wanted.items()}
        shipped = False
        for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")).sorted("id"):
            line = move.sale_line_id
            want = remaining.get(line, 0.0)
            quantity = 0.0
            if want > 0:
                quantity = min(line.product_uom_id._compute_quantity(want, move.product_uom), move.product_uom_qty)
                remaining[line] = want - move.product_uom._compute_quantity(quantity, line.product_uom_id)
            move.quantity = quantity
            move.picked = bool(quantity)
            shipped = shipped or bool(quantity)
        if not shipped:
            raise BusinessError(
                self.env._(
                    "Nothing Shopify shipped in fulfillment %(id)s is left to deliver on %(picking)s.",
                    id=fulfillment_id,
                    picking=picking.name,
                ),
                category="validation",
                record=(picking._name, picking.id),
            )
        picking.with_context(skip_backorder=True, omni_shopify_from_channel=True).button_validate()
        picking.message_post(body=self.env._("Validated from Shopify fulfillment %s.", fulfillment_id))
        return picking

    def _shopify_app_uninstalled(self, event):
        """The shop removed the app: archive the backend, forget its token, tell a person."""
        self.sudo().write({"active": False, "shopify_access_token": False})
        self.message_post(body=self.env._("The Shopify app was uninstalled from the shop: backend archived."))
        self.env["omni.exception"]._omni_raise(
            self.env._(
                "The Shopify app was uninstalled from %(shop)s. The backend %(name)s is archived and its token "
                "forgotten: nothing is imported or sent any more. Reinstall the app, enter the new credentials and "
                "unarchive the backend to resume.",
                shop=self.shopify_shop_domain or event.resource_key,
                name=self.name,
            ),
            backend=self,
            category="channel_api",
            severity="critical",
            dedupe_key="shopify:app_uninstalled",
        )
        return self

