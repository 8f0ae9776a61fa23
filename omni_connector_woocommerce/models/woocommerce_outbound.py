"""Odoo -> WooCommerce exporters (the outbox): stock in batches of 100, shipments, refunds.

Every exporter is idempotent: stock sends only what differs from the quantity last sent,
shipments and refunds are bound to what they created in the store.
"""

import logging
from datetime import timezone
from decimal import ROUND_HALF_UP, Decimal

from odoo import api, fields, models

from odoo.addons.omni_connector_base.canonical import Payment, Refund
from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import StaleEvent, TransientError

from ..lib.client import BATCH_LIMIT
from ..lib.errors import WooTransientError
from ..lib.mapper import (
    FEE_LINE_PREFIX,
    SHIPPING_LINE_PREFIX,
    TRACKING_META,
    refund_payload,
    shipment_note,
    stock_batches,
    tracking_item,
)
from ..lib.webhook import parse_gmt
from .omni_backend import OUT_STOCK

_logger = logging.getLogger(__name__)
# After a transient stock-push failure, the backend's stock pushes wait at least this long.
STOCK_BREAKER_SECONDS = 30.0
# The order items a refund's line_items may name (WooCommerce refunds them all through that list),
# with the prefix of their sale lines' binding after "<order id>/" (the importer's line keys:
# "315", "shipping:317", "fee:319").
REFUNDABLE_ITEMS = {"line_items": "", "shipping_lines": SHIPPING_LINE_PREFIX, "fee_lines": FEE_LINE_PREFIX}


