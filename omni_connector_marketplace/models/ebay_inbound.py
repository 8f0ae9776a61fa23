"""eBay -> Odoo handlers: orders (polled), refunds (order refunds and Finances REFUND
transactions), and the Marketplace Account Deletion notification."""

import hashlib
import logging

from odoo import api, models
from odoo.tools import SQL

from odoo.addons.omni_connector_base.pipeline.errors import BusinessError, StaleEvent

from ..lib import collected_tax
from ..lib.ebay_mapper import (
    ValidationError,
    collected_line_ids,
    is_importable,
    map_order,
    map_order_refunds,
    map_refund_transaction,
    marketplace_of,
)
from .marketplace_backend import COLLECTED_TAX_CONTEXT, MARKETPLACE_CONTEXT

_logger = logging.getLogger(__name__)
ANONYMIZED_NAME = "Deleted eBay user"


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ orders

    @api.private
    def _ebay_marketplace(self, payload):
        ref = marketplace_of(payload) or "EBAY_US"
        marketplace = self._omni_marketplace(ref)
        if not marketplace:
            raise BusinessError(
                self.env._("eBay order %(order)s was sold on %(ref)s, which is not a marketplace of %(name)s. "
                           "Add it (with its currency, pricelist and warehouse), then retry.",
                           order=payload.get("orderId"), ref=ref, name=self.name),
                category="mapping", record=(self._name, self.id))
        return marketplace

    @api.private
    def _ebay_canonical_order(self, payload):
        """The canonical order with the marketplace's collected-tax treatment applied, and the
        context to import it with."""
        marketplace = self._ebay_marketplace(payload)
        try:
            order = map_order(payload)
        except ValidationError as error:
            raise BusinessError(
                self.env._("eBay order %(order)s cannot be read: %(error)s", order=payload.get("orderId"),
                           error=error), category="validation") from error
        context = {MARKETPLACE_CONTEXT: marketplace.id}
        ids = collected_line_ids(order)
        if ids:
            if marketplace.collected_tax_treatment == collected_tax.TREATMENT_EXCLUDE:
                order, _collected, _memo = collected_tax.exclude_collected(order, ids, party="eBay", gateway="ebay")
            elif collected_tax.collection_scope(order, ids) == collected_tax.ALL:
                context[COLLECTED_TAX_CONTEXT] = marketplace.id
            else:
                raise BusinessError(
                    self.env._("eBay order %s mixes tax eBay collects with tax the seller collects; import it "
                               "with the 'Excluded' treatment or by hand.", order.name), category="mapping")
        return order, context, marketplace

    @api.private
    def _ebay_import_order(self, event):
        """A polled order version -> confirmed sale order (PAID), cancellation, or nothing yet."""
        payload = self._ebay_payload(event)
        if not is_importable(payload):
            Binding = self.env["omni.binding"]
            if not Binding._omni_lookup(self, "sale.order", [payload.get("orderId") or ""]):
                raise StaleEvent(self.env._("eBay order %(order)s is %(status)s: imported once it is paid.",
                                            order=payload.get("orderId"),
                                            status=payload.get("orderPaymentStatus")))
        order, context, _marketplace = self._ebay_canonical_order(payload)
        Importer = self.env["omni.order.importer"].with_context(**context)
        return Importer._omni_import_order(self.with_context(**context), order, event)

    # ------------------------------------------------------------------ refunds

    @api.private
    def _ebay_import_refund(self, event):
        """``ebay/refund``: an order refund (``{"order": ..., "refundId": ...}``) or a Finances
        REFUND transaction; both bind the credit note to the refund id, so one refund is one
        credit note whichever way it arrives first."""
        payload = self._ebay_payload(event)
        Binding = self.env["omni.binding"]
        refund_id = str(payload.get("refundId") or payload.get("transactionId") or "")
        existing = Binding._omni_lookup(self, "account.move", [refund_id]).get(refund_id)
        if existing:
            return existing
        try:
            if "order" in payload:
                refunds = [r for r in map_order_refunds(payload["order"], restock=self.ebay_restock_returns)
                           if r.external_id == refund_id]
                if not refunds:
                    raise StaleEvent(self.env._("Refund %s is no longer on the order.", refund_id))
                refund = refunds[0]
            else:
                sale = Binding._omni_lookup(self, "sale.order", [payload.get("orderId") or ""]).get(
                    payload.get("orderId") or "")
                order = None
                if sale:
                    order_payload = self._ebay_order_payload_of(sale)
                    order = self._ebay_canonical_order(order_payload)[0] if order_payload else None
                refund = map_refund_transaction(payload, order, restock=self.ebay_restock_returns)
        except ValidationError as error:
            raise BusinessError(self.env._("eBay refund %(refund)s cannot be read: %(error)s", refund=refund_id,
                                           error=error), category="validation") from error
        return self.env["omni.order.importer"]._omni_import_refund(self, refund, event)

    @api.private
    def _ebay_order_payload_of(self, sale):
        """The latest stored eBay body of the order ``sale`` (to read its lines), or None."""
        event = self.env["omni.event"].sudo().search([
            ("backend_id", "=", self.id), ("direction", "=", "in"), ("topic", "=", "ebay/order"),
            ("resource_key", "=", sale.omni_external_id)], order="source_ts desc, id desc", limit=1)
        return event._omni_payload_json() if event else None

    # ---------------------------------------------------------- account deletion

    @api.private
    def _ebay_account_deletion(self, event):
        """An eBay user closed their account: anonymize what Odoo holds of them that no invoice
        needs, and log what was done (counts only, no personal data).

        Contacts bound to the user name (the customer and its address contacts): those on a
        posted invoice keep name and address (the invoice must show them) and lose e-mail and
        phone; the others are anonymized entirely. The user's stored order bodies (which hold
        the buyer's addresses) are emptied, and the binding forgets the user name.
        """
        payload = self._ebay_payload(event)
        data = (payload.get("notification") or {}).get("data") or {}
        username = data.get("username") or ""
        Binding = self.env["omni.binding"].sudo()
        partner = Binding._omni_lookup(self, "res.partner", [username]).get(username) if username else None
        counts = {"kept": 0, "anonymized": 0, "bodies": 0}
        if partner:
            partner = partner.sudo()
            contacts = partner | partner.child_ids.with_context(active_test=False)
            invoiced = self.env["account.move"].sudo().search([
                ("state", "=", "posted"), ("move_type", "in", ("out_invoice", "out_refund")),
                ("partner_id", "in", contacts.ids)]).partner_id
            placeholder = f"{ANONYMIZED_NAME} {hashlib.sha256(username.encode()).hexdigest()[:8]}"
            for contact in contacts:
                if contact in invoiced or (contact == partner and contact.child_ids & invoiced):
                    contact.write({"email": False, "phone": False})
                    counts["kept"] += 1
                else:
                    contact.write({"name": placeholder, "email": False, "phone": False, "street": False,
                                   "street2": False, "city": False, "zip": False, "state_id": False})
                    counts["anonymized"] += 1
            orders = self.env["sale.order"].sudo().search([("partner_id", "in", contacts.ids)])
            keys = [key for key in orders.mapped("omni_external_id") if key]
            if keys:
                self.env["omni.event"].flush_model()
                self.env.cr.execute(SQL(
                    "UPDATE omni_event SET payload = %s, payload_encoding = 'text', headers = NULL "
                    "WHERE backend_id = %s AND direction = 'in' AND resource_key IN %s AND topic IN %s "
                    "AND state IN ('done', 'skipped', 'dead')",
                    '{"anonymized": true}', self.id, tuple(keys), ("ebay/order", "ebay/refund")))
                counts["bodies"] = self.env.cr.rowcount
                self.env["omni.event"].invalidate_model(["payload", "payload_encoding", "headers"])
            binding = Binding.search([("backend_id", "=", self.id), ("res_model", "=", "res.partner"),
                                      ("external_id", "=", username)])
            binding.write({"external_id": f"deleted:{hashlib.sha256(username.encode()).hexdigest()[:16]}"})
        message = self.env._(
            "eBay account deletion notification processed: %(anonymized)s contacts anonymized, %(kept)s kept for "
            "their invoices (e-mail and phone removed), %(bodies)s stored order bodies emptied.", **counts)
        if not partner:
            message = self.env._("eBay account deletion notification processed: Odoo holds no data of this user.")
        self.message_post(body=message)
        _logger.info("eBay backend %s: account deletion (notification %s): %s", self.id, event.idempotency_key,
                     counts)
        # The notification itself names the user: keep only what the audit needs.
        notification_id = (payload.get("notification") or {}).get("notificationId")
        event.sudo().write({"resource_key": "deleted-user", "payload": f'{{"anonymized": true, "notificationId": '
                            f'"{notification_id}"}}', "payload_encoding": "text"})
        return partner or self
