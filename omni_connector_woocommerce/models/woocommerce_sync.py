"""The WooCommerce polling backstop (primary, since WooCommerce never retries a webhook) and
the webhook health check.

Every poll reads ``GET orders?modified_after=<checkpoint - overlap>&dates_are_gmt=true&
orderby=modified&order=desc`` page by page (100 a page, ``X-WP-TotalPages``/``Link``) and stores
each order version not applied yet through the same intake as webhooks (key: id +
``date_modified_gmt`` + ``order.updated``, so a version a webhook delivered is not stored
twice). The pages go through the base's resumable poll (``_omni_run_poll_page``): each page is
committed with its place in the window, the cron's progress advances per page, and an
interrupted poll (a restart, the time budget, a failed request) resumes from the next page. The
catch-up import ("Import orders modified since…", ``_omni_catch_up``) is that poll from an
earlier checkpoint. It then checks ``GET webhooks``: one of ours ``disabled`` (after more than 5 failed
deliveries) or missing opens an exception offering "Re-register webhooks".
"""

import json
import logging
from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import OmniError
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.client import WEBHOOK_TOPICS
from ..lib.webhook import event_key, parse_gmt
from .omni_backend import POLL_RESOURCE, POLL_TOPIC, WEBHOOK_CHECK_KEY

