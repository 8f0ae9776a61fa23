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
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.models.omni_backend_kit import DEFAULT_OVERLAP_MINUTES
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
        help="Technical: the window, page token and counts of a poll interrupted by Amazon's usage plan.",
    )
    amazon_poll_progress = fields.Char(
        string="Poll Progress", readonly=True, copy=False,
        help="How far the current or last poll of the orders went: the window read, pages and orders read, new "
        "order versions queued, and when a poll held back by Amazon's usage plan (searchOrders: one page of 100 "
        "every 3 minutes after a burst of 20) resumes. A catch-up import (Import Orders Updated Since...) of a "
        "long history shows here page by page.",
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
        counts = {"pages": 0, "read": 0, "stored": 0}
        if state:
            after, before, token = state["after"], state["before"], state.get("token")
            counts.update({key: int(state.get(key) or 0) for key in counts})
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

        def remember(resume_at=None):
            backend.amazon_poll_resume = json.dumps(dict(counts, after=after, before=before, token=token))
            backend._amazon_progress(after, before, counts, resume_at=resume_at)

        try:
            while True:
                orders, next_token, answered_before = client.search_orders(
                    after, before, marketplace_ids=marketplaces, page_size=PAGE_SIZE, pagination_token=token,
                    fulfilled_by=None if backend.amazon_import_fba else "MERCHANT")
                before = answered_before or before
                read += len(orders)
                page_stored = backend._amazon_store_polled(orders)
                stored += page_stored
                counts["pages"] += 1
                counts["read"] += len(orders)
                counts["stored"] += page_stored
                if not next_token:
                    break
                token = next_token
                remember()
                backend._amazon_flush_calls()
                Event._omni_commit_progress(len(orders))
        except AmazonThrottled as error:
            later = fields.Datetime.now() + timedelta(seconds=max(error.retry_after or 0, 1))
            remember(resume_at=later)
            backend._amazon_flush_calls()
            self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders").sudo()._trigger(at=later)
            _logger.info("Amazon backend %s: poll throttled after %s orders; resuming at %s", self.id, read, later)
            return stored, read
        backend.amazon_poll_resume = False
        backend._omni_checkpoint_advance(POLL_RESOURCE, _naive(before))
        backend._amazon_progress(after, before, counts, done=True)
        backend._amazon_flush_calls()
        _logger.info("Amazon backend %s: poll %s..%s read %s orders, stored %s", self.id, after, before, read, stored)
        return stored, read

    @api.private
    def _amazon_progress(self, after, before, counts, resume_at=None, done=False):
        """Write where the poll stands on ``amazon_poll_progress`` (the form shows it)."""
        self.ensure_one()
        values = dict(counts, after=after, before=before, resume=resume_at and f"{resume_at:%Y-%m-%d %H:%M:%S}")
        if done:
            text = self.env._("Done: %(read)s orders updated %(after)s..%(before)s read in %(pages)s page(s), "
                              "%(stored)s new version(s) queued.", **values)
        elif resume_at:
            text = self.env._("Held back by Amazon's usage plan after %(read)s orders (%(pages)s page(s), "
                              "%(stored)s new) of %(after)s..%(before)s; resumes at %(resume)s UTC.", **values)
        else:
            text = self.env._("Reading %(after)s..%(before)s: %(read)s orders in %(pages)s page(s), %(stored)s new "
                              "version(s) queued so far.", **values)
        if self.amazon_poll_progress != text:
            self.amazon_poll_progress = text

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
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        for backend in backends:
            try:
                if in_cron:
                    # A cron run commits page by page (``_omni_commit_progress``), which a savepoint would not
                    # survive (its RELEASE fails after the COMMIT): a failure rolls back to the last page.
                    backend._amazon_poll_orders()
                else:
                    with self.env.cr.savepoint():
                        backend._amazon_poll_orders()
                backend._omni_resolve_poll_failures("amazon:poll")
            except OmniError as error:
                if in_cron:
                    self.env.cr.rollback()
                backend._amazon_flush_calls()  # the failed poll's calls count too (after the rollback)
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

    def _omni_catch_up_cron(self):
        if self.channel != "amazon":
            return super()._omni_catch_up_cron()
        return self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders")

    def _omni_catch_up(self, since):
        """Base's catch-up import (Connect a channel's first import, Import Orders Updated Since...): the
        poll's own checkpoint (``amazon_orders``) moves back so the next poll starts at ``since``, the poll
        cron is triggered and reads the history page by page at Amazon's rate, resuming after a 429 or a
        restart; ``amazon_poll_progress`` shows how far it went, and the inbox's keys import nothing twice."""
        if self.channel != "amazon":
            return super()._omni_catch_up(since)
        self.ensure_one()
        since = fields.Datetime.to_datetime(since)
        if since >= fields.Datetime.now() - UPDATED_BEFORE_LAG:
            raise UserError(self.env._("Amazon answers up to two minutes ago: choose an earlier moment."))
        backend = self.sudo()
        checkpoint = backend._omni_checkpoint(POLL_RESOURCE)
        overlap = checkpoint.overlap_minutes if checkpoint else DEFAULT_OVERLAP_MINUTES
        # The poll starts at checkpoint minus overlap: exactly ``since``.
        backend._omni_checkpoint_set(POLL_RESOURCE, checkpoint=since + timedelta(minutes=overlap or 0),
                                     overlap_minutes=overlap or 0)
        backend.write({"amazon_poll_resume": False, "amazon_poll_enabled": True, "catch_up_since": since,
                       "amazon_poll_progress": self.env._("Catch-up from %s UTC queued: the poll starts at once.",
                                                          since)})
        self._omni_catch_up_cron().sudo()._trigger()
        self.message_post(body=self.env._("Catch-up import of the orders updated since %s started.", since))
        return True

    def action_amazon_import_since(self):
        check_channel_action(self.env)
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.amazon.import.wizard", "view_mode": "form",
                "target": "new", "context": {"default_backend_id": self.id}}
