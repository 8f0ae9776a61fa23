"""The Shopify polling backstop: orders updated since the checkpoint (minus the overlap) are read
into the inbox through the same intake as webhooks, with their refunds and fulfillments, so a lost
``orders/*``, ``refunds/create`` or ``fulfillments/*`` webhook is repaired.
"""

import json
import logging
from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.omni_connector_base.pipeline.errors import (
    OmniError,
)
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.errors import ShopifyThrottled
from ..lib.graphql import legacy_id
from ..lib.sync import (
    polled_fulfillment_event_values,
    polled_order_event_values,
    polled_refund_event_values,
)
from ..lib.webhook import parse_timestamp
from .omni_backend import POLL_RESOURCE

_logger = logging.getLogger(__name__)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _shopify_poll_orders(self):
        """Read the orders updated since the checkpoint (minus the overlap) into the inbox and
        advance the checkpoint (the kit's ``_omni_run_poll``). Returns ``(stored, read)``.

        The client never sleeps long in a worker: when Shopify's cost bucket runs dry mid-poll,
        what was read is kept, the checkpoint moves to the last order read completely (never
        back), and the cron runs again once the bucket has refilled (``retry_after``).
        """
        self.ensure_one()
        try:
            return self._omni_run_poll(POLL_RESOURCE)
        except ShopifyThrottled as error:
            resume_from, stored, read = getattr(error, "omni_poll_progress", (None, 0, 0))
            current = self._omni_checkpoint(POLL_RESOURCE).checkpoint
            if resume_from and (not current or resume_from > current):
                self._omni_checkpoint_advance(POLL_RESOURCE, resume_from)
            later = fields.Datetime.now() + timedelta(seconds=max(error.retry_after or 0, 1))
            self.env.ref("omni_connector_shopify.cron_shopify_poll_orders").sudo()._trigger(at=later)
            _logger.info("Shopify backend %s: poll throttled after %s objects; resuming at %s", self.id, read, later)
            return stored, read

    def _omni_poll(self, resource_type, since):
        """Orders updated since ``since``, each version stored with the key
        ``poll:<id>:<updated_at>``: re-reading the overlap stores nothing twice, and the order
        handler recognises a version a webhook already delivered.

        With each order, its refunds and fulfillments (one more request): a refund not bound yet
        is stored as ``refunds/polled`` (key ``poll:refund:<id>``), a fulfillment version not
        applied yet as ``fulfillments/polled`` (key ``poll:fulfillment:<id>:<updatedAt>``; only
        when Shopify handles the deliveries). The handlers recognise what a webhook already
        applied by the bindings, so webhook and poll of one refund make one credit note.
        Returns ``(stored, read)`` counted over every kind.
        """
        if self.channel != "shopify":
            return super()._omni_poll(resource_type, since)
        self.ensure_one()
        if resource_type != POLL_RESOURCE:
            return super()._omni_poll(resource_type, since)
        since_iso = since.replace(microsecond=0).isoformat() + "Z"
        headers = json.dumps({"X-Omni-Source": "poll"})
        stored = read = 0
        done_up_to = None
        client = self._shopify_client()
        try:
            for order in client.iter_orders_updated_since(since_iso, skip=self._shopify_polled_before):
                entries = [(order, polled_order_event_values(order))]
                refunds, fulfillments = client.get_order_refunds_fulfillments(order["id"])
                entries += self._shopify_poll_unapplied(order, refunds, fulfillments)
                read += 1 + len(refunds) + len(fulfillments)
                stored += self._shopify_store_polled(entries, headers)
                done_up_to = entries[0][1]["source_ts"] or done_up_to
        except ShopifyThrottled as error:
            error.omni_poll_progress = (done_up_to, stored, read)  # _shopify_poll_orders resumes from there
            raise
        finally:
            self._shopify_save_client_state(client)
        _logger.info("Shopify backend %s: poll since %s read %s objects, stored %s", self.id, since_iso, read, stored)
        return stored, read

    def _shopify_polled_before(self, order_gid, updated_at):
        """Whether this order version was read by an earlier poll (with its refunds and
        fulfillments): the overlap is then not read again."""
        key = polled_order_event_values({"id": order_gid, "updatedAt": updated_at})["idempotency_key"]
        return bool(self.env["omni.event"].sudo().search_count(
            [("backend_id", "=", self.id), ("idempotency_key", "=", key)], limit=1
        ))

    def _shopify_poll_unapplied(self, order, refunds, fulfillments):
        """``(node, event values)`` of the refunds and fulfillments the bindings do not show as
        applied yet (a refund bound by id; a fulfillment bound at that ``updatedAt`` or later)."""
        Binding = self.env["omni.binding"]
        refund_ids = [str(legacy_id(node["id"])) for node in refunds]
        bound_refunds = Binding._omni_bindings(self, "account.move", refund_ids)
        entries = [
            (node, polled_refund_event_values(order, node))
            for node, refund_id in zip(refunds, refund_ids, strict=True)
            if refund_id not in bound_refunds
        ]
        if not self.shopify_handles_delivery:
            return entries  # Odoo ships: Shopify's fulfillments are the echo of Odoo's deliveries
        fulfillment_ids = [str(legacy_id(node["id"])) for node in fulfillments]
        bound = Binding._omni_bindings(self, "stock.picking", fulfillment_ids)
        for node, fulfillment_id in zip(fulfillments, fulfillment_ids, strict=True):
            binding = bound.get(fulfillment_id)
            version = parse_timestamp(node.get("updatedAt") or node.get("createdAt"))
            if binding and binding.external_updated_at and version and binding.external_updated_at >= version:
                continue
            entries.append((node, polled_fulfillment_event_values(order, node)))
        return entries

    def _shopify_store_polled(self, entries, headers):
        """Store each ``(node, values)`` through the intake, in order (the order version first:
        its refunds and fulfillments share its ``source_ts`` and come after it). Returns the count stored."""
        Event = self.env["omni.event"].sudo()
        stored = 0
        for node, values in entries:
            body = json.dumps(node, sort_keys=True, default=str).encode()
            _event_id, is_new = Event._omni_store_incoming(self, body, values, headers_json=headers)
            stored += int(is_new)
        return stored

    @api.model
    def _cron_shopify_poll_orders(self):
        """Backstop cron: poll every active Shopify backend; a failing shop never stops the others."""
        backends = self.sudo().search([("channel", "=", "shopify"), ("shopify_poll_enabled", "=", True)])
        backends = backends.filtered(lambda backend: backend._shopify_has_credentials())
        self.env["omni.event"]._omni_commit_progress(remaining=len(backends))
        for backend in backends:
            try:
                with self.env.cr.savepoint():
                    backend._shopify_poll_orders()
                backend._omni_resolve_poll_failures("shopify:poll")
            except OmniError as error:
                _logger.warning("Shopify backend %s: poll failed: %s", backend.id, mask_text(error.message))
                self.env["omni.exception"]._omni_raise(
                    self.env._("Polling Shopify failed: %s", error.message),
                    backend=backend,
                    category="channel_api",
                    dedupe_key="shopify:poll",
                )
            Event = self.env["omni.event"]
            if Event._omni_cron_budget_spent(Event._omni_commit_progress(1)):
                self.env.ref("omni_connector_shopify.cron_shopify_poll_orders")._trigger()
                break
        return True

