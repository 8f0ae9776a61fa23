"""Amazon orders by polling (the primary path: ORDER_CHANGE notifications go only to SQS or
EventBridge, never to an HTTP endpoint).

Every 10 minutes (``searchOrders`` is rated 0.0056 requests/s with a burst of 20), the orders of
the account's marketplaces updated since the checkpoint (minus the overlap) and up to
``lastUpdatedBefore`` = now minus :data:`UPDATED_BEFORE_LAG` (Amazon refuses anything closer than
two minutes) are read, 100 a page through ``paginationToken``, and each version is stored in the
inbox (key ``poll:<orderId>:<lastUpdatedTime>``): re-reading the overlap stores nothing twice.
The checkpoint moves to that ``lastUpdatedBefore`` once the last page is read. A poll that meets
the usage plan keeps what it stored and the page token (valid 24 h), and its cron runs again
when Amazon's bucket has a token (``retry_after``) to resume from that page.
"""

import json
import logging
from datetime import datetime, timedelta

from odoo import api, fields, models

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import OmniError
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.amazon_client import AmazonThrottled
from ..lib.amazon_mapper import ValidationError, order_info, poll_decision, polled_event_values

_logger = logging.getLogger(__name__)

POLL_RESOURCE = "amazon_orders"
UPDATED_BEFORE_LAG = timedelta(minutes=2, seconds=30)
PAGE_SIZE = 100


def _iso(moment):
    return moment.replace(microsecond=0).isoformat() + "Z"


def _naive(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None) if text else None


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    amazon_poll_resume = fields.Char(
        copy=False, groups="base.group_system",
        help="Technical: the window and page token of a poll interrupted by Amazon's usage plan.",
    )

    @api.private
    def _amazon_poll_orders(self, now=None):
        """One poll of the account's orders; returns ``(stored, read)``. Never sleeps: a throttled
        poll records where it stopped and re-triggers its cron at ``retry_after``."""
        self.ensure_one()
        self._amazon_check_channel()
        backend = self.sudo()
        marketplaces = backend._amazon_marketplace_ids()
        if not marketplaces:
            return 0, 0
        state = json.loads(backend.amazon_poll_resume or "null")
        if state:
            after, before, token = state["after"], state["before"], state.get("token")
        else:
            now = now or fields.Datetime.now()
            since = backend._omni_checkpoint_since(POLL_RESOURCE, now=now)
            latest = now - UPDATED_BEFORE_LAG
            if since >= latest:
                return 0, 0
            after, before, token = _iso(since), _iso(latest), None
        client = backend._amazon_client()
        stored = read = 0
        Event = self.env["omni.event"]
        try:
            while True:
                orders, next_token, answered_before = client.search_orders(
                    after, before, marketplace_ids=marketplaces, page_size=PAGE_SIZE, pagination_token=token,
                    fulfilled_by=None if backend.amazon_import_fba else "MERCHANT")
                before = answered_before or before
                read += len(orders)
                stored += backend._amazon_store_polled(orders)
                if not next_token:
                    break
                token = next_token
                backend.amazon_poll_resume = json.dumps({"after": after, "before": before, "token": token})
                Event._omni_commit_progress(len(orders))
        except AmazonThrottled as error:
            backend.amazon_poll_resume = json.dumps({"after": after, "before": before, "token": token})
            later = fields.Datetime.now() + timedelta(seconds=max(error.retry_after or 0, 1))
            self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders").sudo()._trigger(at=later)
            _logger.info("Amazon backend %s: poll throttled after %s orders; resuming at %s", self.id, read, later)
            return stored, read
        backend.amazon_poll_resume = False
        backend._omni_checkpoint_advance(POLL_RESOURCE, _naive(before))
        _logger.info("Amazon backend %s: poll %s..%s read %s orders, stored %s", self.id, after, before, read, stored)
        return stored, read

    @api.private
    def _amazon_store_polled(self, orders):
        """Store each order version the inbox should see; returns how many were new."""
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "poll"})
        stored = 0
        for payload in orders:
            try:
                info = order_info(payload)
            except ValidationError as error:
                self.env["omni.exception"]._omni_raise(
                    self.env._("An Amazon order of the poll cannot be read: %s", error), backend=self,
                    category="validation", dedupe_key="amazon:poll:unreadable")
                continue
            if poll_decision(info, self.amazon_import_fba, self.amazon_pending_policy):
                continue
            body = json.dumps(payload, sort_keys=True).encode()
            _event_id, is_new = Event._omni_store_incoming(self, body, polled_event_values(info), headers_json=headers)
            stored += int(is_new)
        return stored

    @api.model
    def _cron_amazon_poll_orders(self):
        """Every 10 minutes: poll each Amazon account; a failing account never stops the others."""
        backends = self.sudo().search([("channel", "=", "amazon"), ("amazon_poll_enabled", "=", True)])
        backends = backends.filtered("has_amazon_credentials")
        Event = self.env["omni.event"]
        Event._omni_commit_progress(remaining=len(backends))
        for backend in backends:
            try:
                with self.env.cr.savepoint():
                    backend._amazon_poll_orders()
            except OmniError as error:
                _logger.warning("Amazon backend %s: poll failed: %s", backend.id, mask_text(error.message))
                self.env["omni.exception"]._omni_raise(
                    self.env._("Polling Amazon orders failed: %s", error.message), backend=backend,
                    category="channel_api", dedupe_key="amazon:poll")
            if Event._omni_cron_budget_spent(Event._omni_commit_progress(1)):
                self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders")._trigger()
                break
        return True

    def action_amazon_poll_now(self):
        """Read the orders updated since the last poll now."""
        check_channel_action(self.env)
        self.ensure_one()
        stored, read = self._amazon_button_call(self._amazon_poll_orders)
        return self._amazon_notify(self.env._("Amazon orders"),
                                   self.env._("%(read)s order version(s) read, %(stored)s new.", read=read,
                                              stored=stored))

    def action_amazon_import_since(self):
        check_channel_action(self.env)
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.amazon.import.wizard", "view_mode": "form",
                "target": "new", "context": {"default_backend_id": self.id}}
