"""WooCommerce -> Odoo event handlers: orders (webhook or poll) with their refunds, deletions.

WooCommerce has no refund webhook: a refund changes the order (``order.updated``), whose
``refunds`` list names it; the handler then reads ``GET orders/<id>/refunds`` and imports the
refunds Odoo does not have yet. Every handler is idempotent (bindings name what was created).
"""

import logging
from types import SimpleNamespace

from odoo import models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.pipeline.errors import (
    BusinessError,
    PermanentError,
    StaleEvent,
    TransientError,
)

from ..lib.mapper import ValidationError, map_order, map_refund, order_refund_ids, status_action
from .omni_backend import OUT_REFUND

_logger = logging.getLogger(__name__)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _woocommerce_payload(self, event):
        payload = event._omni_payload_json()
        if not isinstance(payload, dict):
            raise PermanentError(self.env._("The body is not a JSON object."))
        return payload

    def _woocommerce_import_order(self, event):
        """An order body -> canonical order -> the shared importer; then its new refunds."""
        payload = self._woocommerce_payload(event)
        order_id = str(payload.get("id") or "")
        if not order_id or order_id == "0":
            raise PermanentError(self.env._("The order body has no id."))
        action = status_action(payload.get("status"), self._woocommerce_status_actions())
        Binding = self.env["omni.binding"]
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if action == "ignore" and not sale:
            raise StaleEvent(
                self.env._("WooCommerce order %(id)s is in status %(status)s: ignored.",
                           id=order_id, status=payload.get("status"))
            )
        try:
            order = map_order(
                payload,
                rate_percents=self._woocommerce_rate_percents(),
                status_actions=self._woocommerce_status_actions(),
                risk_meta_key=self.risk_meta_key,
            )
        except ValidationError as error:
            raise BusinessError(
                self.env._("WooCommerce order %(order)s cannot be read: %(error)s", order=order_id, error=error),
                category="validation",
            ) from error
        if sale and sale.state == "cancel" and not order.cancelled and event.topic == "order.restored":
            sale.action_draft()
            sale.message_post(body=self.env._("Restored from the WooCommerce trash."))
        sale = self.env["omni.order.importer"]._omni_import_order(self, order, event)
        if action == "refund" or order_refund_ids(payload):
            self._woocommerce_import_refunds(sale, payload)
        return sale

    def _woocommerce_import_refunds(self, sale, payload):
        """Import the order's refunds not bound yet (one ``GET orders/<id>/refunds``)."""
        order_id = str(payload["id"])
        listed = order_refund_ids(payload)
        Binding = self.env["omni.binding"]
        bound = Binding._omni_lookup(self, "account.move", listed) if listed else {}
        if listed and all(refund_id in bound for refund_id in listed):
            return
        if self._woocommerce_out_pending(OUT_REFUND, order_id):
            raise TransientError(
                self.env._("A refund of order %s made in Odoo is being sent to WooCommerce; this update waits.",
                           order_id),
                retry_after=30,
            )
        refunds = self._woocommerce_call("get_refunds", order_id)
        for refund_json in sorted(refunds, key=lambda r: int(r.get("id") or 0)):
            refund_id = str(refund_json.get("id") or "")
            if not refund_id or Binding._omni_lookup(self, "account.move", [refund_id]).get(refund_id):
                continue
            try:
                refund = map_refund(refund_json, payload)
            except ValidationError as error:
                raise BusinessError(
                    self.env._("WooCommerce refund %(refund)s cannot be read: %(error)s", refund=refund_id,
                               error=error),
                    category="validation",
                    record=(sale._name, sale.id),
                ) from error
            self.env["omni.order.importer"].with_context(omni_woocommerce_no_export=True)._omni_import_refund(
                self, refund
            )

    def _woocommerce_out_pending(self, topic, resource_key):
        """Whether an outgoing event of this topic and resource is queued or being retried."""
        self.env["omni.event"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM omni_event WHERE backend_id = %s AND direction = 'out' AND topic = %s "
                "AND resource_key = %s AND state IN ('pending', 'retry') LIMIT 1",
                self.id, topic, resource_key,
            )
        )
        return bool(self.env.cr.fetchone())

    def _woocommerce_order_deleted(self, event):
        """``order.deleted`` (``{"id": N}``; moved to the trash or deleted for good): the cancellation path."""
        payload = self._woocommerce_payload(event)
        order_id = str(payload.get("id") or "")
        sale = self.env["omni.binding"]._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            raise StaleEvent(self.env._("WooCommerce order %s was deleted before Odoo imported it.", order_id))
        reference = SimpleNamespace(
            name=sale.omni_channel_order_name or order_id,
            cancel_reason=self.env._("deleted in WooCommerce"),
        )
        self.env["omni.order.importer"]._omni_cancel_order(sale, reference)
        return sale
