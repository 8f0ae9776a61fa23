"""Odoo -> eBay exporters (the outbox): stock in batches of 25 with the per-listing limits,
and shipments with tracking (partial deliveries too)."""

import logging

from odoo import api, fields, models

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, StaleEvent

from ..lib.ebay_client import BULK_PRICE_QUANTITY_MAX, EbayTransientError
from ..lib.ebay_mapper import shipping_fulfillment_payload, stock_requests
from .ebay_backend import OUT_STOCK
from .ebay_listing import REVISIONS_PER_DAY

_logger = logging.getLogger(__name__)
STOCK_PAUSE_SECONDS = 60
REVISION_LIMIT_ERROR = 25019


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ stock

    @api.private
    def _ebay_enqueue_stock(self, listings):
        """Queue one stock event per SKU (coalesced: a SKU already queued is not queued again)."""
        self.ensure_one()
        listings = listings.filtered(lambda listing: listing.active and listing.product_id)
        if not listings or not self.ebay_export_stock:
            return 0
        return self.env["omni.event"].sudo()._omni_enqueue_outgoing_many(
            self, OUT_STOCK, {listing.sku: {"sku": listing.sku} for listing in listings},
            resource_model="omni.ebay.listing")

    def action_ebay_push_stock(self):
        """Queue the quantity of every listing."""
        check_channel_action(self.env)
        self.ensure_one()
        self._ebay_check_channel()
        count = self._ebay_enqueue_stock(self.ebay_listing_ids)
        return self._ebay_notify(self.env._("eBay stock"), self.env._("%s listings queued for export.", count))

    @api.private
    def _ebay_push_stock(self, event):
        """Push this event's SKU with up to 24 other queued ones (one bulkUpdatePriceQuantity).

        The event's own listing is checked first: not due yet (minimum interval, or its 250
        revisions of the UTC day used), it waits with ``retry_after`` and nothing is sent.
        """
        Listing = self.env["omni.ebay.listing"].sudo()
        listing = Listing.search([("backend_id", "=", self.id), ("sku", "=", event.resource_key)], limit=1)
        if not listing or not listing.active or not listing.product_id:
            raise StaleEvent(self.env._("SKU %s has no active eBay listing with a product.", event.resource_key))
        now = fields.Datetime.now()
        due = listing._ebay_due_at(now)
        if due > now:
            raise EbayTransientError(
                self.env._("Listing %(sku)s may be revised again at %(due)s UTC.", sku=listing.sku, due=due),
                retry_after=max(int((due - now).total_seconds()), 1))
        Event = self.env["omni.event"]
        events = event | Event._omni_claim_batch(self, OUT_STOCK, BULK_PRICE_QUANTITY_MAX - 1, exclude=event)
        self._omni_push_outbox_batch(events)
        return listing

    def _omni_push_outbox_batch(self, events):
        """Stock events (the first is the processor's own, already checked due): siblings whose
        listing is not due wait for their due time; the rest go in one call of at most 25.
        A SKU eBay refuses for its daily revision limit is queued again for the next UTC day;
        any other refusal opens an exception for a person."""
        if self.channel != "ebay":
            return super()._omni_push_outbox_batch(events)
        self.ensure_one()
        now = fields.Datetime.now()
        Listing = self.env["omni.ebay.listing"].sudo()
        listings = {listing.sku: listing for listing in Listing.search(
            [("backend_id", "=", self.id), ("sku", "in", [event.resource_key for event in events])])}
        head, siblings = events[:1], events[1:]
        send = {}
        for event in siblings:
            listing = listings.get(event.resource_key)
            if not listing or not listing.active or not listing.product_id:
                event._omni_finish_many("skipped", error="no active listing with a product")
                continue
            due = listing._ebay_due_at(now)
            if due > now:
                event._omni_finish_many("retry", next_attempt_at=due)
            else:
                send[listing.sku] = listing
        send[head.resource_key] = listings[head.resource_key]
        levels = {sku: listing._ebay_free_quantity() for sku, listing in send.items()}
        try:
            responses = self._ebay_call("bulk_update_price_quantity", stock_requests(levels))
        except EbayTransientError as error:
            raise self._omni_pause_on_error(
                error, OUT_STOCK, max(float(error.retry_after or 0), STOCK_PAUSE_SECONDS),
                self.env._("A stock push to eBay failed moments ago")) from None
        by_sku = {response.get("sku"): response for response in responses}
        day = now.date()
        refused, requeue = {}, []
        for sku, listing in send.items():
            response = by_sku.get(sku) or {}
            if int(response.get("statusCode") or 200) < 300:
                listing.write({
                    "last_quantity": levels[sku], "last_sent_at": now, "revision_day": day, "last_error": False,
                    "revision_count": (listing.revision_count if listing.revision_day == day else 0) + 1})
                continue
            error = (response.get("errors") or [{}])[0]
            message = f"{error.get('errorId')} {error.get('message') or ''}".strip()[:200]
            values = {"last_error": message}
            if error.get("errorId") == REVISION_LIMIT_ERROR:
                values.update({"revision_day": day, "revision_count": REVISIONS_PER_DAY})
                requeue.append(listing)
            else:
                refused[sku] = message
            listing.write(values)
        sent_siblings = siblings.filtered(lambda e: e.resource_key in send)
        sent_siblings.filtered(lambda e: e.resource_key not in refused)._omni_finish_many("done")
        for sku, message in refused.items():
            if sku != head.resource_key:
                sent_siblings.filtered(lambda e, sku=sku: e.resource_key == sku)._omni_finish_many(
                    "blocked", error=message)
            self.env["omni.exception"]._omni_raise(
                self.env._("eBay refused the quantity of SKU %(sku)s: %(error)s", sku=sku, error=message),
                backend=self, category="channel_api", record=send[sku],
                dedupe_key=f"ebay:stock:{sku}")
        Event = self.env["omni.event"].sudo()
        for listing in requeue:
            # This batch's events are finished; a new one per SKU waits for the next UTC day (not
            # coalesced: this transaction holds the batch's events, which still look pending).
            Event._omni_enqueue_outgoing(self, OUT_STOCK, {"sku": listing.sku}, resource_model=listing._name,
                                         resource_key=listing.sku,
                                         idempotency_key=f"stock:{listing.sku}:next-day:{now.isoformat()}")
        _logger.debug("eBay backend %s: stock push of %s SKUs, %s refused", self.id, len(send), len(refused))
        return len(send)

    # ------------------------------------------------------------------ shipments

    @api.private
    def _ebay_push_shipment(self, event):
        """A done delivery of an eBay order: ``createShippingFulfillment`` for the shipped line
        items and quantities (a partial delivery ships part), with carrier and tracking."""
        payload = self._ebay_payload(event)
        picking = self.env["stock.picking"].sudo().browse(payload.get("picking_id") or 0).exists()
        if not picking or picking.state != "done":
            raise StaleEvent(self.env._("The delivery no longer exists or is not done."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, picking):
            return picking
        sale = picking.sale_id
        moves = picking.move_ids.filtered(lambda m: m.state == "done" and m.sale_line_id and m.quantity)
        line_ids = Binding._omni_external_ids(self, moves.sale_line_id)
        wanted = {}
        for move in moves:
            external = line_ids.get(move.sale_line_id.id) or ""
            item = external.split("/", 1)[1] if "/" in external else ""
            if not item or ":" in item or item.startswith("ship-"):
                continue
            quantity = move.product_uom._compute_quantity(move.quantity, move.sale_line_id.product_uom_id)
            wanted[item] = wanted.get(item, 0) + round(quantity)
        if not wanted:
            raise StaleEvent(self.env._("Delivery %s ships no eBay line item.", picking.name))
        tracking = picking._ebay_tracking()
        if not tracking["number"]:
            raise BusinessError(self.env._("Delivery %s has no tracking number: eBay needs one.", picking.name),
                                category="validation", record=(picking._name, picking.id))
        body = shipping_fulfillment_payload(sorted(wanted.items()), tracking["carrier"], tracking["number"],
                                            picking.date_done or fields.Datetime.now())
        fulfillment_id = self._ebay_call("create_shipping_fulfillment", sale.omni_external_id, body)
        Binding._omni_bind(self, picking, fulfillment_id or f"picking:{picking.id}")
        picking.message_post(body=self.env._("Shipment sent to eBay (tracking %s).", tracking["number"]))
        return picking

    @api.private
    def _ebay_notify(self, title, message, kind="success"):
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": title, "message": message, "type": kind, "sticky": kind != "success"}}
