import json
import logging

from odoo import Command, api, fields, models
from odoo.exceptions import MissingError, UserError
from odoo.tools import ormcache

from ..pipeline.errors import BusinessError, PermanentError, TransientError
from ..pipeline.signatures import payload_digest, verify_hmac_sha256_base64
from ..pipeline.timestamps import parse_utc
from .omni_access import check_channel_action, check_omni_manager

# Backend fields the importer's cached lookups depend on (see _omni_tax_id_for and friends).
LOOKUP_FIELDS = {"company_id", "shipping_product_id", "tax_map_ids", "shipping_map_ids", "payment_rule_ids",
                 "pricelist_id", "currency_policy"}

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
    # Warehouse, team, pricelist and the service products must belong to the backend's company.
    _check_company_auto = True

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
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
        tracking=True,
        help="Orders, payments and events of this channel belong to this company.",
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        check_company=True,
        default=lambda self: self.env["stock.warehouse"].search([("company_id", "=", self.env.company.id)], limit=1),
        help="Warehouse that ships this channel's orders and whose stock is published to it.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Sales team set on the sale orders imported from this channel.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist",
        check_company=True,
        help="Pricelist for orders in the company currency. Orders in another currency use a "
        "pricelist in that currency (see the order importer's currency policy).",
    )
    webhook_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Shared secret the channel signs its webhooks with (Shopify: the app's client "
        "secret; WooCommerce: the webhook secret). Only system administrators can read it. To change it "
        "without losing deliveries signed with the old one, use Rotate Secret (Governance tab).",
    )
    has_webhook_secret = fields.Boolean(
        compute="_compute_has_webhook_secret",
        string="Webhook Secret Set",
        help="Whether a webhook secret is configured (its value stays hidden).",
    )
    webhook_url = fields.Char(
        string="Webhook URL",
        compute="_compute_webhook_url",
        help="Give this address to the channel as the webhook endpoint.",
    )
    webhook_max_bytes = fields.Integer(
        string="Webhook Size Limit (bytes)",
        default=DEFAULT_WEBHOOK_MAX_BYTES,
        help="Bodies larger than this are refused with HTTP 413 before being read.",
    )
    max_attempts = fields.Integer(
        default=8,
        help="How many times a failing event is tried before it is dead-lettered and a person is alerted.",
    )
    retry_base_delay = fields.Integer(
        string="Retry Base Delay (s)",
        default=30,
        help="Delay before the first retry; it doubles on each further attempt (with +/-20 % "
        "jitter, capped at 6 hours). A channel's Retry-After is always honoured.",
    )
    retention_days = fields.Integer(
        default=30,
        help="Finished events (done, skipped) older than this are purged daily. Dead and "
        "blocked events and all exceptions are kept. Their payloads lose their personal data earlier: "
        "see Payload Retention (Governance tab).",
    )
    # --- order import (the shared importer reads these) ---
    import_test_orders = fields.Boolean(
        help="Import orders the channel flags as test orders. Off: they are skipped (visible as skipped events)."
    )
    discount_mode = fields.Selection(
        [("line", "Discount % on the order line"), ("product", "Separate discount lines")],
        default="line",
        required=True,
        help="How channel discounts stay visible on sale orders: as each line's discount, or as negative "
        "lines of the discount product with the same taxes.",
    )
    currency_policy = fields.Selection(
        [("create", "Use or create a pricelist per currency"), ("block", "Block orders without a pricelist")],
        default="create",
        required=True,
        help="Orders are created in their own currency through a pricelist in that currency.",
    )
    shipping_product_id = fields.Many2one(
        "product.product",
        check_company=True,
        default=lambda self: self.env.ref("omni_connector_base.product_omni_shipping", raise_if_not_found=False),
        help="Delivery product for channel shipping lines without a specific mapping.",
    )
    fee_product_id = fields.Many2one(
        "product.product",
        check_company=True,
        default=lambda self: self.env.ref("omni_connector_base.product_omni_fee", raise_if_not_found=False),
        help="Product for channel fee lines (gift wrap, handling...).",
    )
    discount_product_id = fields.Many2one(
        "product.product",
        check_company=True,
        default=lambda self: self.env.ref("omni_connector_base.product_omni_discount", raise_if_not_found=False),
        help="Product of the discount lines (when discounts are separate lines).",
    )
    rounding_product_id = fields.Many2one(
        "product.product",
        check_company=True,
        default=lambda self: self.env.ref("omni_connector_base.product_omni_rounding", raise_if_not_found=False),
        help="Product of the rounding line booking a difference within the tolerance.",
    )
    tax_map_ids = fields.One2many("omni.tax.map", "backend_id", string="Tax Mapping")
    shipping_map_ids = fields.One2many("omni.shipping.map", "backend_id", string="Shipping Mapping")
    payment_rule_ids = fields.One2many(
        "omni.payment.rule",
        "backend_id",
        string="Order Workflow",
        copy=True,
        help="What happens to imported orders by payment gateway and financial status: confirm, "
        "invoice, register the payment in the gateway's clearing journal.",
    )
    event_ids = fields.One2many("omni.event", "backend_id")
    event_pending_count = fields.Integer(compute="_compute_event_counts", string="Queued Events")
    event_failed_count = fields.Integer(compute="_compute_event_counts", string="Failed Events")
    exception_open_count = fields.Integer(compute="_compute_event_counts", string="Open Exceptions")
    webhook_rejected_count = fields.Integer(
        compute="_compute_event_counts",
        string="Rejected Webhooks (24 h)",
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
        queued = dict(
            Event._read_group(
                [("backend_id", "in", self.ids), ("state", "in", ("pending", "retry"))], ["backend_id"], ["__count"]
            )
        )
        failed = dict(
            Event._read_group(
                [("backend_id", "in", self.ids), ("state", "in", ("blocked", "dead"))], ["backend_id"], ["__count"]
            )
        )
        opened = dict(
            self.env["omni.exception"]
            .sudo()
            ._read_group(
                [("backend_id", "in", self.ids), ("state", "in", ("open", "assigned"))], ["backend_id"], ["__count"]
            )
        )
        since = fields.Datetime.subtract(fields.Datetime.now(), days=1)
        rejected = dict(
            self.env["omni.webhook.rejection"]
            .sudo()
            ._read_group([("backend_id", "in", self.ids), ("minute", ">=", since)], ["backend_id"], ["count:sum"])
        )
        for backend in self:
            backend.event_pending_count = queued.get(backend, 0)
            backend.event_failed_count = failed.get(backend, 0)
            backend.exception_open_count = opened.get(backend, 0)
            backend.webhook_rejected_count = rejected.get(backend, 0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("company_id") and "warehouse_id" not in vals:
                # The default warehouse is the current company's: take the backend's company's instead.
                vals["warehouse_id"] = self.env["stock.warehouse"].search(
                    [("company_id", "=", vals["company_id"])], limit=1).id
        backends = super().create(vals_list)
        for backend in backends.filtered(lambda b: not b.payment_rule_ids):
            backend.payment_rule_ids = [
                Command.create(
                    {
                        "sequence": 10,
                        "financial_status": "paid",
                        "confirm_order": True,
                        "create_invoice": True,
                        "register_payment": True,
                    }
                ),
                Command.create(
                    {
                        "sequence": 20,
                        "financial_status": "partially_paid",
                        "confirm_order": True,
                        "register_payment": True,
                    }
                ),
                Command.create({"sequence": 30, "financial_status": "authorized", "confirm_order": True}),
                Command.create({"sequence": 40, "gateway": "cash_on_delivery", "confirm_order": True}),
            ]
        return backends

    # ------------------------------------------------------------------ actions

    def action_test_connection(self):
        """Ask the connector to reach the channel and report what it saw."""
        check_channel_action(self.env)
        self.ensure_one()
        try:
            message = self._omni_test_connection()
        except (TransientError, BusinessError, PermanentError) as error:
            raise UserError(
                self.env._("Connection to %(name)s failed: %(error)s", name=self.name, error=error.message)
            ) from error
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("Connection OK"), "message": message, "type": "success", "sticky": False},
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
        check_omni_manager(self.env)
        self.env.ref("omni_connector_base.cron_omni_event_process")._trigger()
        return True

    # ------------------------------------------------------- importer helpers

    def _omni_service_product(self, kind):
        """The backend's product for ``fee``, ``discount`` or ``rounding`` lines."""
        self.ensure_one()
        product = self[f"{kind}_product_id"] or self.env.ref(f"omni_connector_base.product_omni_{kind}")
        return product

    def write(self, vals):
        result = super().write(vals)
        if LOOKUP_FIELDS.intersection(vals):
            self.env.registry.clear_cache()  # the importer's cached lookups (taxes, rules, shipping)
        if vals.get("active"):
            # Events of an archived channel wait (paused); they resume as soon as it is active again.
            self.env["omni.event"]._omni_trigger_processor()
        return result

    def _omni_shipping_product(self, code):
        self.ensure_one()
        return self.env["product.product"].browse(self._omni_shipping_product_id((code or "").casefold()))

    @ormcache("self.id", "code")
    def _omni_shipping_product_id(self, code):
        if code:
            for mapping in self.shipping_map_ids:
                if mapping.code.casefold() == code:
                    return mapping.product_id.id
        return (self.shipping_product_id or self.env.ref("omni_connector_base.product_omni_shipping")).id

    def _omni_tax_for(self, percent, included):
        """The sale tax for a channel rate: the backend's mapping, else the company's tax with that
        percentage and included flag (a single simple percent tax), else None.

        Looked up once per process and rate (every order needs it); a miss, or a tax archived,
        changed or deleted since, is looked up again."""
        self.ensure_one()
        cached_id = self._omni_tax_id_for(str(percent), bool(included))
        tax = self.env["account.tax"].browse(cached_id)
        try:
            still_valid = bool(tax) and tax.active and abs(tax.amount - float(percent)) < 0.00005
        except MissingError:  # deleted since it was cached
            still_valid = False
        if not still_valid:
            # A miss is never trusted from the cache (the tax may have been created since); the
            # cache is dropped only when the answer changed, not on every order of a blocked burst.
            found_id = self._omni_find_tax_id(float(percent), bool(included))
            if found_id != cached_id:
                self.env.registry.clear_cache()
            tax = self.env["account.tax"].browse(found_id)
        return tax or None

    @ormcache("self.id", "percent", "included")
    def _omni_tax_id_for(self, percent, included):
        return self._omni_find_tax_id(float(percent), included)

    def _omni_find_tax_id(self, percent, included):
        for mapping in self.tax_map_ids:
            if abs(mapping.rate - percent) < 0.00005 and mapping.price_include == included:
                return mapping.tax_id.id
        candidates = (
            self.env["account.tax"]
            .with_company(self.company_id)
            .search(
                [
                    ("type_tax_use", "=", "sale"),
                    ("amount_type", "=", "percent"),
                    ("company_id", "=", self.company_id.id),
                    ("active", "=", True),
                ]
            )
        )
        for tax in candidates.sorted("sequence"):
            if abs(tax.amount - percent) < 0.00005 and tax.price_include == included:
                return tax.id
        return False

    def _omni_payment_rule(self, gateway, financial_status):
        self.ensure_one()
        return self.env["omni.payment.rule"].browse(self._omni_payment_rule_id(gateway or "", financial_status))

    @ormcache("self.id", "gateway", "financial_status")
    def _omni_payment_rule_id(self, gateway, financial_status):
        for rule in self.payment_rule_ids.sorted(lambda r: (r.sequence, r.id)):
            if rule._omni_matches(gateway, financial_status):
                return rule.id
        return False

    def _omni_clearing_journal(self, gateway):
        """The clearing journal of a gateway for this backend, created on first use.

        Order-time payments wait on its outstanding-receipts account until the payout arrives;
        the reconciliation then moves them to the bank, net of fees.
        """
        self.ensure_one()
        gateway = gateway or "channel"
        code = ("C" + "".join(ch for ch in gateway.upper() if ch.isalnum()))[:5]
        Journal = self.env["account.journal"].sudo().with_company(self.company_id)
        name = f"{gateway} clearing"
        journal = Journal.search([("company_id", "=", self.company_id.id), ("name", "=", name)], limit=1)
        if journal:
            return journal
        existing_codes = set(Journal.search([("company_id", "=", self.company_id.id)]).mapped("code"))
        candidate, index = code, 1
        while candidate in existing_codes:
            candidate = f"{code[:4]}{index}"
            index += 1
        return Journal.create({"name": name, "code": candidate, "type": "bank", "company_id": self.company_id.id})

    # ------------------------------------------------------- connector hooks

    # Every hook's default handles the built-in channels (test, custom) or refuses clearly; a
    # connector overrides each for its channel and calls super() for the others. The kit
    # (omni_backend_kit.py, omni_event_outbox.py) holds what every connector shares.

    def _omni_test_connection(self):
        """Reach the channel with the backend's credentials.

        :return: a short human message on success
        :raises OmniError: (TransientError, BusinessError...) otherwise
        """
        self.ensure_one()
        if self.channel == "test":
            return self.env._("The test channel is always reachable.")
        if self.channel == "custom":
            return self.env._("Custom channels push orders to Odoo; there is nothing to reach.")
        raise BusinessError(self.env._("No connector handles the channel %s.", self.channel))

    def _omni_webhook_secret(self):
        """The secret webhooks of this backend are signed with (read as superuser, never logged)."""
        self.ensure_one()
        return self.sudo().webhook_secret

    def _omni_verify_webhook(self, raw_body, headers):
        """Check a webhook's signature over the raw body.

        A connector whose channel signs with the backend's webhook secret checks it through
        ``self._omni_verify_with_secrets(check)`` (``check(secret) -> (ok, reason)``), which tries
        the current secret, then the previous one while a rotation's grace lasts (and counts it).

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
            # Current secret, then the previous one during a rotation's grace (omni_governance_rotation).
            return self._omni_verify_with_secrets(
                lambda secret: (True, "") if verify_hmac_sha256_base64(secret, raw_body, signature)
                else (False, "bad signature"))
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
        if self.channel == "custom" and event.direction == "in":
            return self.env["omni.order.importer"]._omni_handle_canonical_event(self, event)
        raise PermanentError(
            self.env._("No handler for channel %(channel)s, topic %(topic)s", channel=self.channel, topic=event.topic)
        )

    def _omni_can_fetch_settlements(self):
        """Whether this channel pays out and its payouts can be fetched (``_omni_fetch_settlements``).

        A connector whose channel pays out (Shopify Payments, Amazon, eBay) returns True for its
        channel; reconciliation (``omni_reconciliation``) only asks channels that say so.
        """
        self.ensure_one()
        return False

    def _omni_fetch_settlements(self, since=None):
        """The channel's finished payouts since ``since`` (naive UTC datetime, or None: all).

        :return: an iterable of ``(external_id, loader)``, oldest first; ``loader()`` reads
            the payout's transactions and returns it as a canonical
            :class:`~odoo.addons.omni_connector_base.canonical.settlement.SettlementData`.
            Lazy on purpose: a payout the caller already imported costs no further request.
            Only payouts that will not change any more (paid) are listed; the connector looks
            back as far as its channel needs (a payout issued before ``since`` and paid after).
        Raises the client's errors (channel API errors); the caller files them as exceptions.
        """
        self.ensure_one()
        raise UserError(self.env._("The channel %s does not pay out through Odoo Omnichannel.", self.channel))

    def _omni_push_outbox_batch(self, events):
        """Push a batch of claimed outgoing events of one topic in as few channel calls as it takes.

        Called by a connector's handler for the event the processor claimed, with more events
        of the same topic it claimed through ``omni.event._omni_claim_batch``. The handler's
        event gets its outcome from the processor; the others are finished with
        ``_omni_finish_many`` in the same transaction, so a failure rolls the batch back.

        :return: the number of changes sent
        :raises TransientError: (the whole batch retries; mark it with
            ``_omni_pause_on_error`` to pause the backend's pushes of this topic)
        """
        self.ensure_one()
        raise PermanentError(self.env._("The channel %s does not push batches.", self.channel))

    def _omni_poll(self, resource_type, since):
        """Read the channel's ``resource_type`` objects changed since ``since`` into the inbox.

        The polling backstop: each version goes through ``omni.event._omni_store_incoming``
        with a key that recognises a version a webhook already delivered. ``since`` comes
        from ``_omni_checkpoint_since`` (checkpoint minus overlap); ``_omni_run_poll`` calls
        this hook and advances the checkpoint when it returns.

        :return: ``(stored, read)``: new events stored, objects read
        :raises: the client's errors (the caller files them; the checkpoint stays)
        """
        self.ensure_one()
        raise UserError(self.env._("The channel %s has no polling backstop.", self.channel))

    def _omni_poll_page(self, resource_type, since, cursor):
        """One page of the poll of ``resource_type`` changed since ``since`` (a resumable poll:
        ``_omni_run_poll_page`` saves ``cursor`` between pages and resumes from it).

        ``cursor`` is None for the first page, else what the previous page returned (the
        connector's page number or token, JSON-serialisable). The default reads everything in
        one page through ``_omni_poll``.

        :return: ``(stored, read, next_cursor, pages_left)``; ``next_cursor`` None after the last page
        """
        stored, read = self._omni_poll(resource_type, since)
        return stored, read, None, 0

    def _omni_register_webhooks(self):
        """Subscribe every topic the connector handles to ``webhook_url`` (idempotent).

        :return: ``{"created": n, "updated": n, "unchanged": n}``
        :raises: the client's errors
        """
        self.ensure_one()
        if self.channel in ("test", "custom"):
            return {"created": 0, "updated": 0, "unchanged": 0}  # they post to webhook_url as they are
        raise UserError(self.env._("The channel %s cannot register webhooks from Odoo.", self.channel))

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
        Binding._omni_bind(
            self,
            partner,
            event.resource_key,
            external_updated_at=event.source_ts,
            digest=payload_digest(event.sudo().payload or ""),
        )
        return partner


def dumps_headers(headers, keep):
    """JSON of the listed headers only: signatures and auth headers are never stored."""
    return json.dumps({name: headers.get(name) for name in keep if headers.get(name) is not None})
