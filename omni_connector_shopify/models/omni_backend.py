"""The Shopify backend: configuration, the API client, webhook intake hooks, buttons, and the
event handlers (webhooks and polled orders in; stock, fulfillments and refunds out).

Every handler is idempotent (bindings name what was already created or sent) and raises the
pipeline's outcome errors; the base processor records the outcome on the event.
"""

import functools
import hashlib
import json
import logging
import threading
import time
from datetime import timedelta, timezone
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.canonical import Payment, Refund
from odoo.addons.omni_connector_base.canonical.digest import order_update_digest
from odoo.addons.omni_connector_base.pipeline.errors import (
    BusinessError,
    OmniError,
    PermanentError,
    StaleEvent,
    TransientError,
)
from odoo.addons.omni_connector_base.pipeline.masking import mask_text

from ..lib.client import (
    BALANCE_TRANSACTION_PAGE_SIZE,
    DEFAULT_API_VERSION,
    INVENTORY_BATCH_SIZE,
    PAYOUT_PAGE_SIZE,
    ShopifyApiError,
    ShopifyClient,
    ShopifyTransientError,
    legacy_id,
    normalize_shop_domain,
)
from ..lib.mapper import ValidationError, map_fulfillment, map_order, map_refund
from ..lib.payouts import settlement_from_shopify
from ..lib.sync import (
    FULFILLMENT_TOPICS,
    ORDER_TOPICS,
    OUT_FULFILLMENT,
    OUT_REFUND,
    OUT_STOCK,
    POLL_TOPIC,
    REFUND_TOPIC,
    UNINSTALL_TOPIC,
    WEBHOOK_TOPICS,
    plan_fulfillment,
    plan_refund,
    polled_order_event_values,
    webhook_event_values,
)
from ..lib.webhook import parse_timestamp, verify_webhook

_logger = logging.getLogger(__name__)

# One client per backend and process: its view of Shopify's cost bucket survives from
# one event to the next, so the throttle is honoured across handler runs.
_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()
# Financial statuses whose import registers a payment: its reference should be Shopify's
# transaction id, which webhook bodies do not carry.
_PAYMENT_STATUSES = ("paid", "partially_paid", "partially_refunded", "refunded")
_HOLDING_STATES = ("pending", "retry", "blocked")
# After a transient stock-push failure, other stock events of the backend wait this long
# in this process before calling Shopify again (one failing call, not one per event).
# Shopify Payments payouts are listed by issue date but imported once paid, usually one to
# four bank days later: each fetch also looks this many days before ``since``, so a payout
# issued before the previous import and paid since is not missed. Known payouts cost nothing
# more than a line in the list (their transactions are not read again).
PAYOUT_SETTLE_DAYS = 10
STOCK_BREAKER_SECONDS = 30.0
_STOCK_BREAKER = {}
_STOCK_BREAKER_LOCK = threading.Lock()


