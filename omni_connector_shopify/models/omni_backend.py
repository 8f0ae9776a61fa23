"""The Shopify backend: configuration, the API client, webhook intake hooks, buttons, and the
event handlers (webhooks and polled orders in; stock, fulfillments and refunds out).

Every handler is idempotent (bindings name what was already created or sent) and raises the
pipeline's outcome errors; the base processor records the outcome on the event.
"""

import logging
import types

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.models.omni_backend_kit import DEFAULT_OVERLAP_MINUTES
from odoo.addons.omni_connector_base.pipeline.errors import (
    OmniError,
    PermanentError,
    StaleEvent,
)

from ..lib.client import (
    DEFAULT_API_VERSION,
    ShopifyApiError,
    ShopifyClient,
    normalize_shop_domain,
)
from ..lib.sync import (
    FULFILLMENT_POLL_TOPIC,
    FULFILLMENT_TOPICS,
    ORDER_TOPICS,
    OUT_FULFILLMENT,
    OUT_REFUND,
    OUT_STOCK,
    POLL_TOPIC,
    REFUND_POLL_TOPIC,
    REFUND_TOPIC,
    UNINSTALL_TOPIC,
    WEBHOOK_TOPICS,
    webhook_event_values,
)
from ..lib.webhook import verify_webhook

_logger = logging.getLogger(__name__)
# Seconds a batch that a person or the finance cron runs (the variant import, the payout fetch:
# pages of 650-750 points, a whole payout read in one go) may wait for Shopify's cost bucket;
# queued events never wait more than the client's 2 s, they raise and are retried.
BULK_IMPORT_MAX_WAIT = 60.0

# The checkpoint (kit table omni.sync.checkpoint) the order poll advances.
POLL_RESOURCE = "orders"
# Changing any of these builds a new API client in every worker (connection_version).
SHOPIFY_CONNECTION_FIELDS = frozenset({
    "shopify_shop_domain", "shopify_api_version", "shopify_base_url", "shopify_auth_method",
    "shopify_client_id", "shopify_access_token", "webhook_secret",
})

