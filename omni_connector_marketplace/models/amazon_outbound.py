"""Odoo -> Amazon: shipment confirmations, FBM stock through the listings feed, FBA inventory in.

* ``shipment/confirm``: a done delivery of an FBM order -> ``confirmShipment`` (Orders API, 2 req/s,
  burst 10) of one package with its carrier, tracking number and the order items and quantities it
  carries, so a partial delivery confirms a partial shipment; the backorder's delivery confirms
  the rest later.
* ``stock/feed``: every 15 minutes the free quantity of each FBM listing is compared with what was
  last sent; changed SKUs are queued (one outbox event per SKU, coalesced) and sent together in
  one ``JSON_LISTINGS_FEED`` (``PARTIAL_UPDATE`` of ``fulfillment_availability``, channel DEFAULT)
  of up to :data:`FEED_MAX_MESSAGES` SKUs: ``createFeedDocument``, upload, ``createFeed``. Every
  5 minutes the submitted feeds are checked (``getFeed``) and their processing report read;
  each per-SKU error becomes an exception for a person. (The flat-file and XML listings feeds
  no longer work since 2025-07-31.)
* FBA inventory: hourly, ``getInventorySummaries`` (paged through ``nextToken`` without pause: it
  expires after 30 s) sets the FBA warehouse's quantity of each SKU by an inventory adjustment.
  Amazon's figure is authoritative there.
"""

import json
import logging

from odoo import api, fields, models

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, OmniError, StaleEvent, TransientError
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.amazon_mapper import confirm_shipment_payload, feed_issues, inventory_quantities, listings_feed
from .amazon_backend import OUT_STOCK

_logger = logging.getLogger(__name__)

