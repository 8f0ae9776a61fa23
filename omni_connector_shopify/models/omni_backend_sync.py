"""Shopify event handlers: webhooks and polled orders in, stock, fulfillments and refunds out.

Every handler is idempotent (bindings name what was already created or sent) and raises
the pipeline's outcome errors; the base processor records the outcome on the event.
"""

import logging
import threading
import time
from datetime import timezone
from decimal import Decimal

from odoo import _, fields, models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical import Payment, Refund
from odoo.addons.omni_connector_base.pipeline.errors import (
    BusinessError,
    PermanentError,
    StaleEvent,
    TransientError,
)
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.client import INVENTORY_BATCH_SIZE, ShopifyApiError, ShopifyTransientError, legacy_id
from ..lib.mapper import ValidationError, map_fulfillment, map_order, map_refund
from ..lib.sync import (
    FULFILLMENT_TOPICS,
    ORDER_TOPICS,
    OUT_FULFILLMENT,
    OUT_REFUND,
    OUT_STOCK,
    POLL_TOPIC,
    REFUND_TOPIC,
    UNINSTALL_TOPIC,
    order_content_digest,
    plan_fulfillment,
    plan_refund,
)
from ..lib.webhook import parse_timestamp

_logger = logging.getLogger(__name__)

# Financial statuses whose import registers a payment: its reference should be Shopify's
# transaction id, which webhook bodies do not carry.
_PAYMENT_STATUSES = ("paid", "partially_paid", "partially_refunded", "refunded")
_HOLDING_STATES = ("pending", "retry", "blocked")
# After a transient stock-push failure, other stock events of the backend wait this long
# in this process before calling Shopify again (one failing call, not one per event).
STOCK_BREAKER_SECONDS = 30.0
_STOCK_BREAKER = {}
_STOCK_BREAKER_LOCK = threading.Lock()