class OmniBackend(models.Model):
    _inherit = "omni.backend"

    channel = fields.Selection(selection_add=[("shopify", "Shopify")], ondelete={"shopify": "cascade"})
    shopify_shop_domain = fields.Char(
        string="Shop Domain",
        tracking=True,
        help="The shop's permanent domain, e.g. acme-retail.myshopify.com (the shop name alone also works). "
        "Webhooks naming another shop are refused.",
    )
    shopify_api_version = fields.Char(
        string="API Version",
        default=DEFAULT_API_VERSION,
        tracking=True,
        help="Admin API version requested (YYYY-MM). The connector is written and tested for the default; "
        "change it deliberately after reading Shopify's release notes.",
    )
    shopify_api_version_answered = fields.Char(
        string="API Version Served",
        readonly=True,
        copy=False,
        help="The version Shopify answered the last request with (X-Shopify-API-Version). When it differs "
        "from the requested one, Shopify no longer supports the requested version and 'fell forward'.",
    )
    shopify_auth_method = fields.Selection(
        [("token", "Admin API access token"), ("client_credentials", "Client ID and secret")],
        string="Authentication",
        default="token",
        required=True,
        help="Access token: the token of a custom app installed on the shop. Client credentials: the app's "
        "client id and client secret (the webhook secret below) are exchanged for a token, renewed when it "
        "expires.",
    )
    shopify_access_token = fields.Char(
        string="Access Token",
        groups="base.group_system",
        copy=False,
        help="Admin API access token (shpat_...). Only system administrators can read it; it is never logged. "
        "With client credentials, the token obtained by the exchange is kept here.",
    )
    has_shopify_access_token = fields.Boolean(
        compute="_compute_has_shopify_access_token",
        string="Access Token Set",
        help="Whether an access token is stored (its value stays hidden).",
    )
    shopify_client_id = fields.Char(
        string="Client ID",
        copy=False,
        help="The app's client id (API key), for the client-credentials exchange. The app's client secret is "
        "the webhook secret.",
    )
    shopify_base_url = fields.Char(
        string="API Base URL Override",
        groups="base.group_system",
        copy=False,
        help="Only for the local Shopify simulator (tests, benchmarks): every API request goes to this address "
        "instead of https://<shop>.myshopify.com. Leave empty in production. Only system administrators can "
        "change it, since requests carry the access token.",
    )
    shopify_location_ids = fields.One2many(
        "omni.shopify.location",
        "backend_id",
        string="Shopify Locations",
        help="Which Odoo stock location each Shopify location publishes and ships from.",
    )
    shopify_variant_ids = fields.One2many(
        "omni.shopify.variant",
        "backend_id",
        string="Shopify Variants",
        help="The shop's variants read by Import Product Mapping.",
    )
    shopify_variant_count = fields.Integer(
        compute="_compute_shopify_variant_counts", string="Variants", help="How many variants of the shop are listed."
    )
    shopify_unmatched_count = fields.Integer(
        compute="_compute_shopify_variant_counts",
        string="Unmatched Variants",
        help="Variants without an Odoo product: not exported, and their order lines resolve by SKU only.",
    )
    shopify_handles_delivery = fields.Boolean(
        string="Shopify Handles Deliveries",
        help="On: goods are shipped from Shopify's side (Shopify Fulfillment Network, a 3PL app, or staff "
        "fulfilling in the Shopify admin); each Shopify fulfillment validates the matching Odoo delivery (a "
        "partial one leaves a backorder). Off: Odoo ships, and each validated delivery creates the fulfillment "
        "in Shopify with carrier and tracking.",
    )
    shopify_notify_customer = fields.Boolean(
        string="Notify Customer on Shipment",
        default=True,
        help="Ask Shopify to e-mail the shipping confirmation (with tracking) when Odoo creates a fulfillment.",
    )
    shopify_export_stock = fields.Boolean(
        string="Export Stock",
        default=True,
        help="Publish the free quantity (on hand minus reserved) of every bound product in the mapped "
        "locations whenever it changes. Odoo is the stock master: Shopify's quantity is overwritten.",
    )
    shopify_export_refunds = fields.Boolean(
        string="Export Odoo Refunds",
        help="A credit note posted in Odoo on a Shopify order creates the refund in Shopify (money back "
        "through the order's gateway). Refunds made in Shopify are always imported; a refund is never "
        "created both ways.",
    )
    shopify_poll_enabled = fields.Boolean(
        string="Polling Backstop",
        default=True,
        help="Periodically read the orders updated since the last poll and feed them through the same intake "
        "as webhooks, so a lost webhook is repaired. Nothing is imported twice.",
    )
    # Kept in the kit's checkpoint table (resource type "orders"); shown and set here.
    shopify_poll_checkpoint = fields.Datetime(
        string="Polled Up To",
        compute="_compute_shopify_poll",
        inverse="_inverse_shopify_poll_checkpoint",
        help="Orders updated after this moment (minus the overlap) are read by the next poll. Set it back to "
        "re-read a period.",
    )
    shopify_poll_overlap = fields.Integer(
        string="Poll Overlap (min)",
        compute="_compute_shopify_poll",
        inverse="_inverse_shopify_poll_overlap",
        help="Each poll also re-reads this many minutes before the checkpoint, for clock differences and "
        "orders saved while the previous poll ran. Re-read versions are recognised and change nothing.",
    )

    @api.depends("checkpoint_ids.checkpoint", "checkpoint_ids.overlap_minutes")
    def _compute_shopify_poll(self):
        for backend in self:
            checkpoint = backend.checkpoint_ids.filtered(lambda c: c.resource_type == POLL_RESOURCE)[:1]
            backend.shopify_poll_checkpoint = checkpoint.checkpoint if checkpoint else backend.create_date
            backend.shopify_poll_overlap = checkpoint.overlap_minutes if checkpoint else DEFAULT_OVERLAP_MINUTES

    def _inverse_shopify_poll_checkpoint(self):
        for backend in self:
            backend._omni_checkpoint_set(POLL_RESOURCE, checkpoint=backend.shopify_poll_checkpoint)

    def _inverse_shopify_poll_overlap(self):
        for backend in self:
            backend._omni_checkpoint_set(POLL_RESOURCE, overlap_minutes=backend.shopify_poll_overlap)

    @api.depends("channel")
    def _compute_has_shopify_access_token(self):
        for backend, token in zip(self, self.sudo().mapped("shopify_access_token"), strict=True):
            backend.has_shopify_access_token = bool(token)

    def _compute_shopify_variant_counts(self):
        Variant = self.env["omni.shopify.variant"]
        total = dict(Variant._read_group([("backend_id", "in", self.ids)], ["backend_id"], ["__count"]))
        unmatched = dict(
            Variant._read_group(
                [("backend_id", "in", self.ids), ("product_id", "=", False)], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.shopify_variant_count = total.get(backend, 0)
            backend.shopify_unmatched_count = unmatched.get(backend, 0)

    @api.constrains("shopify_shop_domain")
    def _check_shopify_shop_domain(self):
        for backend in self.filtered("shopify_shop_domain"):
            try:
                normalize_shop_domain(backend.shopify_shop_domain)
            except ValueError:
                raise UserError(
                    self.env._(
                        "'%s' is not a Shopify shop domain (expected <shop>.myshopify.com).",
                        backend.shopify_shop_domain,
                    )
                ) from None

    # ------------------------------------------------------------------ client

    def _shopify_has_credentials(self):
        self.ensure_one()
        backend = self.sudo()
        if not backend.shopify_shop_domain:
            return False
        if backend.shopify_auth_method == "client_credentials":
            return bool(backend.shopify_client_id and backend.webhook_secret)
        return bool(backend.shopify_access_token)

    def _omni_connection_fields(self):
        # Only a shopify backend's (or, on no record, every connector's): the Connect a channel wizard
        # asks for exactly these, and must not list another channel's credentials.
        if self and not any(backend.channel == "shopify" for backend in self):
            return super()._omni_connection_fields()
        return super()._omni_connection_fields() | SHOPIFY_CONNECTION_FIELDS

    def _shopify_client(self):
        """The API client of this backend, shared by the process (the kit's ``_omni_client``):
        its view of Shopify's cost bucket survives from one event to the next.

        :raises BusinessError: when the backend has no usable credentials
        """
        self.ensure_one()
        backend = self.sudo()
        if not self._shopify_has_credentials():
            raise ShopifyApiError(self.env._("Shopify backend %s has no shop domain or credentials.", self.name))
        client_credentials = backend.shopify_auth_method == "client_credentials"
        return backend._omni_client(
            lambda: ShopifyClient(
                shop_domain=backend.shopify_shop_domain,
                api_version=backend.shopify_api_version or DEFAULT_API_VERSION,
                base_url=backend.shopify_base_url or None,
                client_id=backend.shopify_client_id if client_credentials else None,
                client_secret=backend.webhook_secret if client_credentials else None,
                access_token=backend.shopify_access_token or None,
            )
        )

    def _shopify_reset_client(self):
        """Forget this process's client of these backends (and its view of the cost bucket)."""
        self._omni_reset_client()

    def _shopify_save_client_state(self, client):
        """Keep what the client learnt (version served, a renewed token), only when it changed.

        Called by the buttons and the poll only, never by event handlers: several workers
        processing events of one backend in parallel must not write its row (all but one
        would fail on a serialization conflict and repeat their Shopify calls). A token
        renewed by a handler stays in the process's client until the next button or poll.
        """
        self.ensure_one()
        backend = self.sudo()
        values = {}
        if client.api_version_answered and client.api_version_answered != backend.shopify_api_version_answered:
            values["shopify_api_version_answered"] = client.api_version_answered
        if (
            backend.shopify_auth_method == "client_credentials"
            and client.access_token
            and client.access_token != backend.shopify_access_token
        ):
            values["shopify_access_token"] = client.access_token
        if values:
            # What the client learnt itself: the cached client stays (its cost bucket too).
            backend.with_context(omni_client_state=True).write(values)

    def _shopify_idempotency_key(self, key):
        """``key`` made unique to this database (a staging copy of production talking to the same
        shop must never have its mutations taken for replays of production's)."""
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return f"odoo-{uuid[:8]}-{key}"

    def _shopify_call(self, method, *args, **kwargs):
        """Run ``client.<method>(...)``; errors propagate (they are the pipeline's outcome errors)."""
        return getattr(self._shopify_client(), method)(*args, **kwargs)

    def _shopify_action_call(self, method, *args, **kwargs):
        """``_shopify_call`` for a button: keeps the client's state; channel errors become a
        readable UserError."""
        client = self._shopify_client()
        try:
            result = getattr(client, method)(*args, **kwargs)
            # An ``iter_*`` pager raises while it is read: read it here, where errors become UserErrors
            # (the proof's authorization suite met a 500 from "Import Variants" with the shop unreachable).
            return list(result) if isinstance(result, types.GeneratorType) else result
        except OmniError as error:
            raise UserError(self.env._("Shopify (%(name)s): %(error)s", name=self.name, error=error.message)) from error
        finally:
            self._shopify_save_client_state(client)

    # ------------------------------------------------------------- webhooks

    def _omni_verify_webhook(self, raw_body, headers):
        if self.channel != "shopify":
            return super()._omni_verify_webhook(raw_body, headers)
        self.ensure_one()
        shop_domain = self.shopify_shop_domain or None
        # The app's client secret, then the previous one during a rotation's grace (base).
        return self._omni_verify_with_secrets(
            lambda secret: verify_webhook(raw_body, headers, secret, shop_domain=shop_domain))

    def _omni_webhook_event_values(self, raw_body, headers, payload):
        if self.channel != "shopify":
            return super()._omni_webhook_event_values(raw_body, headers, payload)
        self.ensure_one()
        return webhook_event_values(headers, payload, raw_body)

    def _omni_test_connection(self):
        if self.channel != "shopify":
            return super()._omni_test_connection()
        self.ensure_one()
        client = self._shopify_client()
        try:
            shop = client.shop_info()
        finally:
            self._shopify_save_client_state(client)
        message = self.env._(
            "Connected to %(name)s (%(domain)s), currency %(currency)s, API version %(version)s.",
            name=shop.get("name"),
            domain=shop.get("myshopifyDomain"),
            currency=shop.get("currencyCode"),
            version=shop.get("api_version_answered") or shop.get("api_version_requested"),
        )
        requested = shop.get("api_version_requested")
        answered = shop.get("api_version_answered")
        if answered and requested and answered != requested:
            message += " " + self.env._(
                "Shopify no longer serves %(requested)s: it answered with %(answered)s.",
                requested=requested,
                answered=answered,
            )
        return message

    # ---------------------------------------------------------------- buttons

    def _shopify_notify(self, title, message, kind="success", next_action=None):
        params = {"title": title, "message": message, "type": kind, "sticky": kind != "success"}
        if next_action:
            params["next"] = next_action
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

    def _omni_register_webhooks(self):
        if self.channel != "shopify":
            return super()._omni_register_webhooks()
        self.ensure_one()
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for topic in WEBHOOK_TOPICS:
            result = self._shopify_action_call("register_webhook", topic, self.webhook_url)
            counts[result["action"]] = counts.get(result["action"], 0) + 1
        return counts

    def action_shopify_register_webhooks(self):
        """Subscribe every topic the connector handles to this backend's webhook URL (idempotent)."""
        check_channel_action(self.env)
        self.ensure_one()
        self._shopify_check_channel()
        url = self.webhook_url
        counts = self._omni_register_webhooks()
        message = self.env._(
            "%(created)s created, %(updated)s re-pointed, %(unchanged)s already in place, for %(url)s.",
            url=url,
            **counts,
        )
        self.message_post(body=self.env._("Webhooks registered: %s", message))
        return self._shopify_notify(self.env._("Shopify webhooks"), message)

    def action_shopify_import_variants(self):
        """Page through the shop's variants and bind them to Odoo products by SKU (then barcode)."""
        check_channel_action(self.env)
        self.ensure_one()
        self._shopify_check_channel()
        # A person's explicit bulk import (every variant, 752 points a page): it may wait for the
        # bucket between pages, unlike the queue's events, which raise after 2 s and retry.
        variants = list(self._shopify_action_call("iter_variants", max_wait=BULK_IMPORT_MAX_WAIT))
        result = self.env["omni.shopify.variant"]._shopify_sync_variants(self, variants)
        message = self.env._(
            "%(total)s variants read: %(bound)s bound to products, %(unmatched)s without a matching SKU.",
            total=result["total"],
            bound=result["bound"],
            unmatched=len(result["unmatched"]),
        )
        if result["unmatched"]:
            message += " " + self.env._(
                "Unmatched SKUs: %s", ", ".join(s or self.env._("(no SKU)") for s in result["unmatched"][:10])
            )
            if len(result["unmatched"]) > 10:
                message += " …"
        self.message_post(body=self.env._("Product mapping imported: %s", message))
        next_action = self.action_shopify_view_variants(unmatched=True) if result["unmatched"] else None
        return self._shopify_notify(
            self.env._("Shopify product mapping"), message, "warning" if result["unmatched"] else "success", next_action
        )

    def action_shopify_view_variants(self, unmatched=False):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_connector_shopify.action_omni_shopify_variant")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id, "search_default_filter_unmatched": 1 if unmatched else 0}
        return action

    def action_shopify_view_unmatched(self):
        return self.action_shopify_view_variants(unmatched=True)

    def action_shopify_sync_orders(self):
        """Run the polling backstop now for this backend."""
        check_channel_action(self.env)
        self.ensure_one()
        self._shopify_check_channel()
        try:
            stored, read = self._shopify_poll_orders()
        except OmniError as error:
            raise UserError(self.env._("Shopify (%(name)s): %(error)s", name=self.name, error=error.message)) from error
        message = self.env._(
            "%(read)s orders read from Shopify, %(stored)s new versions queued for import.", read=read, stored=stored
        )
        return self._shopify_notify(self.env._("Shopify orders"), message)

    def action_shopify_push_stock(self):
        """Queue the quantity of every bound product in every mapped location, sent or not before."""
        check_channel_action(self.env)
        self.ensure_one()
        self._shopify_check_channel()
        count = self.env["omni.shopify.variant"]._shopify_enqueue_stock(self, force=True)
        return self._shopify_notify(
            self.env._("Shopify stock"), self.env._("%s inventory levels queued for export.", count)
        )

    def _shopify_check_channel(self):
        if self.channel != "shopify":
            raise UserError(self.env._("%s is not a Shopify backend.", self.name))

    # ------------------------------------------------------------ polling

    def _omni_handle_event(self, event):
        if self.channel != "shopify":
            return super()._omni_handle_event(event)
        self.ensure_one()
        topic = event.topic
        if event.direction == "in":
            if topic in ORDER_TOPICS or topic == POLL_TOPIC:
                return self._shopify_import_order(event)
            if topic in (REFUND_TOPIC, REFUND_POLL_TOPIC):
                return self._shopify_import_refund(event)
            if topic in (*FULFILLMENT_TOPICS, FULFILLMENT_POLL_TOPIC):
                return self._shopify_import_fulfillment(event)
            if topic == UNINSTALL_TOPIC:
                return self._shopify_app_uninstalled(event)
        else:
            if topic == OUT_STOCK:
                return self._shopify_push_stock(event)
            if topic == OUT_FULFILLMENT:
                return self._shopify_push_fulfillment(event)
            if topic == OUT_REFUND:
                return self._shopify_push_refund(event)
        raise StaleEvent(
            self.env._("The Shopify connector does not handle the topic %s; acknowledged without effect.", topic)
        )

    def _shopify_payload(self, event):
        payload = event._omni_payload_json()
        if not isinstance(payload, dict):
            raise PermanentError(self.env._("The body is not a JSON object."))
        return payload

    # ================================================================ inbound
