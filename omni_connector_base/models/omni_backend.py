import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..pipeline.errors import BusinessError, PermanentError, TransientError
from ..pipeline.signatures import payload_digest, verify_hmac_sha256_base64
from ..pipeline.timestamps import parse_utc

_logger = logging.getLogger(__name__)

DEFAULT_WEBHOOK_MAX_BYTES = 5 * 1024 * 1024

# Headers of the built-in "test" channel, shaped like Shopify's so the same tools sign both.
TEST_SIGNATURE_HEADER = "X-Omni-Hmac-Sha256"
TEST_EVENT_ID_HEADER = "X-Omni-Event-Id"
TEST_TOPIC_HEADER = "X-Omni-Topic"


class OmniBackend(models.Model):
    """One connected channel account (a shop, a marketplace seller account, a storefront).

    Connectors extend ``channel`` and implement the ``_omni_*`` hooks for their channel;
    every hook's default handles the built-in ``test`` channel or refuses clearly.
    """

    _name = "omni.backend"
    _description = "Omnichannel Backend"
    _inherit = ["mail.thread"]
    _order = "sequence, name"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    channel = fields.Selection(
        selection=[("test", "Test (diagnostic)"), ("custom", "Custom storefront / API")],
        required=True,
        default="custom",
        tracking=True,
        help="Which kind of channel this account is. Connector addons add their channels "
        "(Shopify, WooCommerce, Amazon...). 'Test' is a diagnostic channel: a signed webhook "
        "creates or updates a contact, so the whole pipeline can be checked without a shop.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True, tracking=True,
        help="Orders, payments and events of this channel belong to this company.",
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse", check_company=True,
        help="Warehouse that ships this channel's orders and whose stock is published to it.",
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", check_company=True,
        help="Sales team set on the sale orders imported from this channel.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist", check_company=True,
        help="Pricelist for orders in the company currency. Orders in another currency use a "
        "pricelist in that currency (see the order importer's currency policy).",
    )
    webhook_secret = fields.Char(
        groups="base.group_system", copy=False,
        help="Shared secret the channel signs its webhooks with (Shopify: the app's client "
        "secret; WooCommerce: the webhook secret). Only system administrators can read it.",
    )
    has_webhook_secret = fields.Boolean(
        compute="_compute_has_webhook_secret", string="Webhook Secret Set",
        help="Whether a webhook secret is configured (its value stays hidden).",
    )
    webhook_url = fields.Char(
        compute="_compute_webhook_url",
        help="Give this address to the channel as the webhook endpoint.",
    )
    webhook_max_bytes = fields.Integer(
        string="Webhook Size Limit (bytes)", default=DEFAULT_WEBHOOK_MAX_BYTES,
        help="Bodies larger than this are refused with HTTP 413 before being read.",
    )
    max_attempts = fields.Integer(
        default=8,
        help="How many times a failing event is tried before it is dead-lettered and a person "
        "is alerted.",
    )
    retry_base_delay = fields.Integer(
        string="Retry Base Delay (s)", default=30,
        help="Delay before the first retry; it doubles on each further attempt (with +/-20 % "
        "jitter, capped at 6 hours). A channel's Retry-After is always honoured.",
    )
    retention_days = fields.Integer(
        default=30,
        help="Finished events (done, skipped) older than this are purged daily. Dead and "
        "blocked events and all exceptions are kept.",
    )
    event_ids = fields.One2many("omni.event", "backend_id")
    event_pending_count = fields.Integer(compute="_compute_event_counts", string="Queued Events")
    event_failed_count = fields.Integer(compute="_compute_event_counts", string="Failed Events")
    exception_open_count = fields.Integer(compute="_compute_event_counts", string="Open Exceptions")
    webhook_rejected_count = fields.Integer(
        compute="_compute_event_counts", string="Rejected Webhooks (24 h)",
        help="Webhook calls refused in the last 24 hours (bad or missing signature, too large).",
    )

    _check_positive_limits = models.Constraint(
        "CHECK (max_attempts > 0 AND retry_base_delay >= 0 AND retention_days >= 0 AND webhook_max_bytes > 0)",
        "Attempts and size limit must be positive; delays and retention cannot be negative.",
    )

    @api.depends("channel")
    def _compute_has_webhook_secret(self):
        for backend, secret in zip(self, self.sudo().mapped("webhook_secret"), strict=True):
            backend.has_webhook_secret = bool(secret)

    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.webhook_url = f"{base_url}/omni/webhook/{backend.id}" if backend.id else False

    def _compute_event_counts(self):
        Event = self.env["omni.event"].sudo()
        queued = dict(Event._read_group(
            [("backend_id", "in", self.ids), ("state", "in", ("pending", "retry"))], ["backend_id"], ["__count"]))
        failed = dict(Event._read_group(
            [("backend_id", "in", self.ids), ("state", "in", ("blocked", "dead"))], ["backend_id"], ["__count"]))
        opened = dict(self.env["omni.exception"].sudo()._read_group(
            [("backend_id", "in", self.ids), ("state", "in", ("open", "assigned"))], ["backend_id"], ["__count"]))
        since = fields.Datetime.subtract(fields.Datetime.now(), days=1)
        rejected = dict(self.env["omni.webhook.rejection"].sudo()._read_group(
            [("backend_id", "in", self.ids), ("create_date", ">=", since)], ["backend_id"], ["__count"]))
        for backend in self:
            backend.event_pending_count = queued.get(backend, 0)
            backend.event_failed_count = failed.get(backend, 0)
            backend.exception_open_count = opened.get(backend, 0)
            backend.webhook_rejected_count = rejected.get(backend, 0)

    # ------------------------------------------------------------------ actions

    def action_test_connection(self):
        """Ask the connector to reach the channel and report what it saw."""
        self.ensure_one()
        try:
            message = self._omni_test_connection()
        except (TransientError, BusinessError, PermanentError) as error:
            raise UserError(_("Connection to %(name)s failed: %(error)s", name=self.name, error=error.message)) \
                from error
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": _("Connection OK"), "message": message, "type": "success", "sticky": False},
        }

    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_connector_base.action_omni_event")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"search_default_filter_attention": 1}
        return action

    def action_view_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_connector_base.action_omni_exception")
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    def action_process_now(self):
        """Run the event processor now instead of waiting for the cron."""
        self.env.ref("omni_connector_base.cron_omni_event_process")._trigger()
        return True

    # ------------------------------------------------------- connector hooks

    def _omni_test_connection(self):
        """Return a short human message on success; raise an OmniError otherwise."""
        self.ensure_one()
        if self.channel == "test":
            return _("The test channel is always reachable.")
        if self.channel == "custom":
            return _("Custom channels push orders to Odoo; there is nothing to reach.")
        raise BusinessError(_("No connector handles the channel %s.", self.channel))

    def _omni_webhook_secret(self):
        """The secret webhooks of this backend are signed with (read as superuser, never logged)."""
        self.ensure_one()
        return self.sudo().webhook_secret

    def _omni_verify_webhook(self, raw_body, headers):
        """Check a webhook's signature over the raw body.

        :param bytes raw_body: the body exactly as received
        :param headers: case-insensitive mapping of the request headers
        :return: ``(True, '')`` or ``(False, reason)``; the reason is logged and shown to
            administrators, never sent back to the caller.
        """
        self.ensure_one()
        if self.channel in ("test", "custom"):
            signature = headers.get(TEST_SIGNATURE_HEADER)
            if not signature:
                return False, "missing signature"
            if not verify_hmac_sha256_base64(self._omni_webhook_secret(), raw_body, signature):
                return False, "bad signature"
            return True, ""
        return False, "channel %s has no webhook support" % self.channel

    def _omni_webhook_event_values(self, raw_body, headers, payload):
        """Derive the event's keys from a verified webhook.

        ``payload`` is the parsed JSON body, or None when the body is not JSON (the event
        is still stored, and fails visibly when processed).

        :return: dict with ``idempotency_key``, ``topic``, ``resource_model``,
            ``resource_key`` and ``source_ts`` (naive UTC datetime or False)
        """
        self.ensure_one()
        data = payload if isinstance(payload, dict) else {}
        resource = data.get("resource")
        return {
            "idempotency_key": headers.get(TEST_EVENT_ID_HEADER) or payload_digest(raw_body),
            "topic": headers.get(TEST_TOPIC_HEADER) or "test.event",
            "resource_model": "res.partner" if resource is not None else False,
            "resource_key": str(resource) if resource is not None else False,
            "source_ts": parse_utc(data.get("updated_at")) or False,
        }

    def _omni_handle_event(self, event):
        """Apply one event; return the resulting record (or None).

        Raise :class:`TransientError`, :class:`BusinessError`, :class:`PermanentError` or
        :class:`StaleEvent` to report an outcome other than success.
        """
        self.ensure_one()
        if self.channel == "test" and event.direction == "in":
            return self._omni_handle_test_event(event)
        raise PermanentError(_("No handler for channel %(channel)s, topic %(topic)s",
                               channel=self.channel, topic=event.topic))

    def _omni_handle_test_event(self, event):
        """The diagnostic channel: ``{"resource": "42", "name": "Ping"}`` upserts a contact.

        ``"fail"`` lets an administrator rehearse failures: ``"transient"`` (with an optional
        ``"retry_after"``), ``"business"`` or ``"permanent"``.
        """
        payload = event._omni_payload_json()
        failure = payload.get("fail")
        if failure == "transient":
            raise TransientError("test channel: simulated transient failure", retry_after=payload.get("retry_after"))
        if failure == "business":
            raise BusinessError("test channel: simulated business failure", category="validation")
        if failure == "permanent":
            raise PermanentError("test channel: simulated permanent failure")
        if not event.resource_key:
            return None
        Binding = self.env["omni.binding"]
        partner = Binding._omni_lookup(self, "res.partner", [event.resource_key]).get(event.resource_key)
        values = {"name": payload.get("name") or event.resource_key}
        if partner:
            partner.write(values)
        else:
            partner = self.env["res.partner"].create(dict(values, company_id=self.company_id.id))
        Binding._omni_bind(self, partner, event.resource_key, external_updated_at=event.source_ts,
                           digest=payload_digest(event.payload or ""))
        return partner


def dumps_headers(headers, keep):
    """JSON of the listed headers only: signatures and auth headers are never stored."""
    return json.dumps({name: headers.get(name) for name in keep if headers.get(name) is not None})