def _decimal(value):
    """Odoo's float money -> Decimal through its shortest repr (no binary noise)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    def _omni_handle_event(self, event):
        if self.channel != "shopify":
            return super()._omni_handle_event(event)
        self.ensure_one()
        topic = event.topic
        if event.direction == "in":
            if topic in ORDER_TOPICS or topic == POLL_TOPIC:
                return self._shopify_import_order(event)
            if topic == REFUND_TOPIC:
                return self._shopify_import_refund(event)
            if topic in FULFILLMENT_TOPICS:
                return self._shopify_import_fulfillment(event)
            if topic == UNINSTALL_TOPIC:
                return self._shopify_app_uninstalled(event)
        else:
            if topic == OUT_STOCK:
                return self._shopify_push_stock(event)
            if topic == OUT_FULFILLMENT:
                return self._shopify_push_fulfillment(event)
            if topic == OUT_REFUND:
                return self._shopify_push_refund(event)
        raise StaleEvent(_("The Shopify connector does not handle the topic %s; acknowledged without effect.",
                           topic))

    @staticmethod
    def _shopify_payload(event):
        payload = event._omni_payload_json()
        if not isinstance(payload, dict):
            raise PermanentError(_("The body is not a JSON object."))
        return payload

    # ================================================================ inbound

    def _shopify_import_order(self, event):
        """Order body (webhook or poll) -> canonical order -> the shared importer.

        A version already applied (same ``updated_at``, e.g. delivered by webhook and by
        poll) and a version that changes nothing the order sells (Shopify rewrites tags,
        fulfillment status... on every ``orders/updated``) only refresh the binding.
        """
        payload = self._shopify_payload(event)
        order_id = str(payload.get("id") or "")
        if not order_id:
            raise PermanentError(_("The order body has no id."))
        Binding = self.env["omni.binding"]
        binding = Binding._omni_bindings(self, "sale.order", [order_id]).get(order_id)
        sale = binding._omni_record() if binding else None
        version = parse_timestamp(payload.get("updated_at"))
        version = version.replace(microsecond=0) if version else None
        if sale and version and binding.external_updated_at == version:
            return sale
        if self._shopify_needs_transactions(payload, sale):
            payload = self._shopify_with_transactions(payload)
        try:
            order = map_order(payload)
        except ValidationError as error:
            raise BusinessError(_("Shopify order %(order)s cannot be read: %(error)s", order=order_id, error=error),
                                category="validation") from error
        digest = order_content_digest(order)
        if sale and sale.shopify_content_digest == digest:
            Binding._omni_bind(self, sale, order_id, external_updated_at=version)
            return sale
        sale = self.env["omni.order.importer"]._omni_import_order(self, order, event)
        values = {"shopify_content_digest": digest}
        if order.is_test and not sale.shopify_is_test:
            values["shopify_is_test"] = True
        sale.sudo().write(values)
        return sale

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

    def _shopify_with_transactions(self, payload):
        """The webhook body completed with the order's transactions read through the API.

        Only the transactions are taken: the rest of the body stays the version the
        webhook announced. When Shopify refuses (scope, order gone) the mapper's inference
        is kept and the problem is shown once in the exception queue; network failures and
        throttling make the event retry instead.
        """
        try:
            transactions = self._shopify_call("get_order_transactions",
                                              payload.get("admin_graphql_api_id") or payload["id"])
        except ShopifyApiError as error:
            _logger.warning("Shopify backend %s: transactions of order %s unavailable: %s", self.id,
                            payload.get("id"), mask_text(error.message))
            self.env["omni.exception"]._omni_raise(
                _("Could not read the transactions of Shopify orders (%s); payments are referenced by order "
                  "instead of by transaction.", error.message),
                backend=self, category="channel_api", severity="warning", dedupe_key="shopify:transactions")
            return payload
        if not transactions:
            return payload
        return dict(payload, transactions=transactions)

    def _shopify_import_refund(self, event):
        """``refunds/create`` -> credit note, return and refund payment, through the importer.

        A refund this backend created from an Odoo credit note is recognised by its binding
        and changes nothing; while such an export of the same order is still in flight,
        the webhook waits for it (never both ways for one refund).
        """
        payload = self._shopify_payload(event)
        order_id = str(payload.get("order_id") or "")
        refund_id = str(payload.get("id") or "")
        Binding = self.env["omni.binding"]
        if refund_id:
            existing = Binding._omni_lookup(self, "account.move", [refund_id]).get(refund_id)
            if existing:
                return existing
        if order_id and self._shopify_out_pending(OUT_REFUND, order_id, exclude_id=None):
            raise TransientError(_("A refund of order %s made in Odoo is being sent to Shopify; this refund "
                                   "waits until it is bound.", order_id), retry_after=30)
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id) if order_id else None
        try:
            refund = map_refund(payload, currency=sale.currency_id.name if sale else None)
        except ValidationError as error:
            raise BusinessError(_("Shopify refund %(refund)s cannot be read: %(error)s", refund=refund_id,
                                  error=error), category="validation") from error
        return self.env["omni.order.importer"]._omni_import_refund(self, refund, event)

    def _shopify_out_pending(self, topic, resource_key, exclude_id=None):
        """Whether an outgoing event of this topic and resource is queued or being sent."""
        self.env["omni.event"].flush_model()
        self.env.cr.execute(SQL(
            "SELECT 1 FROM omni_event WHERE backend_id = %s AND direction = 'out' AND topic = %s "
            "AND resource_key = %s AND state IN ('pending', 'retry') AND id != %s LIMIT 1",
            self.id, topic, resource_key, exclude_id or 0))
        return bool(self.env.cr.fetchone())

    def _shopify_import_fulfillment(self, event):
        """``fulfillments/*``: when Shopify ships, validate the matching Odoo delivery.

        The shipped quantities are set on the open delivery of the order and validated;
        what Shopify did not ship stays in a backorder. The delivery is bound to the
        fulfillment: a later ``fulfillments/update`` only refreshes the tracking.
        """
        if not self.shopify_handles_delivery:
            raise StaleEvent(_("Odoo handles the deliveries of this shop: Shopify's fulfillment is not applied "
                               "(it is usually the echo of a delivery Odoo sent)."))
        payload = self._shopify_payload(event)
        try:
            shipment = map_fulfillment(payload)
        except ValidationError as error:
            raise BusinessError(_("Shopify fulfillment cannot be read: %s", error), category="validation") from error
        Binding = self.env["omni.binding"]
        order_id = shipment.order_external_id
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            raise TransientError(_("Order %s of this fulfillment is not imported yet.", order_id), retry_after=60)
        fulfillment_id = shipment.external_id
        picking = Binding._omni_lookup(self, "stock.picking", [fulfillment_id]).get(fulfillment_id) \
            if fulfillment_id else None
        if picking:
            picking._shopify_set_tracking(shipment)
            return picking
        if (shipment.status or "").lower() in ("cancelled", "failure", "error"):
            raise StaleEvent(_("Fulfillment %(id)s has status %(status)s: nothing shipped.", id=fulfillment_id,
                               status=shipment.status))
        line_keys = [f"{order_id}/{line.order_line_external_id}" for line in shipment.lines]
        sale_lines = Binding._omni_lookup(self, "sale.order.line", line_keys)
        wanted = {}
        for line, key in zip(shipment.lines, line_keys, strict=True):
            sale_line = sale_lines.get(key)
            if not sale_line:
                raise BusinessError(_("Fulfillment %(id)s ships a line (%(line)s) that order %(order)s does not "
                                      "have in Odoo.", id=fulfillment_id, line=line.order_line_external_id,
                                      order=sale.name), category="validation", record=(sale._name, sale.id))
            wanted[sale_line] = wanted.get(sale_line, Decimal(0)) + line.quantity
        picking = self._shopify_validate_delivery(sale, wanted, fulfillment_id)
        picking._shopify_set_tracking(shipment)
        if fulfillment_id:
            Binding._omni_bind(self, picking, fulfillment_id)
        return picking

    def _shopify_validate_delivery(self, sale, wanted, fulfillment_id):
        """Validate the shipped quantities on the order's first open delivery (backorder for the rest)."""
        pickings = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")).sorted("id")
        if not pickings:
            raise BusinessError(_("Shopify shipped order %(order)s (fulfillment %(id)s) but it has no open delivery "
                                  "in Odoo.", order=sale.name, id=fulfillment_id), category="validation",
                                record=(sale._name, sale.id))
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
            raise BusinessError(_("Nothing Shopify shipped in fulfillment %(id)s is left to deliver on %(picking)s.",
                                  id=fulfillment_id, picking=picking.name), category="validation",
                                record=(picking._name, picking.id))
        picking.with_context(skip_backorder=True, omni_shopify_from_channel=True).button_validate()
        picking.message_post(body=_("Validated from Shopify fulfillment %s.", fulfillment_id))
        return picking

    def _shopify_app_uninstalled(self, event):
        """The shop removed the app: archive the backend, forget its token, tell a person."""
        self.sudo().write({"active": False, "shopify_access_token": False})
        self.message_post(body=_("The Shopify app was uninstalled from the shop: backend archived."))
        self.env["omni.exception"]._omni_raise(
            _("The Shopify app was uninstalled from %(shop)s. The backend %(name)s is archived and its token "
              "forgotten: nothing is imported or sent any more. Reinstall the app, enter the new credentials and "
              "unarchive the backend to resume.", shop=self.shopify_shop_domain or event.resource_key,
              name=self.name),
            backend=self, category="channel_api", severity="critical", dedupe_key="shopify:app_uninstalled")
        return self

    # =============================================================== outbound

    # ------------------------------------------------------------------ stock

    def _shopify_push_stock(self, event):
        """Push this event's inventory level together with up to 249 other queued ones.

        One ``inventorySetQuantities`` call per run (≤ 250 quantities, Shopify's limit):
        the other ready stock events of the backend are locked ``FOR UPDATE SKIP LOCKED``
        (a parallel worker takes the next 250), only quantities that differ from what was
        last sent are sent, and all of them are marked done with this one. A failure
        rolls the whole batch back; the idempotency key makes a retry after a timeout
        apply once.
        """
        self._shopify_check_stock_breaker()
        Event = self.env["omni.event"]
        events = event | self._shopify_claim_stock_events(event, INVENTORY_BATCH_SIZE - 1)
        Variant = self.env["omni.shopify.variant"]
        pairs = Variant._shopify_pairs_from_events(events)
        sent = Variant._shopify_send_levels(self, pairs, event_ids=events.ids)
        others = events - event
        if others:
            now = fields.Datetime.now()
            Event.flush_model()
            self.env.cr.execute(SQL(
                "UPDATE omni_event SET state = 'done', attempts = attempts + 1, processed_at = %s, "
                "next_attempt_at = NULL, last_error = NULL, write_date = %s, write_uid = %s WHERE id IN %s",
                now, now, self.env.uid, tuple(others.ids)))
            others.invalidate_recordset()
        _logger.debug("Shopify backend %s: stock push of %s events sent %s quantities", self.id, len(events), sent)

    def _shopify_claim_stock_events(self, event, limit):
        """Lock up to ``limit`` other ready stock events of this backend (same readiness rule
        as the processor's claim: due, and no earlier unfinished event of the same level)."""
        if limit <= 0:
            return self.env["omni.event"]
        self.env["omni.event"].flush_model()
        self.env.cr.execute(SQL(
            """
            SELECT e.id
              FROM omni_event e
             WHERE e.backend_id = %(backend)s AND e.direction = 'out' AND e.topic = %(topic)s
               AND e.state IN ('pending', 'retry') AND COALESCE(e.next_attempt_at, e.received_at) <= %(now)s
               AND e.id != %(current)s
               AND NOT EXISTS (
                   SELECT 1 FROM omni_event p
                    WHERE p.backend_id = e.backend_id AND p.direction = e.direction
                      AND p.resource_key = e.resource_key AND p.state IN %(holding)s AND p.id != %(current)s
                      AND (COALESCE(p.source_ts, p.received_at), p.id) < (COALESCE(e.source_ts, e.received_at), e.id))
             ORDER BY e.id
             LIMIT %(limit)s
               FOR UPDATE OF e SKIP LOCKED
            """,
            backend=self.id, topic=OUT_STOCK, now=fields.Datetime.now(), current=event.id,
            holding=_HOLDING_STATES, limit=limit,
        ))
        return self.env["omni.event"].browse([row[0] for row in self.env.cr.fetchall()])

    def _shopify_check_stock_breaker(self):
        with _STOCK_BREAKER_LOCK:
            until = _STOCK_BREAKER.get((self.env.cr.dbname, self.id), 0.0)
        wait = until - time.monotonic()
        if wait > 0:
            raise TransientError(_("A stock push to Shopify failed moments ago; waiting %.0f s before trying again.",
                                   wait), retry_after=wait)

    def _shopify_open_stock_breaker(self, retry_after=None):
        """Remember (in this process: rollbacks cannot undo it) that Shopify just failed."""
        with _STOCK_BREAKER_LOCK:
            _STOCK_BREAKER[(self.env.cr.dbname, self.id)] = time.monotonic() + max(
                float(retry_after or 0), STOCK_BREAKER_SECONDS)

    def _shopify_set_quantities(self, changes, key):
        """``set_inventory_quantities`` with the breaker; returns the per-item errors Shopify named.

        :return: ``{index in changes: message}`` for items Shopify refused (unknown
            inventory item or location); ``{}`` when everything was applied
        """
        try:
            self._shopify_call("set_inventory_quantities", changes, reason="correction", idempotency_key=key)
        except ShopifyTransientError as error:
            self._shopify_open_stock_breaker(error.retry_after)
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
            raise StaleEvent(_("The delivery no longer exists or is not done."))
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
            raise StaleEvent(_("Delivery %s ships no Shopify line item.", picking.name))
        fulfillment_orders = self._shopify_call("fulfillment_orders", order_id)
        preferred = self.shopify_location_ids._shopify_for_location(picking.location_id)
        per_location, missing = plan_fulfillment(fulfillment_orders, wanted,
                                                 preferred.shopify_location_id if preferred else None)
        tracking = picking._shopify_tracking()
        created = []
        for _location, groups in per_location:
            fulfillment = self._shopify_call("create_fulfillment", groups, tracking=tracking,
                                             notify_customer=self.shopify_notify_customer)
            created.append(str(legacy_id((fulfillment or {}).get("id"))))
        for fulfillment_id in created:
            Binding._omni_bind(self, picking, fulfillment_id)
        if missing:
            picking.message_post(body=_("Shopify had nothing left to fulfil for some shipped quantities (already "
                                        "fulfilled there?): %s",
                                        ", ".join(f"{item} x {qty}" for item, qty in missing.items())))
        if created:
            picking.message_post(body=_("Fulfilled in Shopify (%(ids)s), tracking %(number)s.",
                                        ids=", ".join(created), number=tracking.get("number") or _("none")))
        return picking

    # ----------------------------------------------------------------- refund

    def _shopify_push_refund(self, event):
        """A credit note posted in Odoo on a Shopify order: create the refund in Shopify.

        The credit note is bound to the Shopify refund it created, so the
        ``refunds/create`` webhook that follows is recognised and imports nothing. The
        outbox event's key is the mutation's idempotency key: a retry refunds once.
        """
        payload = self._shopify_payload(event)
        move = self.env["account.move"].browse(payload.get("move_id") or 0).exists()
        if not move or move.state != "posted" or move.move_type != "out_refund":
            raise StaleEvent(_("The credit note no longer exists or is not posted."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, move):
            return move
        product_lines = move.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        sale = product_lines.sale_line_ids.order_id.filtered(lambda order: order.omni_backend_id == self)[:1]
        if not sale:
            raise StaleEvent(_("Credit note %s is not linked to a Shopify order of this backend.", move.name))
        line_ids = Binding._omni_external_ids(self, product_lines.sale_line_ids)
        lines = []
        for line in product_lines:
            external = line_ids.get(line.sale_line_ids[:1].id) or ""
            lines.append({"external_id": external.split("/", 1)[1] if "/" in external else "",
                          "quantity": _decimal(line.quantity), "amount": _decimal(line.price_total)})
        payments = sale.omni_payment_ids.filtered(lambda p: p.payment_type == "inbound")
        parent = next((p.omni_transaction_id for p in payments if p.omni_transaction_id), None)
        gateway = sale.omni_payment_gateway or (payments[:1].omni_gateway if payments else None)
        arguments = plan_refund(lines, _decimal(move.amount_total), gateway, parent,
                                note=_("Odoo credit note %s", move.name))
        refund = self._shopify_call("create_refund", sale.omni_external_id,
                                    idempotency_key=self._shopify_idempotency_key(event.idempotency_key),
                                    **arguments)
        if not refund:
            raise TransientError(_("Shopify created no refund and named no error; retrying."))
        refund_id = str(legacy_id(refund.get("id")))
        Binding._omni_bind(self, move, refund_id)
        move.sudo().write({"omni_backend_id": self.id, "omni_external_id": refund_id})
        self._shopify_register_exported_refund(sale, move, refund, refund_id)
        move.message_post(body=_("Refund %s created in Shopify.", refund_id))
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
            transactions.append(Payment(
                gateway=node.get("gateway") or sale.omni_payment_gateway or "shopify",
                transaction_id=str(legacy_id(node.get("id"))), amount=Decimal(str(money["amount"])),
                currency=money.get("currencyCode") or sale.currency_id.name, kind="refund", status="success"))
        if not transactions:
            return
        created = parse_timestamp(refund.get("createdAt"))
        canonical = Refund(
            external_id=refund_id, order_external_id=sale.omni_external_id,
            created_at=(created or fields.Datetime.now()).replace(tzinfo=timezone.utc), currency=sale.currency_id.name,
            amount=sum((tx.amount for tx in transactions), Decimal(0)), transactions=transactions)
        self.env["omni.order.importer"]._omni_register_refund_payments(self, sale, canonical, move)
