"""Odoo -> Shopify exporters (the outbox): stock levels in batches, fulfillments, refunds.

Every exporter is idempotent (bindings and idempotency keys name what was already sent).
"""

import logging
from datetime import timezone
from decimal import Decimal

from odoo import api, fields, models

from odoo.addons.omni_connector_base.canonical import Payment, Refund
from odoo.addons.omni_connector_base.pipeline.errors import (
    StaleEvent,
    TransientError,
)

from ..lib.client import (
    INVENTORY_BATCH_SIZE,
    ShopifyApiError,
    ShopifyTransientError,
    legacy_id,
)
from ..lib.sync import (
    OUT_STOCK,
    plan_fulfillment,
    plan_refund,
)
from ..lib.webhook import parse_timestamp

_logger = logging.getLogger(__name__)

# After a transient stock-push failure, the backend's stock pushes wait at least this long.
STOCK_BREAKER_SECONDS = 30.0


def _decimal(value):
    """Odoo's float money -> Decimal through its shortest repr (no binary noise)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)

class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cron_shopify_stock_sync(self):
        """Stock backstop: queue every inventory level that differs from what was last sent."""
        backends = self.sudo().search([("channel", "=", "shopify"), ("shopify_export_stock", "=", True)])
        for backend in backends.filtered(lambda backend: backend._shopify_has_credentials()):
            self.env["omni.shopify.variant"]._shopify_enqueue_stock(backend)
            self.env["omni.event"]._omni_commit_progress(1)
        return True

    # ------------------------------------------------------------------ stock

    def _shopify_push_stock(self, event):
        """Push this event's inventory level together with up to 249 other queued ones.

        One ``inventorySetQuantities`` call per run (≤ 250 quantities, Shopify's limit):
        the other ready stock events of the backend are claimed with the kit's
        ``_omni_claim_batch`` (a parallel worker takes the next 250) and pushed by
        ``_omni_push_outbox_batch``. A failure rolls the whole batch back; the idempotency
        key makes a retry after a timeout apply once.
        """
        Event = self.env["omni.event"]
        events = event | Event._omni_claim_batch(self, OUT_STOCK, INVENTORY_BATCH_SIZE - 1, exclude=event)
        sent = self._omni_push_outbox_batch(events)
        _logger.debug("Shopify backend %s: stock push of %s events sent %s quantities", self.id, len(events), sent)

    def _omni_push_outbox_batch(self, events):
        """Stock events: only quantities that differ from what was last sent are sent, in one
        call; every event but the processor's own is marked done with one write."""
        if self.channel != "shopify":
            return super()._omni_push_outbox_batch(events)
        self.ensure_one()
        Variant = self.env["omni.shopify.variant"]
        pairs = Variant._shopify_pairs_from_events(events)
        sent = Variant._shopify_send_levels(self, pairs, event_ids=events.ids)
        # The first event is the one the processor claimed: it records that one's outcome.
        events[1:]._omni_finish_many("done")
        return sent

    def _shopify_set_quantities(self, changes, key):
        """``set_inventory_quantities`` with the breaker; returns the per-item errors Shopify named.

        :return: ``{index in changes: message}`` for items Shopify refused (unknown
            inventory item or location); ``{}`` when everything was applied
        """
        try:
            self._shopify_call("set_inventory_quantities", changes, reason="correction", idempotency_key=key)
        except ShopifyTransientError as error:
            # Every worker's other stock events then wait (one failing call, not one per event).
            self._omni_pause_on_error(
                error,
                OUT_STOCK,
                max(float(error.retry_after or 0), STOCK_BREAKER_SECONDS),
                self.env._("A stock push to Shopify failed moments ago"),
            )
            raise
        except ShopifyApiError as error:
            per_item = {}
            for user_error in error.user_errors:
                path = user_error.get("field") or []
                if len(path) >= 3 and path[:2] == ["input", "quantities"] and str(path[2]).isdigit():
                    per_item[int(path[2])] = user_error.get("message") or user_error.get("code") or ""
            if not per_item or len(per_item) < len(error.user_errors):
                raise
            return per_item
        return {}

    # ------------------------------------------------------------- fulfillment

    def _shopify_push_fulfillment(self, event):
        """A delivery of a Shopify order is done: fulfil its lines in Shopify, with tracking.

        The shipped quantities are placed on the order's open fulfillment-order lines as
        Shopify reports them now, so a retry never fulfils twice (what is fulfilled is no
        longer open), and a partial delivery makes a partial fulfillment.
        """
        payload = self._shopify_payload(event)
        picking = self.env["stock.picking"].browse(payload.get("picking_id") or 0).exists()
        if not picking or picking.state != "done":
            raise StaleEvent(self.env._("The delivery no longer exists or is not done."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, picking):
            return picking
        sale = picking.sale_id
        order_id = sale.omni_external_id
        moves = picking.move_ids.filtered(lambda m: m.state == "done" and m.sale_line_id and m.quantity)
        line_ids = Binding._omni_external_ids(self, moves.sale_line_id)
        wanted = {}
        for move in moves:
            external = line_ids.get(move.sale_line_id.id) or ""
            item = external.split("/", 1)[1] if "/" in external else ""
            if not item or ":" in item:
                continue  # shipping, fee or discount lines are not fulfilled
            quantity = move.product_uom._compute_quantity(move.quantity, move.sale_line_id.product_uom_id)
            wanted[item] = wanted.get(item, 0) + round(quantity)
        if not wanted:
            raise StaleEvent(self.env._("Delivery %s ships no Shopify line item.", picking.name))
        fulfillment_orders = self._shopify_call("fulfillment_orders", order_id)
        preferred = self.shopify_location_ids._shopify_for_location(picking.location_id)
        per_location, missing = plan_fulfillment(
            fulfillment_orders, wanted, preferred.shopify_location_id if preferred else None
        )
        tracking = picking._shopify_tracking()
        created = []
        for _location, groups in per_location:
            fulfillment = self._shopify_call(
                "create_fulfillment", groups, tracking=tracking, notify_customer=self.shopify_notify_customer
            )
            created.append(str(legacy_id((fulfillment or {}).get("id"))))
        for fulfillment_id in created:
            Binding._omni_bind(self, picking, fulfillment_id)
        if missing:
            picking.message_post(
                body=self.env._(
                    "Shopify had nothing left to fulfil for some shipped quantities (already fulfilled there?): %s",
                    ", ".join(f"{item} x {qty}" for item, qty in missing.items()),
                )
            )
        if created:
            picking.message_post(
                body=self.env._(
                    "Fulfilled in Shopify (%(ids)s), tracking %(number)s.",
                    ids=", ".join(created),
                    number=tracking.get("number") or self.env._("none"),
                )
            )
        return picking

    # ----------------------------------------------------------------- refund

    def _shopify_push_refund(self, event):
        """A credit note posted in Odoo on a Shopify order: create the refund in Shopify.

        The credit note is bound to the Shopify refund it created, so the
        ``refunds/create`` webhook that follows is recognised and imports nothing. The
        outbox event's key is the mutation's idempotency key: a retry refunds once.
        """
        move, sale, product_lines, line_refs = self._omni_refund_push_start(event)
        if not sale:
            return move  # pushed already: bound to the Shopify refund it created
        Binding = self.env["omni.binding"]
        lines = [
            {
                "external_id": line_refs[line.id],
                "quantity": _decimal(line.quantity),
                "amount": _decimal(line.price_total),
            }
            for line in product_lines
        ]
        payments = sale.omni_payment_ids.filtered(lambda p: p.payment_type == "inbound")
        parent = next((p.omni_transaction_id for p in payments if p.omni_transaction_id), None)
        gateway = sale.omni_payment_gateway or (payments[:1].omni_gateway if payments else None)
        arguments = plan_refund(
            lines, _decimal(move.amount_total), gateway, parent, note=self.env._("Odoo credit note %s", move.name)
        )
        refund = self._shopify_call(
            "create_refund",
            sale.omni_external_id,
            idempotency_key=self._shopify_idempotency_key(event.idempotency_key),
            **arguments,
        )
        if not refund:
            raise TransientError(self.env._("Shopify created no refund and named no error; retrying."))
        refund_id = str(legacy_id(refund.get("id")))
        Binding._omni_bind(self, move, refund_id)
        move.sudo().write({"omni_backend_id": self.id, "omni_external_id": refund_id})
        self._shopify_register_exported_refund(sale, move, refund, refund_id)
        move.message_post(body=self.env._("Refund %s created in Shopify.", refund_id))
        return move

    def _shopify_register_exported_refund(self, sale, move, refund, refund_id):
        """Book Shopify's refund transactions as refund payments in the clearing journal (as for an
        imported refund), unless someone already paid the credit note in Odoo."""
        if move.payment_state not in ("not_paid", "partial"):
            return
        transactions = []
        for node in (refund.get("transactions") or {}).get("nodes") or []:
            money = (node.get("amountSet") or {}).get("shopMoney") or {}
            if str(node.get("status") or "").upper() != "SUCCESS" or not money.get("amount"):
                continue
            transactions.append(
                Payment(
                    gateway=node.get("gateway") or sale.omni_payment_gateway or "shopify",
                    transaction_id=str(legacy_id(node.get("id"))),
                    amount=Decimal(str(money["amount"])),
                    currency=money.get("currencyCode") or sale.currency_id.name,
                    kind="refund",
                    status="success",
                )
            )
        if not transactions:
            return
        created = parse_timestamp(refund.get("createdAt"))
        canonical = Refund(
            external_id=refund_id,
            order_external_id=sale.omni_external_id,
            created_at=(created or fields.Datetime.now()).replace(tzinfo=timezone.utc),
            currency=sale.currency_id.name,
            amount=sum((tx.amount for tx in transactions), Decimal(0)),
            transactions=transactions,
        )
        self.env["omni.order.importer"]._omni_register_refund_payments(self, sale, canonical, move)

