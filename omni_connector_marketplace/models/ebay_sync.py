"""The eBay order poll: eBay sends REST applications no order notifications, so orders
modified since the checkpoint (minus the overlap) are read on a schedule and stored through
the same intake as webhooks (``poll:order:<id>:<lastModifiedDate>``: an overlap re-read
stores nothing twice). Each order's completed refunds not bound yet are stored too
(``refund:<refundId>``, shared with the Finances REFUND transactions)."""

import logging

from odoo import api, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline.errors import OmniError
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.ebay_mapper import ValidationError, when
from .ebay_backend import POLL_RESOURCE, TOPIC_ORDER, TOPIC_REFUND

_logger = logging.getLogger(__name__)


def _naive(moment):
    return moment.replace(tzinfo=None) if moment else False


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    @api.private
    def _ebay_poll_orders(self):
        """One poll from the checkpoint; the checkpoint advances after success."""
        self.ensure_one()
        return self._omni_run_poll(POLL_RESOURCE)

    @api.private
    def _ebay_order_entries(self, order):
        """``[(payload, values)]`` to store for one order read from eBay."""
        order_id = str(order.get("orderId") or "")
        try:
            version = when(order.get("lastModifiedDate"), "lastModifiedDate")
        except ValidationError:
            version = None
        entries = [(order, {
            "idempotency_key": f"poll:order:{order_id}:{order.get('lastModifiedDate')}", "topic": TOPIC_ORDER,
            "resource_model": "sale.order", "resource_key": order_id, "source_ts": _naive(version)})]
        for refund in (order.get("paymentSummary") or {}).get("refunds") or []:
            refund_id = refund.get("refundId")
            if refund_id and refund.get("refundStatus") in (None, "REFUNDED"):
                entries.append(({"refundId": refund_id, "order": order}, {
                    "idempotency_key": f"refund:{refund_id}", "topic": TOPIC_REFUND, "resource_model": "account.move",
                    "resource_key": order_id, "source_ts": _naive(version)}))
        return entries

    def _omni_poll(self, resource_type, since):
        if self.channel != "ebay" or resource_type != POLL_RESOURCE:
            return super()._omni_poll(resource_type, since)
        self.ensure_one()
        client = self._ebay_client()
        stored = read = 0
        Event = self.env["omni.event"]
        calls_before = client.calls
        for offset, order in client.iter_orders(since):
            stored += self._ebay_store(self._ebay_order_entries(order))
            read += 1
            if read % 200 == 0:
                self.with_context(omni_client_state=True).sudo().ebay_import_progress = self.env._(
                    "%(read)s orders read since %(since)s UTC", read=offset + 1, since=since)
                Event._omni_commit_progress(200)
        self.with_context(omni_client_state=True).sudo().ebay_import_progress = self.env._(
            "%(read)s orders read since %(since)s UTC (%(calls)s calls), %(stored)s versions queued.",
            read=read, since=since, calls=client.calls - calls_before, stored=stored)
        _logger.info("eBay backend %s: poll since %s read %s orders, stored %s", self.id, since, read, stored)
        return stored, read

    def action_ebay_import_orders(self):
        """Read every order modified since "Import Orders Modified Since" (or the checkpoint)."""
        check_channel_action(self.env)
        self.ensure_one()
        self._ebay_check_channel()
        if self.ebay_import_since:
            self._omni_checkpoint_set(POLL_RESOURCE, checkpoint=self.ebay_import_since, overlap_minutes=0)
        try:
            stored, read = self._ebay_poll_orders()
        except OmniError as error:
            raise self._ebay_user_error(error) from error
        finally:
            self._omni_checkpoint_set(POLL_RESOURCE, overlap_minutes=10)
        self.ebay_import_since = False
        return self._ebay_notify(self.env._("eBay orders"), self.env._(
            "%(read)s orders read from eBay, %(stored)s new versions queued for import.", read=read, stored=stored))

    @api.private
    def _ebay_user_error(self, error):
        return UserError(self.env._("eBay (%(name)s): %(error)s", name=self.name, error=error.message))

    @api.model
    def _cron_ebay_poll_orders(self):
        """Poll every active eBay backend; a failing account never stops the others."""
        backends = self.sudo().search([("channel", "=", "ebay"), ("ebay_poll_enabled", "=", True)])
        backends = backends.filtered(lambda backend: backend._ebay_has_credentials())
        Event = self.env["omni.event"]
        Event._omni_commit_progress(remaining=len(backends))
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        for backend in backends:
            try:
                if in_cron:
                    # A cron run commits every 200 orders (``_omni_commit_progress``), which a savepoint
                    # would not survive (its RELEASE fails after the COMMIT): a failure rolls back to the
                    # last commit instead.
                    backend._ebay_poll_orders()
                else:
                    with self.env.cr.savepoint():
                        backend._ebay_poll_orders()
                backend._omni_resolve_poll_failures("ebay:poll")
            except OmniError as error:
                if in_cron:
                    self.env.cr.rollback()
                _logger.warning("eBay backend %s: poll failed: %s", backend.id, mask_text(error.message))
                self.env["omni.exception"]._omni_raise(
                    self.env._("Polling eBay failed: %s", error.message), backend=backend, category="channel_api",
                    dedupe_key="ebay:poll")
            if Event._omni_cron_budget_spent(Event._omni_commit_progress(1)):
                self.env.ref("omni_connector_marketplace.cron_ebay_poll_orders")._trigger()
                break
        return True