def _decimal(value):
    """Odoo's float money -> Decimal through its shortest repr (no binary noise)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value or 0)


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
    shopify_poll_checkpoint = fields.Datetime(
        string="Polled Up To",
        default=fields.Datetime.now,
        copy=False,
        help="Orders updated after this moment (minus the overlap) are read by the next poll. Set it back to "
        "re-read a period.",
    )
    shopify_poll_overlap = fields.Integer(
        string="Poll Overlap (min)",
        default=10,
        help="Each poll also re-reads this many minutes before the checkpoint, for clock differences and "
        "orders saved while the previous poll ran. Re-read versions are recognised and change nothing.",
    )

    _check_shopify_poll_overlap = models.Constraint(
        "CHECK (shopify_poll_overlap IS NULL OR shopify_poll_overlap >= 0)",
        "The poll overlap cannot be negative.",
    )

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

    def _shopify_client(self):
        """The API client of this backend, shared by the process (see ``_CLIENTS``).

        :raises BusinessError: when the backend has no usable credentials
        """
        self.ensure_one()
        backend = self.sudo()
        if not self._shopify_has_credentials():
            raise ShopifyApiError(self.env._("Shopify backend %s has no shop domain or credentials.", self.name))
        client_credentials = backend.shopify_auth_method == "client_credentials"
        config = {
            "shop_domain": backend.shopify_shop_domain,
            "api_version": backend.shopify_api_version or DEFAULT_API_VERSION,
            "base_url": backend.shopify_base_url or None,
            "client_id": backend.shopify_client_id if client_credentials else None,
            "client_secret": backend.webhook_secret if client_credentials else None,
        }
        # The fingerprint names the configuration without keeping a secret in clear.
        material = dict(config, token=None if client_credentials else backend.shopify_access_token)
        fingerprint = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
        key = (self.env.cr.dbname, self.id)
        with _CLIENTS_LOCK:
            cached = _CLIENTS.get(key)
            if cached and cached[0] == fingerprint:
                return cached[1]
            client = ShopifyClient(access_token=backend.shopify_access_token or None, **config)
            if cached:
                cached[1].close()
            _CLIENTS[key] = (fingerprint, client)
        return client

    def _shopify_reset_client(self):
        """Forget this process's client of these backends (and its view of the cost bucket)."""
        with _CLIENTS_LOCK:
            for backend in self:
                cached = _CLIENTS.pop((self.env.cr.dbname, backend.id), None)
                if cached:
                    cached[1].close()

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
            backend.write(values)

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
            return getattr(client, method)(*args, **kwargs)
        except OmniError as error:
            raise UserError(self.env._("Shopify (%(name)s): %(error)s", name=self.name, error=error.message)) from error
        finally:
            self._shopify_save_client_state(client)

    # ------------------------------------------------------------- webhooks

    def _omni_verify_webhook(self, raw_body, headers):
        if self.channel != "shopify":
            return super()._omni_verify_webhook(raw_body, headers)
        self.ensure_one()
        ok, reason = verify_webhook(
            raw_body, headers, self._omni_webhook_secret(), shop_domain=self.shopify_shop_domain or None
        )
        return (True, "") if ok else (False, reason)

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

    def action_shopify_register_webhooks(self):
        """Subscribe every topic the connector handles to this backend's webhook URL (idempotent)."""
        self.ensure_one()
        self._shopify_check_channel()
        url = self.webhook_url
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for topic in WEBHOOK_TOPICS:
            result = self._shopify_action_call("register_webhook", topic, url)
            counts[result["action"]] = counts.get(result["action"], 0) + 1
        message = self.env._(
            "%(created)s created, %(updated)s re-pointed, %(unchanged)s already in place, for %(url)s.",
            url=url,
            **counts,
        )
        self.message_post(body=self.env._("Webhooks registered: %s", message))
        return self._shopify_notify(self.env._("Shopify webhooks"), message)

    def action_shopify_import_variants(self):
        """Page through the shop's variants and bind them to Odoo products by SKU (then barcode)."""
        self.ensure_one()
        self._shopify_check_channel()
        variants = list(self._shopify_action_call("iter_variants"))
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

    def _shopify_poll_orders(self):
        """Read the orders updated since the checkpoint (minus the overlap) into the inbox.

        Each version is stored with the key ``poll:<id>:<updated_at>``, so re-reading the
        overlap stores nothing twice, and the order handler recognises a version a webhook
        already delivered. Returns ``(stored, read)``.
        """
        self.ensure_one()
        started = fields.Datetime.now()
        since = (self.shopify_poll_checkpoint or started) - timedelta(minutes=self.shopify_poll_overlap or 0)
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
        self.sudo().shopify_poll_checkpoint = started
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

    # ----------------------------------------------------- Shopify Payments

    def _omni_can_fetch_settlements(self):
        if self.channel != "shopify":
            return super()._omni_can_fetch_settlements()
        return True

    def _omni_fetch_settlements(self, since=None):
        """Paid Shopify Payments payouts issued since ``since`` minus ``PAYOUT_SETTLE_DAYS``, as
        ``[(payout id, loader)]``, ``loader()`` reading the payout's balance transactions and
        mapping them to a canonical settlement (``lib.payouts.settlement_from_shopify``).

        Only ``paid`` payouts are taken: the money is on the bank account and the payout will not
        change any more. Scheduled ones (Shopify's GraphQL API folded "in transit" into
        "scheduled") may still fail or be cancelled, and a payout once imported is not fetched
        again, so importing it early would leave its later failure unseen; it is imported by the
        first run after it is paid. Failed and cancelled payouts are never imported (their money
        comes back in a later payout as a payout failure line).
        """
        if self.channel != "shopify":
            return super()._omni_fetch_settlements(since)
        self.ensure_one()
        look_back = since - timedelta(days=PAYOUT_SETTLE_DAYS) if since else None
        payouts = []
        for payout, load_transactions in self._omni_shopify_payouts(look_back):
            if str(payout.get("status") or "").lower() != "paid":
                continue
            payouts.append((str(payout["id"]), (
                lambda payout=payout, load=load_transactions: settlement_from_shopify(payout, load()))))
        return payouts

    def _omni_shopify_payouts(self, since=None):
        """The shop's Shopify Payments payouts issued since ``since`` (a date or datetime; None:
        all), oldest first, as ``[(payout, load_transactions), ...]``.

        ``payout`` is the REST-shaped payout dict (``lib.client.rest_payout_from_graphql``, all
        statuses: the caller decides which ones it takes); ``load_transactions()`` reads that
        payout's balance transactions (REST-shaped list) only when called, so a payout the
        caller already knows costs no further request. This is what the reconciliation addon
        (``omni_reconciliation``, which does not depend on this one) calls for a payout
        account whose channel is this backend. Needs the app scope
        ``read_shopify_payments_payouts``; raises the client's errors (channel API errors,
        Shopify Payments not active on the shop).
        """
        self.ensure_one()
        self._shopify_check_channel()
        client = self._shopify_client()
        if since is None:
            since_day = "1970-01-01"
        else:
            since_day = since.date() if hasattr(since, "date") else since
        try:
            payouts = list(client.iter_payouts(since_day, page_size=PAYOUT_PAGE_SIZE))
        finally:
            self._shopify_save_client_state(client)
        _logger.info("Shopify backend %s: %s payouts issued since %s", self.id, len(payouts), since_day)
        return [(payout, functools.partial(self._shopify_payout_transactions, payout["id"])) for payout in payouts]

    def _shopify_payout_transactions(self, payout_id):
        """Every balance transaction of one payout, REST-shaped (see ``_omni_shopify_payouts``)."""
        self.ensure_one()
        client = self._shopify_client()
        return list(client.iter_balance_transactions(payout_id, page_size=BALANCE_TRANSACTION_PAGE_SIZE))

    @api.model
    def _cron_shopify_stock_sync(self):
        """Stock backstop: queue every inventory level that differs from what was last sent."""
        backends = self.sudo().search([("channel", "=", "shopify"), ("shopify_export_stock", "=", True)])
        for backend in backends.filtered(lambda backend: backend._shopify_has_credentials()):
            self.env["omni.shopify.variant"]._shopify_enqueue_stock(backend)
            self.env["omni.event"]._omni_commit_progress(1)
        return True

    # ================================================================ events

    def _omni_handle_event(self, event):
        if self.channel != "shopify":
            return super()._omni_handle_event(event)
        self.ensure_one()
        topic = event.topic
        if event.direction == "in":
            if topic in ORDER_TOPICS or topic == POLL_TOPIC:
                return self._shopify_import_order(event)
            if topic == REFUND_TOPIC:
                return self._shopify_import_refund(event)
            if topic in FULFILLMENT_TOPICS:
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

    def _shopify_import_order(self, event):
        """Order body (webhook or poll) -> canonical order -> the shared importer.

        A version already applied (same ``updated_at``, e.g. delivered by webhook and by
        poll) and a version that changes nothing the order sells (Shopify rewrites tags,
        fulfillment status... on every ``orders/updated``) only refresh the binding.
        """
        payload = self._shopify_payload(event)
        order_id = str(payload.get("id") or "")
        if not order_id:
            raise PermanentError(self.env._("The order body has no id."))
        Binding = self.env["omni.binding"]
        binding = Binding._omni_bindings(self, "sale.order", [order_id]).get(order_id)
        sale = binding._omni_record() if binding else None
        version = parse_timestamp(payload.get("updated_at"))
        version = version.replace(microsecond=0) if version else None
        if sale and version and binding.external_updated_at == version:
            return sale
        if self._shopify_needs_transactions(payload, sale):
            payload = self._shopify_with_transactions(payload)
        try:
            order = map_order(payload)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify order %(order)s cannot be read: %(error)s", order=order_id, error=error),
                category="validation",
            ) from error
        digest = order_update_digest(order)
        if sale and sale.shopify_content_digest == digest:
            Binding._omni_bind(self, sale, order_id, external_updated_at=version)
            return sale
        sale = self.env["omni.order.importer"]._omni_import_order(self, order, event)
        values = {"shopify_content_digest": digest}
        if order.is_test and not sale.shopify_is_test:
            values["shopify_is_test"] = True
        sale.sudo().write(values)
        return sale

    def _shopify_needs_transactions(self, payload, sale):
        """Whether to read the order's transactions: a payment will be registered and the body
        (a webhook's) does not name the transaction it should reference."""
        if payload.get("transactions") or not self._shopify_has_credentials():
            return False
        if payload.get("test") and not self.import_test_orders:
            return False
        if str(payload.get("financial_status") or "").lower() not in _PAYMENT_STATUSES:
            return False
        return not sale or not sale.omni_payment_ids

    def _shopify_with_transactions(self, payload):
        """The webhook body completed with the order's transactions read through the API.

        Only the transactions are taken: the rest of the body stays the version the
        webhook announced. When Shopify refuses (scope, order gone) the mapper's inference
        is kept and the problem is shown once in the exception queue; network failures and
        throttling make the event retry instead.
        """
        try:
            transactions = self._shopify_call(
                "get_order_transactions", payload.get("admin_graphql_api_id") or payload["id"]
            )
        except ShopifyApiError as error:
            _logger.warning(
                "Shopify backend %s: transactions of order %s unavailable: %s",
                self.id,
                payload.get("id"),
                mask_text(error.message),
            )
            self.env["omni.exception"]._omni_raise(
                self.env._(
                    "Could not read the transactions of Shopify orders (%s); payments are referenced by order "
                    "instead of by transaction.",
                    error.message,
                ),
                backend=self,
                category="channel_api",
                severity="warning",
                dedupe_key="shopify:transactions",
            )
            return payload
        if not transactions:
            return payload
        return dict(payload, transactions=transactions)

    def _shopify_import_refund(self, event):
        """``refunds/create`` -> credit note, return and refund payment, through the importer.

        A refund this backend created from an Odoo credit note is recognised by its binding
        and changes nothing; while such an export of the same order is still in flight,
        the webhook waits for it (never both ways for one refund).
        """
        payload = self._shopify_payload(event)
        order_id = str(payload.get("order_id") or "")
        refund_id = str(payload.get("id") or "")
        Binding = self.env["omni.binding"]
        if refund_id:
            existing = Binding._omni_lookup(self, "account.move", [refund_id]).get(refund_id)
            if existing:
                return existing
        if order_id and self._shopify_out_pending(OUT_REFUND, order_id, exclude_id=None):
            raise TransientError(
                self.env._(
                    "A refund of order %s made in Odoo is being sent to Shopify; this refund waits until it is bound.",
                    order_id,
                ),
                retry_after=30,
            )
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id) if order_id else None
        try:
            refund = map_refund(payload, currency=sale.currency_id.name if sale else None)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify refund %(refund)s cannot be read: %(error)s", refund=refund_id, error=error),
                category="validation",
            ) from error
        return self.env["omni.order.importer"]._omni_import_refund(self, refund, event)

    def _shopify_out_pending(self, topic, resource_key, exclude_id=None):
        """Whether an outgoing event of this topic and resource is queued or being sent."""
        self.env["omni.event"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM omni_event WHERE backend_id = %s AND direction = 'out' AND topic = %s "
                "AND resource_key = %s AND state IN ('pending', 'retry') AND id != %s LIMIT 1",
                self.id,
                topic,
                resource_key,
                exclude_id or 0,
            )
        )
        return bool(self.env.cr.fetchone())

    def _shopify_import_fulfillment(self, event):
        """``fulfillments/*``: when Shopify ships, validate the matching Odoo delivery.

        The shipped quantities are set on the open delivery of the order and validated;
        what Shopify did not ship stays in a backorder. The delivery is bound to the
        fulfillment: a later ``fulfillments/update`` only refreshes the tracking.
        """
        if not self.shopify_handles_delivery:
            raise StaleEvent(
                self.env._(
                    "Odoo handles the deliveries of this shop: Shopify's fulfillment is not applied "
                    "(it is usually the echo of a delivery Odoo sent)."
                )
            )
        payload = self._shopify_payload(event)
        try:
            shipment = map_fulfillment(payload)
        except ValidationError as error:
            raise BusinessError(
                self.env._("Shopify fulfillment cannot be read: %s", error), category="validation"
            ) from error
        Binding = self.env["omni.binding"]
        order_id = shipment.order_external_id
        sale = Binding._omni_lookup(self, "sale.order", [order_id]).get(order_id)
        if not sale:
            raise TransientError(
                self.env._("Order %s of this fulfillment is not imported yet.", order_id), retry_after=60
            )
        fulfillment_id = shipment.external_id
        picking = (
            Binding._omni_lookup(self, "stock.picking", [fulfillment_id]).get(fulfillment_id)
            if fulfillment_id
            else None
        )
        if picking:
            picking._shopify_set_tracking(shipment)
            return picking
        if (shipment.status or "").lower() in ("cancelled", "failure", "error"):
            raise StaleEvent(
                self.env._(
                    "Fulfillment %(id)s has status %(status)s: nothing shipped.",
                    id=fulfillment_id,
                    status=shipment.status,
                )
            )
        line_keys = [f"{order_id}/{line.order_line_external_id}" for line in shipment.lines]
        sale_lines = Binding._omni_lookup(self, "sale.order.line", line_keys)
        wanted = {}
        for line, key in zip(shipment.lines, line_keys, strict=True):
            sale_line = sale_lines.get(key)
            if not sale_line:
                raise BusinessError(
                    self.env._(
                        "Fulfillment %(id)s ships a line (%(line)s) that order %(order)s does not have in Odoo.",
                        id=fulfillment_id,
                        line=line.order_line_external_id,
                        order=sale.name,
                    ),
                    category="validation",
                    record=(sale._name, sale.id),
                )
            wanted[sale_line] = wanted.get(sale_line, Decimal(0)) + line.quantity
        picking = self._shopify_validate_delivery(sale, wanted, fulfillment_id)
        picking._shopify_set_tracking(shipment)
        if fulfillment_id:
            Binding._omni_bind(self, picking, fulfillment_id)
        return picking

    def _shopify_validate_delivery(self, sale, wanted, fulfillment_id):
        """Validate the shipped quantities on the order's first open delivery (backorder for the rest)."""
        pickings = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
        ).sorted("id")
        if not pickings:
            raise BusinessError(
                self.env._(
                    "Shopify shipped order %(order)s (fulfillment %(id)s) but it has no open delivery in Odoo.",
                    order=sale.name,
                    id=fulfillment_id,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        picking = pickings[0]
        remaining = {line: float(quantity) for line, quantity in wanted.items()}
        shipped = False
        for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")).sorted("id"):
            line = move.sale_line_id
            want = remaining.get(line, 0.0)
            quantity = 0.0
            if want > 0:
                quantity = min(line.product_uom_id._compute_quantity(want, move.product_uom), move.product_uom_qty)
                remaining[line] = want - move.product_uom._compute_quantity(quantity, line.product_uom_id)
            move.quantity = quantity
            move.picked = bool(quantity)
            shipped = shipped or bool(quantity)
        if not shipped:
            raise BusinessError(
                self.env._(
                    "Nothing Shopify shipped in fulfillment %(id)s is left to deliver on %(picking)s.",
                    id=fulfillment_id,
                    picking=picking.name,
                ),
                category="validation",
                record=(picking._name, picking.id),
            )
        picking.with_context(skip_backorder=True, omni_shopify_from_channel=True).button_validate()
        picking.message_post(body=self.env._("Validated from Shopify fulfillment %s.", fulfillment_id))
        return picking

    def _shopify_app_uninstalled(self, event):
        """The shop removed the app: archive the backend, forget its token, tell a person."""
        self.sudo().write({"active": False, "shopify_access_token": False})
        self.message_post(body=self.env._("The Shopify app was uninstalled from the shop: backend archived."))
        self.env["omni.exception"]._omni_raise(
            self.env._(
                "The Shopify app was uninstalled from %(shop)s. The backend %(name)s is archived and its token "
                "forgotten: nothing is imported or sent any more. Reinstall the app, enter the new credentials and "
                "unarchive the backend to resume.",
                shop=self.shopify_shop_domain or event.resource_key,
                name=self.name,
            ),
            backend=self,
            category="channel_api",
            severity="critical",
            dedupe_key="shopify:app_uninstalled",
        )
        return self

    # =============================================================== outbound

    # ------------------------------------------------------------------ stock

    def _shopify_push_stock(self, event):
        """Push this event's inventory level together with up to 249 other queued ones.

        One ``inventorySetQuantities`` call per run (≤ 250 quantities, Shopify's limit):
        the other ready stock events of the backend are locked ``FOR UPDATE SKIP LOCKED``
        (a parallel worker takes the next 250), only quantities that differ from what was
        last sent are sent, and all of them are marked done with this one. A failure
        rolls the whole batch back; the idempotency key makes a retry after a timeout
        apply once.
        """
        self._shopify_check_stock_breaker()
        Event = self.env["omni.event"]
        events = event | self._shopify_claim_stock_events(event, INVENTORY_BATCH_SIZE - 1)
        Variant = self.env["omni.shopify.variant"]
        pairs = Variant._shopify_pairs_from_events(events)
        sent = Variant._shopify_send_levels(self, pairs, event_ids=events.ids)
        others = events - event
        if others:
            now = fields.Datetime.now()
            Event.flush_model()
            self.env.cr.execute(
                SQL(
                    "UPDATE omni_event SET state = 'done', attempts = attempts + 1, processed_at = %s, "
                    "next_attempt_at = NULL, last_error = NULL, write_date = %s, write_uid = %s WHERE id IN %s",
                    now,
                    now,
                    self.env.uid,
                    tuple(others.ids),
                )
            )
            others.invalidate_recordset()
        _logger.debug("Shopify backend %s: stock push of %s events sent %s quantities", self.id, len(events), sent)

    def _shopify_claim_stock_events(self, event, limit):
        """Lock up to ``limit`` other ready stock events of this backend (same readiness rule
        as the processor's claim: due, and no earlier unfinished event of the same level)."""
        if limit <= 0:
            return self.env["omni.event"]
        # The head (earliest unfinished event) of each resource, in one ordered pass over the
        # processor's resource index: linear whatever the table's statistics say (a correlated
        # NOT EXISTS planned on stale statistics after a bulk enqueue turns quadratic).
        self.env["omni.event"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            WITH heads AS (
                SELECT DISTINCT ON (resource_key) id, state, COALESCE(next_attempt_at, received_at) AS due
                  FROM omni_event
                 WHERE backend_id = %(backend)s AND direction = 'out' AND state IN %(holding)s
                   AND resource_key IS NOT NULL
                 ORDER BY resource_key, COALESCE(source_ts, received_at), id
            )
            SELECT e.id
              FROM omni_event e
              JOIN heads h ON h.id = e.id
             WHERE e.topic = %(topic)s AND h.state IN ('pending', 'retry') AND h.due <= %(now)s
               AND e.id != %(current)s
             ORDER BY e.id
             LIMIT %(limit)s
               FOR UPDATE OF e SKIP LOCKED
            """,
                backend=self.id,
                topic=OUT_STOCK,
                now=fields.Datetime.now(),
                current=event.id,
                holding=_HOLDING_STATES,
                limit=limit,
            )
        )
        return self.env["omni.event"].browse([row[0] for row in self.env.cr.fetchall()])

    def _shopify_check_stock_breaker(self):
        with _STOCK_BREAKER_LOCK:
            until = _STOCK_BREAKER.get((self.env.cr.dbname, self.id), 0.0)
        wait = until - time.monotonic()
        if wait > 0:
            raise TransientError(
                self.env._("A stock push to Shopify failed moments ago; waiting %.0f s before trying again.", wait),
                retry_after=wait,
            )

    def _shopify_open_stock_breaker(self, retry_after=None):
        """Remember (in this process: rollbacks cannot undo it) that Shopify just failed."""
        with _STOCK_BREAKER_LOCK:
            _STOCK_BREAKER[(self.env.cr.dbname, self.id)] = time.monotonic() + max(
                float(retry_after or 0), STOCK_BREAKER_SECONDS
            )

    def _shopify_set_quantities(self, changes, key):
        """``set_inventory_quantities`` with the breaker; returns the per-item errors Shopify named.

        :return: ``{index in changes: message}`` for items Shopify refused (unknown
            inventory item or location); ``{}`` when everything was applied
        """
        try:
            self._shopify_call("set_inventory_quantities", changes, reason="correction", idempotency_key=key)
        except ShopifyTransientError as error:
            self._shopify_open_stock_breaker(error.retry_after)
            raise
        except ShopifyApiError as error:
            per_item = {}
            for user_error in error.user_errors:
                path = user_error.get("field") or []
                if len(path) >= 3 and path[:2] == ["input", "quantities"] and str(path[2]).isdigit():
                    per_item[int(path[2])] = user_error.get("message") or user_error.get("code") or ""
            if not per_item or len(per_item) < len(error.user_errors):
                raise
            return per_item
        return {}

    # ------------------------------------------------------------- fulfillment

    def _shopify_push_fulfillment(self, event):
        """A delivery of a Shopify order is done: fulfil its lines in Shopify, with tracking.

        The shipped quantities are placed on the order's open fulfillment-order lines as
        Shopify reports them now, so a retry never fulfils twice (what is fulfilled is no
        longer open), and a partial delivery makes a partial fulfillment.
        """
        payload = self._shopify_payload(event)
        picking = self.env["stock.picking"].browse(payload.get("picking_id") or 0).exists()
        if not picking or picking.state != "done":
            raise StaleEvent(self.env._("The delivery no longer exists or is not done."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, picking):
            return picking
        sale = picking.sale_id
        order_id = sale.omni_external_id
        moves = picking.move_ids.filtered(lambda m: m.state == "done" and m.sale_line_id and m.quantity)
        line_ids = Binding._omni_external_ids(self, moves.sale_line_id)
        wanted = {}
        for move in moves:
            external = line_ids.get(move.sale_line_id.id) or ""
            item = external.split("/", 1)[1] if "/" in external else ""
            if not item or ":" in item:
                continue  # shipping, fee or discount lines are not fulfilled
            quantity = move.product_uom._compute_quantity(move.quantity, move.sale_line_id.product_uom_id)
            wanted[item] = wanted.get(item, 0) + round(quantity)
        if not wanted:
            raise StaleEvent(self.env._("Delivery %s ships no Shopify line item.", picking.name))
        fulfillment_orders = self._shopify_call("fulfillment_orders", order_id)
        preferred = self.shopify_location_ids._shopify_for_location(picking.location_id)
        per_location, missing = plan_fulfillment(
            fulfillment_orders, wanted, preferred.shopify_location_id if preferred else None
        )
        tracking = picking._shopify_tracking()
        created = []
        for _location, groups in per_location:
            fulfillment = self._shopify_call(
                "create_fulfillment", groups, tracking=tracking, notify_customer=self.shopify_notify_customer
            )
            created.append(str(legacy_id((fulfillment or {}).get("id"))))
        for fulfillment_id in created:
            Binding._omni_bind(self, picking, fulfillment_id)
        if missing:
            picking.message_post(
                body=self.env._(
                    "Shopify had nothing left to fulfil for some shipped quantities (already fulfilled there?): %s",
                    ", ".join(f"{item} x {qty}" for item, qty in missing.items()),
                )
            )
        if created:
            picking.message_post(
                body=self.env._(
                    "Fulfilled in Shopify (%(ids)s), tracking %(number)s.",
                    ids=", ".join(created),
                    number=tracking.get("number") or self.env._("none"),
                )
            )
        return picking

    # ----------------------------------------------------------------- refund

    def _shopify_push_refund(self, event):
        """A credit note posted in Odoo on a Shopify order: create the refund in Shopify.

        The credit note is bound to the Shopify refund it created, so the
        ``refunds/create`` webhook that follows is recognised and imports nothing. The
        outbox event's key is the mutation's idempotency key: a retry refunds once.
        """
        payload = self._shopify_payload(event)
        move = self.env["account.move"].browse(payload.get("move_id") or 0).exists()
        if not move or move.state != "posted" or move.move_type != "out_refund":
            raise StaleEvent(self.env._("The credit note no longer exists or is not posted."))
        Binding = self.env["omni.binding"]
        if Binding._omni_external_ids(self, move):
            return move
        product_lines = move.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        sale = product_lines.sale_line_ids.order_id.filtered(lambda order: order.omni_backend_id == self)[:1]
        if not sale:
            raise StaleEvent(self.env._("Credit note %s is not linked to a Shopify order of this backend.", move.name))
        line_ids = Binding._omni_external_ids(self, product_lines.sale_line_ids)
        lines = []
        for line in product_lines:
            external = line_ids.get(line.sale_line_ids[:1].id) or ""
            lines.append(
                {
                    "external_id": external.split("/", 1)[1] if "/" in external else "",
                    "quantity": _decimal(line.quantity),
                    "amount": _decimal(line.price_total),
                }
            )
        payments = sale.omni_payment_ids.filtered(lambda p: p.payment_type == "inbound")
        parent = next((p.omni_transaction_id for p in payments if p.omni_transaction_id), None)
        gateway = sale.omni_payment_gateway or (payments[:1].omni_gateway if payments else None)
        arguments = plan_refund(
            lines, _decimal(move.amount_total), gateway, parent, note=self.env._("Odoo credit note %s", move.name)
        )
        refund = self._shopify_call(
            "create_refund",
            sale.omni_external_id,
            idempotency_key=self._shopify_idempotency_key(event.idempotency_key),
            **arguments,
        )
        if not refund:
            raise TransientError(self.env._("Shopify created no refund and named no error; retrying."))
        refund_id = str(legacy_id(refund.get("id")))
        Binding._omni_bind(self, move, refund_id)
        move.sudo().write({"omni_backend_id": self.id, "omni_external_id": refund_id})
        self._shopify_register_exported_refund(sale, move, refund, refund_id)
        move.message_post(body=self.env._("Refund %s created in Shopify.", refund_id))
        return move

    def _shopify_register_exported_refund(self, sale, move, refund, refund_id):
        """Book Shopify's refund transactions as refund payments in the clearing journal (as for an
        imported refund), unless someone already paid the credit note in Odoo."""
        if move.payment_state not in ("not_paid", "partial"):
            return
        transactions = []
        for node in (refund.get("transactions") or {}).get("nodes") or []:
            money = (node.get("amountSet") or {}).get("shopMoney") or {}
            if str(node.get("status") or "").upper() != "SUCCESS" or not money.get("amount"):
                continue
            transactions.append(
                Payment(
                    gateway=node.get("gateway") or sale.omni_payment_gateway or "shopify",
                    transaction_id=str(legacy_id(node.get("id"))),
                    amount=Decimal(str(money["amount"])),
                    currency=money.get("currencyCode") or sale.currency_id.name,
                    kind="refund",
                    status="success",
                )
            )
        if not transactions:
            return
        created = parse_timestamp(refund.get("createdAt"))
        canonical = Refund(
            external_id=refund_id,
            order_external_id=sale.omni_external_id,
            created_at=(created or fields.Datetime.now()).replace(tzinfo=timezone.utc),
            currency=sale.currency_id.name,
            amount=sum((tx.amount for tx in transactions), Decimal(0)),
            transactions=transactions,
        )
        self.env["omni.order.importer"]._omni_register_refund_payments(self, sale, canonical, move)
