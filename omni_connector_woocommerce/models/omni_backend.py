"""The WooCommerce backend: configuration, the API client and the connector hooks' dispatch.

Handlers live in ``woocommerce_inbound.py`` (store -> Odoo), ``woocommerce_outbound.py``
(Odoo -> store) and ``woocommerce_sync.py`` (the polling backstop and the webhook check).
"""

import logging
import types

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.models.omni_backend_kit import DEFAULT_OVERLAP_MINUTES
from odoo.addons.omni_connector_base.pipeline.errors import OmniError, StaleEvent

from ..lib.client import WEBHOOK_TOPICS, WooClient
from ..lib.errors import WooApiError
from ..lib.mapper import DEFAULT_STATUS_ACTIONS
from ..lib.webhook import ORDER_TOPICS, ping_webhook_id, verify_webhook, webhook_event_values

_logger = logging.getLogger(__name__)

POLL_RESOURCE = "woocommerce_orders"
POLL_TOPIC = "order.polled"
OUT_STOCK = "stock/update"
OUT_SHIPMENT = "shipment/create"
OUT_REFUND = "refund/create"
WEBHOOK_CHECK_KEY = "woocommerce:webhooks"
WOO_CONNECTION_FIELDS = frozenset({
    "woocommerce_store_url", "woocommerce_consumer_key", "woocommerce_consumer_secret",
    "woocommerce_query_string_auth", "woocommerce_verify_ssl", "woocommerce_timeout",
})


