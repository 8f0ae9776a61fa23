"""The Shopify polling backstop: orders updated since the checkpoint (minus the overlap) are read
into the inbox through the same intake as webhooks, so a lost webhook is repaired.
"""

import json
import logging

from odoo import api, models

from odoo.addons.omni_connector_base.pipeline.errors import (
    OmniError,
)
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.sync import (
    polled_order_event_values,
)
from .omni_backend import POLL_RESOURCE

_logger = logging.getLogger(__name__)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _shopify_poll_orders(self):
        """Read the orders updated since the checkpoint (minus the overlap) into the inbox and
        advance the checkpoint (the kit's ``_omni_run_poll``). Returns ``(stored, read)``."""
        self.ensure_one()
        return self._omni_run_poll(POLL_RESOURCE)

    def _omni_poll(self, resource_type, since):
        """Orders updated since ``since``, each version stored with the key
        ``poll:<id>:<updated_at>``: re-reading the overlap stores nothing twice, and the order
        handler recognises a version a webhook already delivered."""
        if self.channel != "shopify":
            return super()._omni_poll(resource_type, since)
        self.ensure_one()
        if resource_type != POLL_RESOURCE:
            return super()._omni_poll(resource_type, since)
        since_iso = since.replace(microsecond=0).isoformat() + "Z"
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "poll"})
        stored = read = 0
        client = self._shopify_client()
        try:
            for order in client.iter_orders_updated_since(since_iso):
                read += 1
                body = json.dumps(order, sort_keys=True, default=str).encode()
                _event_id, is_new = Event._omni_store_incoming(
                    self, body, polled_order_event_values(order), headers_json=headers
                )
                stored += int(is_new)
        finally:
            self._shopify_save_client_state(client)
        _logger.info("Shopify backend %s: poll since %s read %s orders, stored %s", self.id, since_iso, read, stored)
        return stored, read

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