def _decimal(value):
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ stock

    def _woocommerce_enqueue_stock(self, bindings, force=False):
        """Queue a stock export of ``bindings`` (one event per binding, coalesced while pending)."""
        self.ensure_one()
        items = {str(binding.id): {"binding_id": binding.id, "force": bool(force)} for binding in bindings}
        return self.env["omni.event"].sudo()._omni_enqueue_outgoing_many(
            self, OUT_STOCK, items, resource_model="omni.woocommerce.product"
        )

    def action_woocommerce_push_stock(self):
        """Queue the quantity of every bound product, sent before or not."""
        check_channel_action(self.env)
        self.ensure_one()
        self._woocommerce_check_channel()
        bindings = self.woocommerce_product_ids.filtered(lambda b: b.product_id and b.export_stock)
        count = self._woocommerce_enqueue_stock(bindings, force=True)
        return self._woocommerce_notify(
            self.env._("WooCommerce stock"), self.env._("%s stock levels queued for export.", count)
        )

    @api.model
    def _cron_woocommerce_stock_sync(self):
        """Stock backstop: queue every bound product whose free quantity differs from what was sent."""
        backends = self.sudo().search([("channel", "=", "woocommerce"), ("woocommerce_export_stock", "=", True)])
        for backend in backends.filtered(lambda b: b._woocommerce_has_credentials()):
            bindings = backend.woocommerce_product_ids.filtered(lambda b: b.product_id and b.export_stock)
            quantities = backend._woocommerce_free_quantities(bindings)
            changed = bindings.filtered(
                lambda b, sent=quantities: sent[b.id] != b.last_sent_qty or not b.last_sent_at
            )
            backend._woocommerce_enqueue_stock(changed)
            self.env["omni.event"]._omni_commit_progress(1)
        return True

    def _woocommerce_free_quantities(self, bindings):
        """``{binding id: free quantity (int, >= 0)}`` in the backend's warehouse."""
        products = bindings.product_id.with_context(warehouse_id=self.warehouse_id.id) if self.warehouse_id else \
            bindings.product_id
        # Quants changed in this transaction (stock moves validated, a handler run right after)
        # do not invalidate the computed quantities: read them fresh.
        products.invalidate_recordset(["free_qty"])
        free = {product.id: product.free_qty for product in products}
        return {binding.id: max(int(free.get(binding.product_id.id, 0)), 0) for binding in bindings}

    def _woocommerce_push_stock(self, event):
        """Push this event's stock level with up to 99 other queued ones (one batch call each group)."""
        Event = self.env["omni.event"]
        events = event | Event._omni_claim_batch(self, OUT_STOCK, BATCH_LIMIT - 1, exclude=event)
        sent = self._omni_push_outbox_batch(events)
        _logger.debug("WooCommerce backend %s: stock push of %s events sent %s levels", self.id, len(events), sent)

    def _omni_push_outbox_batch(self, events):
        """Only quantities that differ from what was last sent, at most 100 per batch call
        (``products/batch`` for simple products, ``products/<id>/variations/batch`` for
        variations); the other events are finished with one write."""
        if self.channel != "woocommerce":
            return super()._omni_push_outbox_batch(events)
        self.ensure_one()
        Binding = self.env["omni.woocommerce.product"]
        forced, ids = set(), []
        for item in events:
            payload = item._omni_payload_json() or {}
            if payload.get("binding_id"):
                ids.append(payload["binding_id"])
                if payload.get("force"):
                    forced.add(payload["binding_id"])
        bindings = Binding.browse(ids).exists().filtered(lambda b: b.product_id and b.export_stock)
        quantities = self._woocommerce_free_quantities(bindings)
        changed = bindings.filtered(
            lambda b: b.id in forced or not b.last_sent_at or quantities[b.id] != b.last_sent_qty
        )
        by_target = {(b.wc_product_id, b.wc_variation_id or 0): b for b in changed}
        levels = [(b.wc_product_id, b.wc_variation_id or None, quantities[b.id]) for b in changed]
        sent = {}
        for parent, updates in stock_batches(levels, BATCH_LIMIT):
            try:
                if parent is None:
                    answer = self._woocommerce_call("batch_update_products", updates)
                else:
                    answer = self._woocommerce_call("batch_update_variations", parent, updates)
            except WooTransientError as error:
                # Every worker's other stock events then wait (one failing call, not one per event).
                self._omni_pause_on_error(
                    error, OUT_STOCK, max(float(error.retry_after or 0), STOCK_BREAKER_SECONDS),
                    self.env._("A stock push to WooCommerce failed moments ago"),
                )
                raise
            refused = {}
            for item in (answer or {}).get("update") or []:
                if isinstance(item, dict) and item.get("error"):
                    refused[int(item.get("id") or 0)] = (item["error"] or {}).get("message") or ""
            for update in updates:
                key = (parent, update["id"]) if parent is not None else (update["id"], 0)
                binding = by_target.get(key)
                if binding is None:
                    continue
                if update["id"] in refused:
                    self.env["omni.exception"]._omni_raise(
                        self.env._("WooCommerce refused the stock of %(sku)s: %(error)s",
                                   sku=binding.sku or binding.wc_product_id, error=refused[update["id"]]),
                        backend=self, category="channel_api", record=binding,
                        dedupe_key=f"woocommerce:stock:{binding.id}",
                    )
                else:
                    sent[binding.id] = update["stock_quantity"]
        Binding._woocommerce_mark_sent(sent)
        events[1:]._omni_finish_many("done")
        return len(sent)

    # --------------------------------------------------------------- shipment

    def _woocommerce_push_shipment(self, event):
        """A done delivery of a WooCommerce order: a customer note with carrier and tracking; the
        order becomes ``completed`` when nothing is left to deliver (a partial one only adds the note)."""
        payload = self._woocommerce_payload(event)
        picking = self.env["stock.picking"].browse(payload.get("picking_id") or 0).exists()
        if not picking or picking.state != "done":
            raise StaleEvent(self.env._("The delivery no longer exists or is not done."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, picking):
            return picking
        sale = picking.sale_id
        order_id = sale.omni_external_id
        open_deliveries = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
        )
        partial = bool(open_deliveries)
        carrier, number, url = picking._woocommerce_tracking()
        note = self._woocommerce_call(
            "add_order_note", order_id, shipment_note(carrier, number, url, partial=partial), customer_note=True
        )
        update = {}
        if self.woocommerce_shipment_tracking and number:
            order = self._woocommerce_call("get_order", order_id) or {}
            items = next(
                (m.get("value") for m in order.get("meta_data") or [] if m.get("key") == TRACKING_META), None
            ) or []
            shipped_at = (picking.date_done or fields.Datetime.now()).replace(tzinfo=timezone.utc)
            items = [*items, tracking_item(carrier, number, url, shipped_at)]
            update["meta_data"] = [{"key": TRACKING_META, "value": items}]
        if not partial:
            update["status"] = "completed"
        if update:
            self._woocommerce_call("update_order", order_id, update)
        Binding._omni_bind(self, picking, f"note:{(note or {}).get('id') or picking.id}")
        picking.message_post(
            body=self.env._("Shipment sent to WooCommerce (%(kind)s), tracking %(number)s.",
                            kind=self.env._("partial") if partial else self.env._("order completed"),
                            number=number or self.env._("none"))
        )
        return picking

    # ----------------------------------------------------------------- refund

    def _woocommerce_push_refund(self, event):
        """A credit note posted in Odoo on a WooCommerce order: ``POST orders/<id>/refunds``.

        Every credit note line that refunds an order item goes into ``line_items`` with its
        ``refund_total`` (untaxed) and ``refund_tax`` per WooCommerce rate id: products, and also
        the order's shipping and fee items (their ids are in the same list: WooCommerce's refund
        API reads ``line_items`` against every item of the order and files them in the refund's
        ``shipping_lines``/``fee_lines``), with quantity 0 as its admin screen sends them.
        ``api_refund`` is true only when the credit note says "Refund through the gateway"
        (WooCommerce's default would pay the customer back); the credit note is bound to the
        refund, so the ``order.updated`` that follows imports nothing."""
        move, sale, product_lines, line_refs = self._omni_refund_push_start(event)
        if not sale:
            return move  # pushed already: bound to the WooCommerce refund it created
        Binding = self.env["omni.binding"]
        order = self._woocommerce_call("get_order", sale.omni_external_id) or {}
        items = {}  # the sale line's channel ref -> (kind, item id, [(rate id, the item's tax of that rate)])
        for kind, prefix in REFUNDABLE_ITEMS.items():
            for item in order.get(kind) or []:
                items[f"{prefix}{item.get('id')}"] = (kind, str(item.get("id")), [
                    (str(t.get("id")), abs(_decimal(t.get("total") or 0))) for t in item.get("taxes") or []
                ])
        minor = Decimal(1).scaleb(-move.currency_id.decimal_places)  # amounts as the store writes them: "40.50"
        lines = []
        for line in product_lines:
            ref = line_refs.get(line.id) or ""
            if ref not in items:
                continue  # rounding and separate discount lines: in the amount only
            kind, item_id, rates = items[ref]
            untaxed = _decimal(line.price_subtotal).quantize(minor)
            tax = _decimal(line.price_total).quantize(minor) - untaxed
            weight = sum((amount for _rate, amount in rates), Decimal(0))
            split = {}
            for index, (rate_id, amount) in enumerate(rates):
                if index == len(rates) - 1:
                    split[rate_id] = tax - sum(split.values(), Decimal(0))
                else:
                    share = tax * amount / weight if weight else Decimal(0)
                    split[rate_id] = share.quantize(minor, rounding=ROUND_HALF_UP)
            lines.append({
                "id": item_id, "quantity": _decimal(line.quantity) if kind == "line_items" else Decimal(0),
                "refund_total": untaxed, "refund_tax": split,
            })
        body = refund_payload(
            lines,
            _decimal(move.amount_total).quantize(minor),
            api_refund=move.woocommerce_refund_via_gateway,
            api_restock=move.woocommerce_restock,
            reason=self.env._("Odoo credit note %s", move.name),
        )
        refund = self._woocommerce_call("create_refund", sale.omni_external_id, body)
        if not refund or not refund.get("id"):
            raise TransientError(self.env._("WooCommerce created no refund and named no error; retrying."))
        refund_id = str(refund["id"])
        Binding._omni_bind(self, move, refund_id)
        move.sudo().write({"omni_backend_id": self.id, "omni_external_id": refund_id})
        if refund.get("refunded_payment") and move.payment_state in ("not_paid", "partial"):
            created = parse_gmt(refund.get("date_created_gmt"))
            canonical = Refund(
                external_id=refund_id,
                order_external_id=sale.omni_external_id,
                created_at=created or fields.Datetime.now().replace(tzinfo=timezone.utc),
                currency=sale.currency_id.name,
                amount=_decimal(move.amount_total),
                transactions=[Payment(
                    gateway=sale.omni_payment_gateway or "woocommerce",
                    transaction_id=f"wc-refund-{refund_id}",
                    amount=_decimal(move.amount_total),
                    currency=sale.currency_id.name,
                    kind="refund",
                )],
            )
            self.env["omni.order.importer"]._omni_register_refund_payments(self, sale, canonical, move)
        move.message_post(
            body=self.env._("Refund %(id)s created in WooCommerce (%(how)s).", id=refund_id,
                            how=self.env._("through the gateway") if body["api_refund"]
                            else self.env._("recorded only, money returned elsewhere"))
        )
        return move