FEED_MAX_MESSAGES = 10000  # SKUs per listings feed (keeps each document well under Amazon's 10 MB)
STOCK_PAUSE_SECONDS = 60


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ shipments

    @api.private
    def _amazon_push_shipment(self, event):
        payload = event._omni_payload_json()
        picking = self.env["stock.picking"].sudo().browse(payload.get("picking_id")).exists()
        if not picking or picking.state != "done":
            raise StaleEvent(self.env._("The delivery of this shipment no longer exists or is not done."))
        if picking.amazon_confirmed_at:
            return picking
        sale = picking.sale_id
        marketplace = sale.omni_marketplace_id
        line_ids = self.env["omni.binding"]._omni_external_ids(self, picking.move_ids.sale_line_id)
        items = {}
        for move in picking.move_ids.filtered(lambda m: m.state == "done" and m.quantity > 0):
            external = line_ids.get(move.sale_line_id.id) or ""
            item_id = external.split("/", 1)[1] if "/" in external else ""
            if not item_id or "-" in item_id:  # shipping / fee lines are not order items
                continue
            quantity = move.product_uom._compute_quantity(move.quantity, move.sale_line_id.product_uom_id)
            items[item_id] = items.get(item_id, 0) + quantity
        if not items:
            raise StaleEvent(self.env._("Delivery %s carries no Amazon order item.", picking.name))
        carrier, tracking, method = picking._amazon_tracking()
        if not tracking:
            raise BusinessError(
                self.env._("Delivery %s has no tracking number: Amazon needs one to confirm the shipment. Enter it "
                           "on the delivery (Tracking Number (Amazon)), then retry.", picking.name),
                category="validation", record=(picking._name, picking.id))
        detail = confirm_shipment_payload(
            picking.id, carrier, tracking, picking.date_done or fields.Datetime.now(),
            sorted((item_id, round(quantity)) for item_id, quantity in items.items()),
            shipping_method=method)
        if detail["orderItems"] and any(q <= 0 for q in (i["quantity"] for i in detail["orderItems"])):
            raise BusinessError(self.env._("Delivery %s ships fractions of units.", picking.name),
                                category="validation")
        self._amazon_client().confirm_shipment(sale.omni_external_id, marketplace.marketplace_ref, detail)
        picking.amazon_confirmed_at = fields.Datetime.now()
        sale.message_post(body=self.env._(
            "Shipment confirmed to Amazon: %(carrier)s %(tracking)s (%(count)s item(s)).",
            carrier=detail["carrierCode"], tracking=tracking, count=sum(i["quantity"] for i in detail["orderItems"])))
        return picking

    # ------------------------------------------------------------------ FBM stock

    @api.private
    def _amazon_stock_warehouse(self):
        self.ensure_one()
        return self.warehouse_id or self.marketplace_ids.warehouse_id[:1]

    @api.private
    def _amazon_free_quantities(self, listings):
        """``{listing id: free quantity}`` of FBM listings in the account's warehouse (whole units, >= 0)."""
        warehouse = self._amazon_stock_warehouse()
        self.env["stock.quant"].flush_model()
        listings.product_id.invalidate_recordset(["free_qty"])  # computed from the quants, never stale here
        products = listings.product_id.with_context(warehouse_id=warehouse.id) if warehouse else listings.product_id
        free = {row["id"]: row["free_qty"] for row in products.read(["free_qty"])}
        return {listing.id: max(int(free.get(listing.product_id.id, 0)), 0) for listing in listings}

    @api.private
    def _amazon_queue_stock_changes(self, force=False):
        """Queue a ``stock/feed`` event for each FBM listing whose free quantity changed since the last feed
        (all of them with ``force``); returns how many were queued."""
        self.ensure_one()
        listings = self.env["omni.amazon.listing"].sudo().search([
            ("backend_id", "=", self.id), ("fulfillment_channel", "=", "DEFAULT"), ("export_stock", "=", True),
            ("product_id", "!=", False)])
        quantities = self._amazon_free_quantities(listings)
        changed = {
            listing.seller_sku: {"sku": listing.seller_sku}
            for listing in listings
            if force or not listing.quantity_sent or listing.last_quantity_sent != quantities[listing.id]
        }
        if not changed:
            return 0
        queued = self.env["omni.event"].sudo()._omni_enqueue_outgoing_many(
            self, OUT_STOCK, changed, resource_model="omni.amazon.listing")
        self.env["omni.event"]._omni_trigger_processor()
        return queued

    @api.private
    def _amazon_push_stock(self, event):
        """Send the current free quantity of the event's SKU and of every other queued one in one feed."""
        Event = self.env["omni.event"].sudo()
        self._omni_check_pause(OUT_STOCK)
        others = Event._omni_claim_batch(self, OUT_STOCK, FEED_MAX_MESSAGES - 1, exclude=event)
        skus = [event.resource_key, *others.mapped("resource_key")]
        listings = self.env["omni.amazon.listing"].sudo().search([
            ("backend_id", "=", self.id), ("fulfillment_channel", "=", "DEFAULT"), ("seller_sku", "in", skus),
            ("product_id", "!=", False)])
        quantities = self._amazon_free_quantities(listings)
        sent = {listing.seller_sku: quantities[listing.id] for listing in listings}
        if not sent:
            others._omni_finish_many("skipped")
            raise StaleEvent(self.env._("No FBM listing left for these SKUs."))
        if not self.amazon_seller_id:
            raise BusinessError(self.env._("Enter the Seller ID (merchant token) of %s: the listings feed names "
                                           "it.", self.name), category="validation")
        document = json.dumps(listings_feed(self.amazon_seller_id, sorted(sent.items())))
        try:
            feed_ref = self._amazon_client().submit_feed(document, self._amazon_marketplace_ids())
        except TransientError as error:
            raise self._omni_pause_on_error(
                error, OUT_STOCK, max(error.retry_after or 0, STOCK_PAUSE_SECONDS),
                self.env._("Amazon listings feed: %s", error.message)) from None
        feed = self.env["omni.amazon.feed"].sudo().create({
            "backend_id": self.id, "feed_ref": feed_ref, "message_count": len(sent), "quantities": sent})
        now = fields.Datetime.now()
        for listing in listings:
            listing.write({"last_quantity_sent": sent[listing.seller_sku], "quantity_sent": True,
                           "last_sent_at": now, "last_feed_id": feed.id, "last_error": False})
        others._omni_finish_many("done")
        return feed

    @api.private
    def _amazon_check_feeds(self):
        """Read the processing report of every submitted feed Amazon has finished; per-SKU errors become
        exceptions. Returns the feeds finished."""
        self.ensure_one()
        client = self._amazon_client()
        finished = self.env["omni.amazon.feed"]
        for feed in self.env["omni.amazon.feed"].sudo().search(
                [("backend_id", "=", self.id), ("state", "=", "submitted")], order="id"):
            answer = client.get_feed(feed.feed_ref)
            status = answer.get("processingStatus")
            feed.processing_status = status
            if status in ("IN_QUEUE", "IN_PROGRESS"):
                continue
            if status != "DONE" or not answer.get("resultFeedDocumentId"):
                feed.state = "failed"
                self.env["omni.amazon.listing"].sudo().search(
                    [("last_feed_id", "=", feed.id)]).quantity_sent = False
                self.env["omni.exception"]._omni_raise(
                    self.env._("Amazon listings feed %(feed)s ended %(status)s: its quantities are sent again.",
                               feed=feed.feed_ref, status=status), backend=self, category="channel_api",
                    record=feed, dedupe_key=f"amazon:feed:{feed.feed_ref}")
                finished |= feed
                continue
            report = json.loads(client.get_feed_result(answer["resultFeedDocumentId"]))
            errors, warnings, summary = feed_issues(report)
            self._amazon_file_feed_errors(feed, errors)
            feed.write({
                "state": "done", "error_count": len(errors), "warning_count": len(warnings),
                "accepted_count": int(summary.get("messagesAccepted") or 0),
                "report_summary": json.dumps(summary, sort_keys=True)})
            finished |= feed
        return finished

    @api.private
    def _amazon_file_feed_errors(self, feed, errors):
        by_sku = {}
        for issue in errors:
            by_sku.setdefault(issue.sku or "", []).append(issue)
        listings = {listing.seller_sku: listing for listing in self.env["omni.amazon.listing"].sudo().search(
            [("backend_id", "=", self.id), ("seller_sku", "in", list(by_sku)),
             ("fulfillment_channel", "=", "DEFAULT")])}
        Exception_ = self.env["omni.exception"]
        for sku, issues in by_sku.items():
            text = "; ".join(f"{issue.code}: {issue.message}" for issue in issues)
            listing = listings.get(sku)
            if listing:
                listing.last_error = text[:500]
            Exception_._omni_raise(
                self.env._("Amazon refused the stock of SKU %(sku)s (feed %(feed)s): %(issues)s", sku=sku or "?",
                           feed=feed.feed_ref, issues=text),
                backend=self, category="channel_api", record=listing or feed, dedupe_key=f"amazon:stock:{sku}")

    # ------------------------------------------------------------------ FBA inventory

    @api.private
    def _amazon_sync_fba_inventory(self):
        """Set the FBA warehouse's quantities to Amazon's fulfillable quantities; returns the SKUs read."""
        self.ensure_one()
        marketplaces = self._amazon_marketplace_ids()
        if not marketplaces:
            return 0
        self._amazon_fba_warehouse()
        summaries = list(self._amazon_client().iter_inventory_summaries(marketplaces[0]))
        quantities = inventory_quantities(summaries)
        Listing = self.env["omni.amazon.listing"].sudo()
        listings = {listing.seller_sku: listing for listing in Listing.search(
            [("backend_id", "=", self.id), ("fulfillment_channel", "=", "AMAZON")])}
        Product = self.env["product.product"].sudo().with_company(self.company_id)
        missing = [sku for sku in quantities if sku not in listings]
        if missing:
            products = {p.default_code: p for p in Product.search([("default_code", "in", missing)])}
            for sku in missing:
                listings[sku] = Listing.create({"backend_id": self.id, "seller_sku": sku,
                                                "fulfillment_channel": "AMAZON",
                                                "product_id": products.get(sku, Product).id or False})
        unknown = sorted(sku for sku in quantities if not listings[sku].product_id)
        location = self.amazon_fba_warehouse_id.lot_stock_id
        targets = {}
        for sku, listing in listings.items():
            quantity = quantities.get(sku, 0)  # a SKU Amazon no longer reports has nothing fulfillable
            listing.fba_quantity = quantity
            if listing.product_id:
                targets[listing.product_id.id] = targets.get(listing.product_id.id, 0) + quantity
        self._amazon_apply_inventory(location, targets)
        if unknown:
            self.env["omni.exception"]._omni_raise(
                self.env._("Amazon FBA holds SKUs without an Odoo product: %s. Link them on the Amazon listings.",
                           ", ".join(unknown[:50]) + (" ..." if len(unknown) > 50 else "")),
                backend=self, category="mapping", dedupe_key="amazon:fba:unknown")
        return len(quantities)

    @api.private
    def _amazon_apply_inventory(self, location, targets):
        """Inventory adjustment of ``location`` to ``{product id: quantity}`` (only what differs)."""
        Quant = self.env["stock.quant"].sudo().with_context(inventory_mode=True)
        quants = Quant.search([("location_id", "=", location.id), ("product_id", "in", list(targets))])
        current = {}
        for quant in quants:
            current.setdefault(quant.product_id.id, quant)
        to_apply = Quant
        for product_id, quantity in targets.items():
            quant = current.get(product_id)
            if quant:
                if quant.quantity != quantity:
                    quant.inventory_quantity = quantity
                    to_apply |= quant
            elif quantity:
                to_apply |= Quant.create({"product_id": product_id, "location_id": location.id,
                                          "inventory_quantity": quantity})
        if to_apply:
            to_apply.with_context(inventory_name="Amazon FBA inventory").action_apply_inventory()
        return len(to_apply)

    # ------------------------------------------------------------------ crons, buttons

    @api.model
    def _amazon_cron_each(self, flag, method, dedupe, what):
        backends = self.sudo().search([("channel", "=", "amazon"), (flag, "=", True)]).filtered(
            "has_amazon_credentials")
        Event = self.env["omni.event"]
        Event._omni_commit_progress(remaining=len(backends))
        for backend in backends:
            try:
                with self.env.cr.savepoint():
                    getattr(backend, method)()
            except OmniError as error:
                _logger.warning("Amazon backend %s: %s failed: %s", backend.id, what, mask_text(error.message))
                self.env["omni.exception"]._omni_raise(
                    self.env._("Amazon %(what)s failed: %(error)s", what=what, error=error.message), backend=backend,
                    category="channel_api", dedupe_key=dedupe)
            backend._amazon_flush_calls()  # the run's API calls, in its transaction (no event made them)
            Event._omni_commit_progress(1)
        return True

    @api.model
    def _cron_amazon_stock_feed(self):
        return self._amazon_cron_each("amazon_export_stock", "_amazon_queue_stock_changes", "amazon:stock",
                                      "stock export")

    @api.model
    def _cron_amazon_feed_results(self):
        return self._amazon_cron_each("active", "_amazon_check_feeds", "amazon:feeds", "feed check")

    @api.model
    def _cron_amazon_fba_inventory(self):
        return self._amazon_cron_each("amazon_sync_fba_inventory", "_amazon_sync_fba_inventory", "amazon:fba",
                                      "FBA inventory sync")

    def action_amazon_push_stock(self):
        check_channel_action(self.env)
        self.ensure_one()
        queued = self._amazon_button_call(self._amazon_queue_stock_changes, force=True)
        return self._amazon_notify(self.env._("Amazon stock"),
                                   self.env._("%s SKU(s) queued for the next listings feed.", queued))

    def action_amazon_sync_fba(self):
        check_channel_action(self.env)
        self.ensure_one()
        count = self._amazon_button_call(self._amazon_sync_fba_inventory)
        return self._amazon_notify(self.env._("Amazon FBA inventory"),
                                   self.env._("%s SKU(s) read from Amazon.", count))

    def action_amazon_view_listings(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.amazon.listing", "name": self.env._("Listings"),
                "view_mode": "list,form", "domain": [("backend_id", "=", self.id)],
                "context": {"default_backend_id": self.id}}