_logger = logging.getLogger(__name__)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _omni_poll(self, resource_type, since):
        """Orders modified since ``since`` into the inbox, every page; returns ``(stored, read)``."""
        if self.channel != "woocommerce" or resource_type != POLL_RESOURCE:
            return super()._omni_poll(resource_type, since)
        self.ensure_one()
        stored = read = 0
        cursor = None
        while True:
            page_stored, page_read, cursor, _left = self._omni_poll_page(resource_type, since, cursor)
            stored, read = stored + page_stored, read + page_read
            if cursor is None:
                return stored, read

    def _omni_poll_page(self, resource_type, since, cursor):
        """One page (100 orders) of ``GET orders?modified_after=<since>&orderby=modified``;
        ``cursor`` is the page number. Returns ``(stored, read, next page or None, pages left)``."""
        if self.channel != "woocommerce" or resource_type != POLL_RESOURCE:
            return super()._omni_poll_page(resource_type, since, cursor)
        self.ensure_one()
        since_iso = since.replace(microsecond=0).isoformat()
        page = int(cursor or 1)
        orders, next_page, total_pages = self._woocommerce_call("orders_modified_page", since_iso, page)
        stored = self._woocommerce_store_polled(orders)
        _logger.info("WooCommerce backend %s: poll since %s, page %s of %s: read %s orders, stored %s",
                     self.id, since_iso, page, total_pages, len(orders), stored)
        return stored, len(orders), next_page, (total_pages - page if next_page else 0)

    def _woocommerce_store_polled(self, orders):
        """Store each order version not applied yet (by a webhook or an earlier poll) through the
        intake; returns how many were new."""
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "poll"})
        ids = [str(order.get("id")) for order in orders]
        bound = self.env["omni.binding"]._omni_bindings(self, "sale.order", ids)
        stored = 0
        for order, order_id in zip(orders, ids, strict=True):
            modified = order.get("date_modified_gmt")
            version = parse_gmt(modified)
            binding = bound.get(order_id)
            naive = version.replace(tzinfo=None) if version else None
            if binding and naive and binding.external_updated_at and binding.external_updated_at >= naive:
                continue  # already applied
            values = {
                "idempotency_key": event_key(order_id, modified, "order.updated"),
                "topic": POLL_TOPIC,
                "resource_model": "sale.order",
                "resource_key": order_id,
                "source_ts": naive or False,
            }
            body = json.dumps(order, sort_keys=True, default=str).encode()
            _event_id, is_new = Event._omni_store_incoming(self, body, values, headers_json=headers)
            stored += int(is_new)
        return stored

    def _woocommerce_poll_orders(self):
        """A whole poll (resuming one a cron left between two pages; checkpoint advanced after the
        last page) and the webhook check. Returns ``(stored, read)`` of this call."""
        self.ensure_one()
        stored = read = 0
        left = 1
        while left:
            page_stored, page_read, left = self._omni_run_poll_page(POLL_RESOURCE)
            stored, read = stored + page_stored, read + page_read
        self._woocommerce_check_webhooks()
        return stored, read

    def _woocommerce_check_webhooks(self):
        """Open (or refresh) an exception when one of our webhooks is disabled, paused or missing;
        resolve it when all are active. Returns the list of problems."""
        self.ensure_one()
        url = self.webhook_url
        hooks = [h for h in self._woocommerce_call("list_webhooks") if h.get("delivery_url") == url]
        status = {}
        for hook in hooks:
            if hook.get("topic") in WEBHOOK_TOPICS and status.get(hook["topic"]) != "active":
                status[hook["topic"]] = hook.get("status")
        problems = []
        for topic in WEBHOOK_TOPICS:
            if topic not in status:
                problems.append(self.env._("%s is missing", topic))
            elif status[topic] != "active":
                problems.append(self.env._("%(topic)s is %(status)s", topic=topic, status=status[topic]))
        Exception_ = self.env["omni.exception"].sudo()
        if problems:
            summary = ", ".join(problems)
            self.sudo().woocommerce_webhook_status = summary
            Exception_._omni_raise(
                self.env._(
                    "WooCommerce webhooks of %(name)s need attention: %(problems)s. WooCommerce never retries a "
                    "failed delivery and disables a webhook after more than 5 failures; the poll keeps orders "
                    "flowing meanwhile. Press 'Re-register Webhooks' on the backend once the cause is fixed.",
                    name=self.name, problems=summary,
                ),
                backend=self,
                category="channel_api",
                severity="critical",
                record=self,
                dedupe_key=WEBHOOK_CHECK_KEY,
            )
        else:
            self.sudo().woocommerce_webhook_status = self.env._("All %s webhooks active", len(WEBHOOK_TOPICS))
            Exception_.search([
                ("backend_id", "=", self.id), ("resource_key", "=", WEBHOOK_CHECK_KEY),
                ("state", "in", ("open", "assigned")),
            ]).action_resolve()
        return problems

    def action_woocommerce_sync_orders(self):
        """Run the polling backstop now."""
        check_channel_action(self.env)
        self.ensure_one()
        self._woocommerce_check_channel()
        try:
            stored, read = self._woocommerce_poll_orders()
        except OmniError as error:
            raise self._woocommerce_user_error(error) from error
        return self._woocommerce_notify(
            self.env._("WooCommerce orders"),
            self.env._("%(read)s orders read, %(stored)s new versions queued for import.", read=read, stored=stored),
        )

    def action_woocommerce_import_since(self):
        """"Import orders modified since…": the base's catch-up import (``_omni_catch_up``): the
        polling checkpoint moves back to the date and the poll cron reads the orders page by page
        with Odoo's progress display, resuming after an interruption; the imports follow in the
        event queue."""
        check_channel_action(self.env)
        self.ensure_one()
        self._woocommerce_check_channel()
        since = self.woocommerce_import_since or fields.Datetime.now() - timedelta(days=30)
        self._omni_catch_up(since)
        return self._woocommerce_notify(
            self.env._("WooCommerce import"),
            self.env._("Orders modified since %s are being read in the background, 100 a page; the progress shows "
                       "on the channel (WooCommerce Import Progress) and on the poll's scheduled action.", since),
        )

    # ---------------------------------------------------- catch-up import hooks

    def _omni_catch_up_cron(self):
        if self.channel != "woocommerce":
            return super()._omni_catch_up_cron()
        return self.env.ref("omni_connector_woocommerce.cron_woocommerce_poll_orders")

    def _omni_catch_up_resource(self):
        if self.channel != "woocommerce":
            return super()._omni_catch_up_resource()
        return POLL_RESOURCE

    def _omni_catch_up(self, since):
        if self.channel == "woocommerce" and not self.woocommerce_poll_enabled:
            self.woocommerce_poll_enabled = True  # the catch-up is the poll, from an earlier checkpoint
        return super()._omni_catch_up(since)

    def _woocommerce_user_error(self, error):
        from odoo.exceptions import UserError  # noqa: PLC0415

        return UserError(self.env._("WooCommerce (%(name)s): %(error)s", name=self.name, error=error.message))

    @api.model
    def _cron_woocommerce_poll_orders(self):
        """Backstop cron: poll every WooCommerce backend page by page (each page one step of the
        job's progress, committed: a restart resumes from the next page), then check its webhooks;
        a failing store never stops the others."""
        backends = self.sudo().search([("channel", "=", "woocommerce"), ("woocommerce_poll_enabled", "=", True)])
        backends = backends.filtered(lambda backend: backend._woocommerce_has_credentials())

        def failed(backend, error):
            _logger.warning("WooCommerce backend %s: poll failed: %s", backend.id, mask_text(error.message))
            self.env["omni.exception"]._omni_raise(
                self.env._("Polling WooCommerce failed: %s", error.message),
                backend=backend,
                category="channel_api",
                dedupe_key="woocommerce:poll",
            )

        self._omni_cron_poll_pages(
            backends, POLL_RESOURCE, "omni_connector_woocommerce.cron_woocommerce_poll_orders",
            on_error=failed, on_complete=lambda backend: backend._woocommerce_check_webhooks(),
        )
        return True
