"""The eBay backend: configuration, the API client, the deletion-notification intake hooks,
"Test connection", and the event dispatch. Handlers live in ``ebay_inbound.py``,
``ebay_outbound.py``, ``ebay_sync.py`` and ``ebay_payouts.py``."""

import json
import logging
import threading
import time
import zlib

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.pipeline.errors import PermanentError, StaleEvent

from ..lib import ebay_notification
from ..lib.ebay_client import (
    DEFAULT_API_BASE,
    DEFAULT_FINANCES_BASE,
    DEFAULT_TOKEN_URL,
    SANDBOX_API_BASE,
    SANDBOX_FINANCES_BASE,
    SANDBOX_TOKEN_URL,
    EbayApiError,
    EbayClient,
)
from ..lib.ebay_mapper import ValidationError as EbayValidationError
from ..lib.ebay_mapper import when as parse_when
from ..lib.ebay_signature import SignatureKeyError

_logger = logging.getLogger(__name__)

TOPIC_ORDER = "ebay/order"
TOPIC_REFUND = "ebay/refund"
TOPIC_DELETION = ebay_notification.DELETION_TOPIC
OUT_STOCK = "ebay/stock"
OUT_SHIPMENT = "ebay/shipment"
POLL_RESOURCE = "ebay_orders"
EBAY_CONNECTION_FIELDS = frozenset({
    "ebay_environment", "ebay_app_id", "ebay_cert_id", "ebay_refresh_token", "ebay_signing_key",
    "ebay_signing_jwe", "ebay_api_base_url", "ebay_finances_base_url", "ebay_token_url",
})
# kid -> (monotonic time, (pem, digest)): the notification public keys, per process, ~1 h.
_PUBLIC_KEYS = {}
_PUBLIC_KEYS_LOCK = threading.Lock()


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    channel = fields.Selection(selection_add=[("ebay", "eBay")], ondelete={"ebay": "cascade"})
    ebay_environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox")], string="eBay Environment", default="production",
        help="Which eBay hosts are called (api.ebay.com / apiz.ebay.com, or the sandbox ones).")
    ebay_app_id = fields.Char(
        string="App ID (Client ID)", copy=False,
        help="The application's App ID from the eBay developer portal (Application Keys).")
    ebay_cert_id = fields.Char(
        string="Cert ID (Client Secret)", groups="base.group_system", copy=False,
        help="The application's Cert ID. Only system administrators can read it; it is never logged.")
    ebay_refresh_token = fields.Char(
        string="Refresh Token", groups="base.group_system", copy=False,
        help="The seller's OAuth refresh token (valid 18 months), from the consent flow with the scopes "
        "sell.fulfillment, sell.inventory, sell.finances and commerce.identity.readonly. Access tokens are "
        "obtained from it when needed.")
    ebay_verification_token = fields.Char(
        string="Verification Token", groups="base.group_system", copy=False,
        help="The 32-80 character token entered with the endpoint in the developer portal's Marketplace "
        "Account Deletion settings; it answers eBay's challenge.")
    ebay_notification_endpoint = fields.Char(
        string="Deletion Endpoint URL", groups="base.group_system",
        help="The endpoint URL exactly as entered in the developer portal, if it differs from this backend's "
        "webhook URL (a proxy in front of Odoo). It is part of the challenge response.")
    ebay_signing_key = fields.Text(
        string="Signing Private Key", groups="base.group_system", copy=False,
        help="The Ed25519 private key (PEM, or base64) the Key Management API created, for the digital "
        "signatures eBay requires on Finances calls of EU/UK sellers. Empty: calls are not signed.")
    ebay_signing_jwe = fields.Text(
        string="Signing Public Key (JWE)", groups="base.group_system", copy=False,
        help="The jwe value of the same key from the Key Management API, sent as x-ebay-signature-key.")
    ebay_api_base_url = fields.Char(
        string="API Base URL Override", groups="base.group_system",
        help="Only for the local simulator (tests, benchmarks): replaces https://api.ebay.com.")
    ebay_finances_base_url = fields.Char(
        string="Finances Base URL Override", groups="base.group_system",
        help="Only for the local simulator: replaces https://apiz.ebay.com (Finances and Identity APIs).")
    ebay_token_url = fields.Char(
        string="Token Endpoint Override", groups="base.group_system",
        help="Only for the local simulator: replaces https://api.ebay.com/identity/v1/oauth2/token.")
    ebay_username = fields.Char(
        string="eBay Seller", readonly=True, copy=False,
        help="The seller account's user name, as eBay answered the last connection test.")
    ebay_poll_enabled = fields.Boolean(
        string="Poll Orders", default=True,
        help="Read the orders modified since the last poll (minus the overlap) on a schedule. eBay sends no "
        "order webhooks to REST applications: this poll is how orders, cancellations and refunds arrive.")
    ebay_import_since = fields.Datetime(
        string="Import Orders Modified Since",
        help="Used by the 'Import orders' button: every order modified since this moment is read again and "
        "queued (orders already imported are recognised and change nothing).")
    ebay_import_progress = fields.Char(
        string="Import Progress", readonly=True, copy=False,
        help="How far the last order import went (orders read of the total eBay announced).")
    ebay_export_stock = fields.Boolean(
        string="Export Stock", default=True,
        help="Publish the free quantity of every eBay listing's product whenever it changes, in "
        "bulkUpdatePriceQuantity calls of 25.")
    ebay_stock_min_interval = fields.Integer(
        string="Minimum Minutes Between Revisions", default=10,
        help="A listing is revised at most once in this many minutes (eBay allows 250 revisions a day per "
        "listing); changes in between are coalesced and sent together.")
    ebay_restock_returns = fields.Boolean(
        string="Refunded Items Come Back", default=True,
        help="A refund of a whole line makes a return picking (the item comes back). Off: credit note only.")
    ebay_listing_ids = fields.One2many(
        "omni.ebay.listing", "backend_id", string="eBay Listings",
        help="SKUs listed on eBay and their Odoo products; their stock is exported.")

    # ------------------------------------------------------------------ client

    def _omni_connection_fields(self):
        # Only a ebay backend's (or, on no record, every connector's): the Connect a channel wizard
        # asks for exactly these, and must not list another channel's credentials.
        if self and not any(backend.channel == "ebay" for backend in self):
            return super()._omni_connection_fields()
        return super()._omni_connection_fields() | EBAY_CONNECTION_FIELDS

    @api.private
    def _ebay_has_credentials(self):
        self.ensure_one()
        backend = self.sudo()
        return bool(backend.ebay_app_id and backend.ebay_cert_id and backend.ebay_refresh_token)

    @api.private
    def _ebay_client(self):
        """This backend's client, shared by the process (the kit's ``_omni_client``)."""
        self.ensure_one()
        backend = self.sudo()
        if not backend.ebay_app_id or not backend.ebay_cert_id:
            raise EbayApiError(self.env._("eBay backend %s has no App ID or Cert ID.", self.name))
        sandbox = backend.ebay_environment == "sandbox"

        def factory():
            try:
                return EbayClient(
                    app_id=backend.ebay_app_id, cert_id=backend.ebay_cert_id,
                    refresh_token=backend.ebay_refresh_token or None,
                    token_url=backend.ebay_token_url or (SANDBOX_TOKEN_URL if sandbox else DEFAULT_TOKEN_URL),
                    api_base=backend.ebay_api_base_url or (SANDBOX_API_BASE if sandbox else DEFAULT_API_BASE),
                    finances_base=backend.ebay_finances_base_url
                    or (SANDBOX_FINANCES_BASE if sandbox else DEFAULT_FINANCES_BASE),
                    signing_key=backend.ebay_signing_key or None, signing_jwe=backend.ebay_signing_jwe or None,
                )
            except SignatureKeyError as error:
                raise EbayApiError(self.env._("The eBay signing key of %(name)s: %(error)s", name=self.name,
                                              error=str(error))) from error

        return backend._omni_client(factory)

    @api.private
    def _ebay_call(self, method, *args, **kwargs):
        return getattr(self._ebay_client(), method)(*args, **kwargs)

    @api.private
    def _ebay_check_channel(self):
        if self.channel != "ebay":
            raise UserError(self.env._("%s is not an eBay backend.", self.name))

    # ------------------------------------------------------------- intake hooks

    @api.private
    def _ebay_endpoint_url(self):
        self.ensure_one()
        return self.sudo().ebay_notification_endpoint or self.webhook_url

    @api.private
    def _ebay_challenge_response(self, challenge_code):
        """``{"challengeResponse": ...}`` for eBay's endpoint validation GET, or None."""
        self.ensure_one()
        token = self.sudo().ebay_verification_token
        if not token or not challenge_code:
            return None
        return {"challengeResponse": ebay_notification.challenge_response(
            challenge_code, token, self._ebay_endpoint_url())}

    @api.private
    def _ebay_public_key(self, kid):
        """The notification public key ``kid`` (PEM, digest), cached about an hour per process."""
        now = time.monotonic()
        with _PUBLIC_KEYS_LOCK:
            entry = _PUBLIC_KEYS.get(kid)
        if entry and now - entry[0] < ebay_notification.PUBLIC_KEY_TTL:
            return entry[1]
        answer = self._ebay_call("get_notification_public_key", kid)
        value = (answer.get("key"), answer.get("digest") or "SHA1")
        with _PUBLIC_KEYS_LOCK:
            _PUBLIC_KEYS[kid] = (now, value)
        return value

    def _omni_verify_webhook(self, raw_body, headers):
        if self.channel != "ebay":
            return super()._omni_verify_webhook(raw_body, headers)
        self.ensure_one()
        header = headers.get("X-EBAY-SIGNATURE")
        data = ebay_notification.parse_signature_header(header)
        if data is None:
            return False, "X-EBAY-SIGNATURE missing or unreadable"
        try:
            pem, digest = self._ebay_public_key(str(data["kid"]))
        except EbayApiError as error:
            # An unknown kid (404) is a forged notification; eBay being down raises a transient
            # error instead, which the intake answers with 503 so that eBay retries.
            return False, f"public key {data['kid']!r} unavailable: {error.message}"
        return ebay_notification.verify_notification(raw_body, header, pem, digest)

    def _omni_webhook_event_values(self, raw_body, headers, payload):
        if self.channel != "ebay":
            return super()._omni_webhook_event_values(raw_body, headers, payload)
        if not isinstance(payload, dict):
            return {"idempotency_key": f"notification:unreadable:{zlib.crc32(raw_body)}", "topic": "unknown",
                    "resource_model": None, "resource_key": None, "source_ts": False}
        key, topic, user, when = ebay_notification.notification_keys(payload)
        if topic != TOPIC_DELETION:
            return None  # other notification topics are not subscribed: acknowledged, ignored
        try:
            source_ts = parse_when(when, "eventDate").replace(tzinfo=None) if when else False
        except EbayValidationError:
            source_ts = False
        return {"idempotency_key": key, "topic": topic, "resource_model": "res.partner", "resource_key": user[:256],
                "source_ts": source_ts}

    def _omni_test_connection(self):
        if self.channel != "ebay":
            return super()._omni_test_connection()
        self.ensure_one()
        user = self._ebay_call("get_user")
        username = user.get("username")
        if username and username != self.ebay_username:
            self.with_context(omni_client_state=True).sudo().write({"ebay_username": username})
        return self.env._(
            "Connected to eBay as %(user)s (%(type)s account, registered on %(marketplace)s).",
            user=username, type=user.get("accountType") or "?",
            marketplace=user.get("registrationMarketplaceId") or "?")

    # ------------------------------------------------------------------ dispatch

    def _omni_handle_event(self, event):
        if self.channel != "ebay":
            return super()._omni_handle_event(event)
        self.ensure_one()
        topic = event.topic
        if event.direction == "in":
            if topic == TOPIC_ORDER:
                return self._ebay_import_order(event)
            if topic == TOPIC_REFUND:
                return self._ebay_import_refund(event)
            if topic == TOPIC_DELETION:
                return self._ebay_account_deletion(event)
        else:
            if topic == OUT_STOCK:
                return self._ebay_push_stock(event)
            if topic == OUT_SHIPMENT:
                return self._ebay_push_shipment(event)
        raise StaleEvent(self.env._("The eBay connector does not handle the topic %s.", topic))

    @api.private
    def _ebay_payload(self, event):
        try:
            payload = event._omni_payload_json()
        except ValueError as error:
            raise PermanentError(self.env._("The body is not JSON.")) from error
        if not isinstance(payload, dict):
            raise PermanentError(self.env._("The body is not a JSON object."))
        return payload

    @api.private
    def _ebay_store(self, entries):
        """Store ``[(payload, values)]`` through the intake; returns how many were new."""
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "ebay-poll"})
        stored = 0
        for payload, values in entries:
            body = json.dumps(payload, sort_keys=True, default=str).encode()
            _event_id, is_new = Event._omni_store_incoming(self, body, values, headers_json=headers)
            stored += int(is_new)
        return stored