def _request_form():
    """The parsed form of the current HTTP request (Odoo reads a form POST's body into it, so
    the raw body of WooCommerce's ``webhook_id=N`` ping reads empty), or None."""
    try:
        from odoo.http import request  # noqa: PLC0415

        return request.httprequest.form if request and request.httprequest.mimetype == (
            "application/x-www-form-urlencoded") else None
    except (RuntimeError, AttributeError):
        return None


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    channel = fields.Selection(selection_add=[("woocommerce", "WooCommerce")], ondelete={"woocommerce": "cascade"})
    woocommerce_store_url = fields.Char(
        string="Store URL",
        groups="base.group_system",
        copy=False,
        help="The store's address, e.g. https://shop.example.com (WordPress site URL). Over https the keys are "
        "sent with Basic auth; over http every request is signed with OAuth 1.0a. Only system administrators "
        "can read or change it, since requests carry the keys.",
    )
    woocommerce_consumer_key = fields.Char(
        string="Consumer Key", groups="base.group_system", copy=False,
        help="REST API key (ck_...) of a WooCommerce user with read/write rights (WooCommerce > Settings > "
        "Advanced > REST API). Only system administrators can read it.",
    )
    woocommerce_consumer_secret = fields.Char(
        string="Consumer Secret", groups="base.group_system", copy=False,
        help="The key's secret (cs_...). Only system administrators can read it; it is never logged.",
    )
    woocommerce_query_string_auth = fields.Boolean(
        string="Keys in Query String",
        groups="base.group_system",
        help="Over https, send the keys as query parameters instead of Basic auth (for hosts that strip the "
        "Authorization header).",
    )
    woocommerce_verify_ssl = fields.Boolean(string="Verify TLS Certificate", default=True, groups="base.group_system")
    woocommerce_timeout = fields.Integer(
        string="Read Timeout (s)", default=30,
        help="Seconds to wait for the store to connect and to answer. A timeout is retried later.",
    )
    woocommerce_status_map_ids = fields.One2many(
        "omni.woocommerce.status.map", "backend_id", string="Order Status Actions",
        help="What an order in each WooCommerce status becomes in Odoo.",
    )
    woocommerce_tax_rate_ids = fields.One2many(
        "omni.woocommerce.tax.rate", "backend_id", string="Tax Rates by ID",
        help="Percentages of WooCommerce rate ids, for orders whose tax lines omit rate_percent.",
    )
    woocommerce_product_ids = fields.One2many("omni.woocommerce.product", "backend_id", string="WooCommerce Products")
    woocommerce_product_count = fields.Integer(compute="_compute_woocommerce_product_count", string="Products")
    woocommerce_poll_enabled = fields.Boolean(
        string="Polling (primary backstop)",
        default=True,
        help="WooCommerce never retries a failed webhook and disables it after more than 5 failures in a row: "
        "every few minutes the connector reads the orders modified since the last poll and checks the webhooks. "
        "Nothing is imported twice.",
    )
    woocommerce_poll_checkpoint = fields.Datetime(
        string="WooCommerce Polled Up To",
        compute="_compute_woocommerce_poll",
        inverse="_inverse_woocommerce_poll_checkpoint",
        help="Orders modified after this moment (minus the overlap) are read by the next poll. Set it back to "
        "re-read a period.",
    )
    woocommerce_poll_overlap = fields.Integer(
        string="WooCommerce Poll Overlap (min)",
        compute="_compute_woocommerce_poll",
        inverse="_inverse_woocommerce_poll_overlap",
        help="Each poll re-reads this many minutes before the checkpoint (clock differences, slow saves).",
    )
    woocommerce_import_since = fields.Datetime(
        string="Import Orders Modified Since",
        help="Set a date and press 'Import orders' to read every order modified since then: the poll cron reads "
        "them in the background, 100 a page, with Odoo's progress (each page is one step of the scheduled action's "
        "progress, and WooCommerce Import Progress below). An interrupted import resumes from the next page; an "
        "order already imported is never imported twice. The orders are queued and imported by the event processor.",
    )
    woocommerce_import_progress = fields.Char(
        string="WooCommerce Import Progress",
        compute="_compute_woocommerce_import_progress",
        help="Where the poll (or the catch-up import) under way stands: pages read, orders read and queued, pages "
        "to go. Empty when no poll is between two pages.",
    )
    woocommerce_export_stock = fields.Boolean(
        string="Export Stock to WooCommerce", default=True,
        help="Publish the free quantity (on hand minus reserved) of bound products in the backend's warehouse "
        "whenever it changes, in batches of 100 (only changed quantities).",
    )
    woocommerce_export_shipments = fields.Boolean(
        string="Export Shipments", default=True,
        help="A done delivery adds a customer note with carrier and tracking to the order; the last one sets the "
        "order to completed. A partial delivery only adds the note.",
    )
    woocommerce_shipment_tracking = fields.Boolean(
        string="Shipment Tracking Extension",
        help="The store runs WooCommerce Shipment Tracking: deliveries also write its _wc_shipment_tracking_items "
        "order meta.",
    )
    woocommerce_export_refunds = fields.Boolean(
        string="Export Odoo Refunds to WooCommerce",
        help="A credit note posted in Odoo on a WooCommerce order creates the refund in the store. The gateway "
        "pays the customer back only when the credit note says 'Refund through the gateway'.",
    )
    woocommerce_webhook_status = fields.Char(
        string="Webhooks", readonly=True, copy=False,
        help="What the last poll found in the store's webhook list.",
    )

    @api.depends("checkpoint_ids.checkpoint", "checkpoint_ids.overlap_minutes")
    def _compute_woocommerce_poll(self):
        for backend in self:
            checkpoint = backend.checkpoint_ids.filtered(lambda c: c.resource_type == POLL_RESOURCE)[:1]
            backend.woocommerce_poll_checkpoint = checkpoint.checkpoint if checkpoint else backend.create_date
            backend.woocommerce_poll_overlap = checkpoint.overlap_minutes if checkpoint else DEFAULT_OVERLAP_MINUTES

    def _compute_woocommerce_import_progress(self):
        for backend in self:
            backend.woocommerce_import_progress = (
                backend._omni_poll_progress_text(POLL_RESOURCE) if backend.channel == "woocommerce" and backend.id
                else False
            ) or False

    def _inverse_woocommerce_poll_checkpoint(self):
        for backend in self:
            backend._omni_checkpoint_set(POLL_RESOURCE, checkpoint=backend.woocommerce_poll_checkpoint)

    def _inverse_woocommerce_poll_overlap(self):
        for backend in self:
            backend._omni_checkpoint_set(POLL_RESOURCE, overlap_minutes=backend.woocommerce_poll_overlap)

    def _compute_woocommerce_product_count(self):
        counts = dict(self.env["omni.woocommerce.product"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]))
        for backend in self:
            backend.woocommerce_product_count = counts.get(backend, 0)

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        for backend in backends.filtered(lambda b: b.channel == "woocommerce"):
            if not backend.woocommerce_status_map_ids:
                backend.woocommerce_status_map_ids = [
                    fields.Command.create({"status": status, "action": action})
                    for status, action in DEFAULT_STATUS_ACTIONS.items()
                ]
            rules = backend.payment_rule_ids
            if not rules.filtered(lambda r: r.financial_status == "unpaid"):
                # on-hold (bank transfer) and cash on delivery: confirmed, waiting for the money.
                backend.payment_rule_ids = [fields.Command.create(
                    {"sequence": 35, "financial_status": "unpaid", "confirm_order": True})]
        return backends

    # ------------------------------------------------------------------ client

    def _omni_connection_fields(self):
        # Only a woocommerce backend's (or, on no record, every connector's): the Connect a channel wizard
        # asks for exactly these, and must not list another channel's credentials.
        if self and not any(backend.channel == "woocommerce" for backend in self):
            return super()._omni_connection_fields()
        return super()._omni_connection_fields() | WOO_CONNECTION_FIELDS

    def _woocommerce_has_credentials(self):
        self.ensure_one()
        backend = self.sudo()
        return bool(
            backend.woocommerce_store_url and backend.woocommerce_consumer_key and backend.woocommerce_consumer_secret
        )

    def _woocommerce_client(self):
        """This process's client of the store (the kit's cache; rebuilt when a connection field changes).

        :raises WooApiError: when the backend has no store URL or keys
        """
        self.ensure_one()
        if not self._woocommerce_has_credentials():
            raise WooApiError(self.env._("WooCommerce backend %s has no store URL or REST API keys.", self.name))
        backend = self.sudo()
        return backend._omni_client(
            lambda: WooClient(
                backend.woocommerce_store_url,
                backend.woocommerce_consumer_key,
                backend.woocommerce_consumer_secret,
                timeout=float(backend.woocommerce_timeout or 30),
                query_string_auth=backend.woocommerce_query_string_auth,
                verify_ssl=backend.woocommerce_verify_ssl,
            )
        )

    def _woocommerce_call(self, method, *args, **kwargs):
        """``client.<method>(...)``; the client's errors propagate (they are pipeline outcomes)."""
        return getattr(self._woocommerce_client(), method)(*args, **kwargs)

    def _woocommerce_action_call(self, method, *args, **kwargs):
        """``_woocommerce_call`` for a button: channel errors become a readable UserError."""
        try:
            result = self._woocommerce_call(method, *args, **kwargs)
            # An ``iter_*`` pager raises while it is read: read it here, where errors become UserErrors
            # (the proof's authorization suite met a 500 from "Import Products" with the store unreachable).
            return list(result) if isinstance(result, types.GeneratorType) else result
        except OmniError as error:
            raise UserError(
                self.env._("WooCommerce (%(name)s): %(error)s", name=self.name, error=error.message)
            ) from error

    def _woocommerce_check_channel(self):
        if self.channel != "woocommerce":
            raise UserError(self.env._("%s is not a WooCommerce backend.", self.name))

    def _woocommerce_status_actions(self):
        self.ensure_one()
        return {row.status.strip().lower(): row.action for row in self.woocommerce_status_map_ids}

    def _woocommerce_rate_percents(self):
        self.ensure_one()
        return {str(row.rate_id): row.percent for row in self.woocommerce_tax_rate_ids}

    # ------------------------------------------------------------- webhooks

    def _omni_verify_webhook(self, raw_body, headers):
        if self.channel != "woocommerce":
            return super()._omni_verify_webhook(raw_body, headers)
        self.ensure_one()
        form = _request_form()
        # The webhook secret, then the previous one during a rotation's grace (base).
        return self._omni_verify_with_secrets(lambda secret: verify_webhook(raw_body, headers, secret, form))

    def _omni_webhook_event_values(self, raw_body, headers, payload):
        if self.channel != "woocommerce":
            return super()._omni_webhook_event_values(raw_body, headers, payload)
        self.ensure_one()
        form = _request_form()
        webhook_id = ping_webhook_id(raw_body, headers, form)
        if webhook_id is not None:
            _logger.info("WooCommerce backend %s: webhook %s registered (creation ping answered).", self.id, webhook_id)
            return None
        return webhook_event_values(raw_body, headers, payload, form)

    def _omni_test_connection(self):
        if self.channel != "woocommerce":
            return super()._omni_test_connection()
        self.ensure_one()
        settings = self._woocommerce_call("store_settings")
        return self.env._(
            "Connected to the WooCommerce store (currency %(currency)s, country %(country)s).",
            currency=settings.get("woocommerce_currency") or "?",
            country=settings.get("woocommerce_default_country") or "?",
        )

    def _omni_register_webhooks(self):
        """Create or repair ``order.created/updated/deleted/restored`` pointing at this backend's
        URL with its secret; a disabled or paused one is re-activated. Idempotent."""
        if self.channel != "woocommerce":
            return super()._omni_register_webhooks()
        self.ensure_one()
        secret = self._omni_webhook_secret()
        if not secret:
            raise UserError(self.env._("Set the webhook secret first: WooCommerce signs every delivery with it."))
        url = self.webhook_url
        existing = {}
        for hook in self._woocommerce_call("list_webhooks"):
            if hook.get("delivery_url") == url and hook.get("topic") in WEBHOOK_TOPICS:
                existing.setdefault(hook["topic"], hook)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for topic in WEBHOOK_TOPICS:
            hook = existing.get(topic)
            if not hook:
                self._woocommerce_call("create_webhook", topic, url, secret, name=f"Odoo {self.name}: {topic}")
                counts["created"] += 1
            elif hook.get("status") != "active":
                # The secret is write-only in WooCommerce: it is sent again with the re-activation.
                self._woocommerce_call("update_webhook", hook["id"], {"status": "active", "secret": secret})
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        return counts

    def _omni_after_secret_rotation(self):
        """Give the store's webhooks of this backend the new secret (the secret is write-only in
        WooCommerce); deliveries it signed before keep being accepted during the grace."""
        if self.channel != "woocommerce":
            return super()._omni_after_secret_rotation()
        self.ensure_one()
        if not self._woocommerce_has_credentials():
            return ""
        secret = self._omni_webhook_secret()
        url = self.webhook_url
        hooks = [hook for hook in self._woocommerce_action_call("list_webhooks") if hook.get("delivery_url") == url]
        for hook in hooks:  # a store that refuses undoes the rotation (UserError): nothing half done
            self._woocommerce_action_call("update_webhook", hook["id"], {"secret": secret})
        return self.env._("%s webhooks of the store were given the new secret.", len(hooks))

    # ---------------------------------------------------------------- buttons

    def _woocommerce_notify(self, title, message, kind="success"):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind, "sticky": kind != "success"},
        }

    def action_woocommerce_register_webhooks(self):
        """Register (or re-register) the store's order webhooks to this backend."""
        check_channel_action(self.env)
        self.ensure_one()
        self._woocommerce_check_channel()
        try:
            counts = self._omni_register_webhooks()
        except OmniError as error:
            raise UserError(
                self.env._("WooCommerce (%(name)s): %(error)s", name=self.name, error=error.message)
            ) from error
        message = self.env._(
            "%(created)s created, %(updated)s re-activated, %(unchanged)s already active, for %(url)s.",
            url=self.webhook_url, **counts,
        )
        self.sudo().woocommerce_webhook_status = self.env._("Registered: %s", message)
        self.env["omni.exception"].sudo().search([
            ("backend_id", "=", self.id), ("resource_key", "=", WEBHOOK_CHECK_KEY),
            ("state", "in", ("open", "assigned")),
        ]).action_resolve()
        self.message_post(body=self.env._("Webhooks registered: %s", message))
        return self._woocommerce_notify(self.env._("WooCommerce webhooks"), message)

    def action_woocommerce_import_products(self):
        """Read the store's products and variations and bind them to Odoo products by SKU."""
        check_channel_action(self.env)
        self.ensure_one()
        self._woocommerce_check_channel()
        pairs = []
        for product in self._woocommerce_action_call("iter_products"):
            if product.get("type") == "variable":
                pairs += [(product, v) for v in self._woocommerce_action_call("iter_variations", product["id"])]
            else:
                pairs.append((product, None))
        result = self.env["omni.woocommerce.product"]._woocommerce_sync_products(self, pairs)
        message = self.env._(
            "%(total)s products and variations read: %(bound)s bound, %(unmatched)s without a matching SKU.",
            total=result["total"], bound=result["bound"], unmatched=len(result["unmatched"]),
        )
        self.message_post(body=message)
        return self._woocommerce_notify(self.env._("WooCommerce products"), message,
                                        "warning" if result["unmatched"] else "success")

    def action_woocommerce_view_products(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omni_connector_woocommerce.action_omni_woocommerce_product")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    # ------------------------------------------------------------ dispatch

    def _omni_handle_event(self, event):
        if self.channel != "woocommerce":
            return super()._omni_handle_event(event)
        self.ensure_one()
        topic = event.topic
        if event.direction == "in":
            if topic in ("order.created", "order.updated", "order.restored", POLL_TOPIC):
                return self._woocommerce_import_order(event)
            if topic == "order.deleted":
                return self._woocommerce_order_deleted(event)
        else:
            if topic == OUT_STOCK:
                return self._woocommerce_push_stock(event)
            if topic == OUT_SHIPMENT:
                return self._woocommerce_push_shipment(event)
            if topic == OUT_REFUND:
                return self._woocommerce_push_refund(event)
        raise StaleEvent(
            self.env._("The WooCommerce connector does not handle the topic %s; acknowledged without effect.", topic)
        )


__all__ = ["ORDER_TOPICS", "OUT_REFUND", "OUT_SHIPMENT", "OUT_STOCK", "POLL_RESOURCE", "POLL_TOPIC"]
