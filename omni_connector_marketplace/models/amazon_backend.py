"""The Amazon seller account (SP-API): configuration, the API client, the hook dispatch.

Amazon has no HTTP webhooks for orders (ORDER_CHANGE notifications go only to Amazon SQS or
EventBridge): polling ``searchOrders`` is the primary path (``amazon_sync.py``). Handlers live in
``amazon_inbound.py`` (orders in), ``amazon_outbound.py`` (shipments, stock feeds, FBA inventory),
``amazon_payouts.py`` (settlement reports) and ``amazon_pii.py`` (the buyer data purge).
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.omni_connector_base.models.omni_access import check_channel_action
from odoo.addons.omni_connector_base.pipeline import call_metrics
from odoo.addons.omni_connector_base.pipeline.errors import OmniError, PermanentError, StaleEvent

from ..lib.amazon_client import REGION_ENDPOINTS, AmazonClient

_logger = logging.getLogger(__name__)

# Topics of the Amazon events.
IN_ORDER = "orders/polled"
IN_REFUND = "refunds/settlement"  # a Refund transaction of a settlement report (one per adjustment)
OUT_SHIPMENT = "shipment/confirm"
OUT_STOCK = "stock/feed"
# Extra client arguments per backend id (tests and benchmarks: a limiter on a fast clock).
CLIENT_OPTIONS = {}
# Changing any of these builds a new API client (and a new access token) in every worker.
AMAZON_CONNECTION_FIELDS = frozenset({
    "amazon_lwa_client_id", "amazon_lwa_client_secret", "amazon_refresh_token", "amazon_region",
    "amazon_endpoint", "amazon_token_url", "amazon_timeout",
})


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    channel = fields.Selection(selection_add=[("amazon", "Amazon")], ondelete={"amazon": "cascade"})
    amazon_lwa_client_id = fields.Char(
        string="LWA Client ID", groups="base.group_system", copy=False,
        help="Login with Amazon client identifier of your SP-API application (amzn1.application-oa2-client...). "
        "Only system administrators can read it.",
    )
    amazon_lwa_client_secret = fields.Char(
        string="LWA Client Secret", groups="base.group_system", copy=False,
        help="Login with Amazon client secret of the application. Only system administrators can read it; "
        "it is never logged. Amazon rotates it every 180 days: paste the new one here.",
    )
    amazon_refresh_token = fields.Char(
        string="Refresh Token", groups="base.group_system", copy=False,
        help="The seller's refresh token for the application (Atzr|...), from the authorisation in Seller "
        "Central. Only system administrators can read it.",
    )
    has_amazon_credentials = fields.Boolean(
        compute="_compute_has_amazon_credentials", string="Credentials Set",
        help="Whether the LWA client id, secret and refresh token are all set (their values stay hidden).",
    )
    amazon_region = fields.Selection(
        [("na", "North America"), ("eu", "Europe"), ("fe", "Far East")], string="Region", default="na",
        help="The SP-API region endpoint of the seller account: North America (US, CA, MX, BR), Europe (EU, "
        "UK, Middle East, India, Turkey) or Far East (JP, AU, SG).",
    )
    amazon_endpoint = fields.Char(
        string="SP-API Endpoint Override", groups="base.group_system", copy=False,
        help="Only for the local SP-API simulator (tests, benchmarks): requests go to this address instead of "
        "the region's endpoint. Leave empty in production.",
    )
    amazon_token_url = fields.Char(
        string="LWA Token URL Override", groups="base.group_system", copy=False,
        help="Only for the simulator: the Login with Amazon token endpoint (default "
        "https://api.amazon.com/auth/o2/token).",
    )
    amazon_timeout = fields.Integer(string="Request Timeout (s)", default=30,
                                    help="Seconds an SP-API request may take before it is retried later.")
    amazon_seller_id = fields.Char(
        string="Seller ID", help="Your merchant token (Seller Central > Settings > Merchant Token), named in the "
        "header of the listings feeds.",
    )
    amazon_poll_enabled = fields.Boolean(
        string="Poll Orders", default=True,
        help="Read the orders updated since the last poll every 10 minutes (searchOrders is rated 0.0056 "
        "requests/s with a burst of 20). Amazon sends no order webhooks to HTTP endpoints: this is how orders "
        "arrive.",
    )
    amazon_pending_policy = fields.Selection(
        [("skip", "Wait until payment is final"), ("quotation", "Import as quotation")], default="skip",
        string="Pending Orders", required=True,
        help="Orders Amazon still holds as PENDING (payment not final). 'Wait': not imported until they are "
        "UNSHIPPED (the next poll reads them then). 'Quotation': imported as a quotation at once, confirmed "
        "when payment is final.",
    )
    amazon_import_fba = fields.Boolean(
        string="Import FBA Orders", default=True,
        help="Import orders fulfilled by Amazon (once SHIPPED), delivered from the FBA warehouse at import.",
    )
    amazon_fba_warehouse_id = fields.Many2one(
        "stock.warehouse", string="FBA Warehouse", check_company=True,
        help="The 'Amazon FBA' warehouse: FBA orders are delivered from it and its quantities are Amazon's "
        "(inventory sync). Created by 'Set up FBA warehouse' when empty.",
    )
    amazon_export_stock = fields.Boolean(
        string="Export FBM Stock", default=True,
        help="Send the free quantity of each merchant-fulfilled listing through a JSON_LISTINGS_FEED when it "
        "changed (every 15 minutes).",
    )
    amazon_sync_fba_inventory = fields.Boolean(
        string="Sync FBA Inventory", default=True,
        help="Set the FBA warehouse's quantities to Amazon's fulfillable quantities (getInventorySummaries), "
        "hourly. Amazon's figure is authoritative there.",
    )
    amazon_pii_days = fields.Integer(
        string="Keep Buyer Data (days)", default=30,
        help="Amazon's Data Protection Policy limits how long buyer personal data may be kept after delivery: "
        "this many days after an Amazon order was delivered, the buyer's contact data that no invoice needs "
        "is anonymised (daily). 0 disables the purge.",
    )
    amazon_listing_ids = fields.One2many("omni.amazon.listing", "backend_id", string="Amazon Listings")
    amazon_poll_checkpoint = fields.Datetime(
        compute="_compute_amazon_poll_checkpoint", string="Orders Read Up To",
        help="Orders updated up to this moment (UTC) have been read; the next poll starts there minus the "
        "overlap. Amazon only answers up to two minutes ago.",
    )

    _check_amazon_pii_days = models.Constraint("CHECK (amazon_pii_days >= 0)",
                                               "The buyer data retention cannot be negative.")

    @api.depends("channel")
    def _compute_has_amazon_credentials(self):
        for backend in self:
            sudo = backend.sudo()
            backend.has_amazon_credentials = bool(
                sudo.amazon_lwa_client_id and sudo.amazon_lwa_client_secret and sudo.amazon_refresh_token)

    def _compute_amazon_poll_checkpoint(self):
        for backend in self:
            backend.amazon_poll_checkpoint = (
                backend._omni_checkpoint("amazon_orders").checkpoint if backend.id else False)

    # ------------------------------------------------------------------ client

    def _omni_connection_fields(self):
        # Only a amazon backend's (or, on no record, every connector's): the Connect a channel wizard
        # asks for exactly these, and must not list another channel's credentials.
        if self and not any(backend.channel == "amazon" for backend in self):
            return super()._omni_connection_fields()
        return super()._omni_connection_fields() | AMAZON_CONNECTION_FIELDS

    def write(self, vals):
        result = super().write(vals)
        if AMAZON_CONNECTION_FIELDS.intersection(vals):
            # This process forgets the client and its access token now; other workers see the
            # connection version move and rebuild theirs (closing the old one forgets its token).
            self.filtered(lambda b: b.channel == "amazon")._omni_reset_client()
        return result

    @api.private
    def _amazon_check_channel(self):
        self.ensure_one()
        if self.channel != "amazon":
            raise UserError(self.env._("%s is not an Amazon seller account.", self.name))

    @api.private
    def _amazon_marketplace_ids(self):
        self.ensure_one()
        return [m.marketplace_ref for m in self.marketplace_ids if m.active]

    @api.private
    def _amazon_client_options(self):
        """Extra keyword arguments of the client (tests and benchmarks pass a clock-driven limiter)."""
        return dict(CLIENT_OPTIONS.get(self.id) or {})

    @api.private
    def _amazon_client(self):
        """This process's SP-API client of the account (rebuilt when a connection field changed)."""
        self._amazon_check_channel()
        backend = self.sudo()
        marketplaces = backend._amazon_marketplace_ids()

        def factory():
            return AmazonClient(
                backend.amazon_lwa_client_id, backend.amazon_lwa_client_secret, backend.amazon_refresh_token,
                region=backend.amazon_region or "na", endpoint=backend.amazon_endpoint or None,
                token_url=backend.amazon_token_url or None, marketplace_id=marketplaces[0] if marketplaces else None,
                timeout=backend.amazon_timeout or 30, **backend._amazon_client_options())

        return backend._omni_client(factory)

    @api.private
    def _amazon_region_endpoint(self):
        self.ensure_one()
        return self.sudo().amazon_endpoint or REGION_ENDPOINTS.get(self.amazon_region or "na")

    # ------------------------------------------------------------------ hooks

    def _omni_test_connection(self):
        if self.channel != "amazon":
            return super()._omni_test_connection()
        self.ensure_one()
        marketplaces = self._amazon_marketplace_ids()
        if not marketplaces:
            raise UserError(self.env._("Add the account's marketplaces (Marketplaces tab) first."))
        seen = self._amazon_client().test_connection(marketplaces)
        self._amazon_flush_calls()
        return self.env._(
            "Connected to the Amazon SP-API (%(endpoint)s) for %(count)s marketplace(s); %(seen)s order(s) "
            "updated in the last minutes.",
            endpoint=self._amazon_region_endpoint(), count=len(marketplaces), seen=seen)

    def _omni_verify_webhook(self, raw_body, headers):
        if self.channel != "amazon":
            return super()._omni_verify_webhook(raw_body, headers)
        return False, "Amazon sends order notifications only to SQS or EventBridge; orders are polled"

    def _omni_register_webhooks(self):
        if self.channel != "amazon":
            return super()._omni_register_webhooks()
        return {"created": 0, "updated": 0, "unchanged": 0}  # nothing to register: orders are polled

    def _omni_handle_event(self, event):
        if self.channel != "amazon":
            return super()._omni_handle_event(event)
        self.ensure_one()
        if event.direction == "in" and event.topic == IN_ORDER:
            return self._amazon_import_order_event(event)
        if event.direction == "in" and event.topic == IN_REFUND:
            return self._amazon_import_refund_event(event)
        if event.direction == "out" and event.topic == OUT_SHIPMENT:
            return self._amazon_push_shipment(event)
        if event.direction == "out" and event.topic == OUT_STOCK:
            return self._amazon_push_stock(event)
        if event.direction == "in":
            raise StaleEvent(self.env._("Amazon topic %s is not handled.", event.topic))
        raise PermanentError(self.env._("No Amazon handler for outgoing topic %s.", event.topic))

    # ------------------------------------------------------------------ buttons

    @api.private
    def _amazon_flush_calls(self):
        """Add the SP-API calls this thread recorded (``pipeline.call_metrics``) to the account's per-minute
        metrics rows, in the current transaction. The event processor does it for the calls of an event's
        handler; the poll, the crons and the buttons call this for theirs."""
        self.ensure_one()
        self.env["omni.metric.minute"].sudo()._omni_flush_calls(self)

    @api.private
    def _amazon_button_call(self, function, *args, **kwargs):
        try:
            result = function(*args, **kwargs)
        except OmniError as error:
            # The request's transaction rolls back with the UserError: its calls cannot be stored and must
            # not be counted later for whatever this thread does next.
            call_metrics.discard()
            raise UserError(self.env._("Amazon (%(name)s): %(error)s", name=self.name, error=error.message)) from error
        self._amazon_flush_calls()
        return result

    def _amazon_notify(self, title, message, kind="success"):
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": title, "message": message, "type": kind, "sticky": False}}

    def action_amazon_setup_fba_warehouse(self):
        """Create the 'Amazon FBA' warehouse of the account (once)."""
        check_channel_action(self.env)
        for backend in self:
            backend._amazon_check_channel()
            backend._amazon_fba_warehouse()
        return True

    @api.private
    def _amazon_fba_warehouse(self):
        """The account's FBA warehouse, created on first use.

        Two workers importing the account's first FBA orders at once would each create one (and the
        second would fail on the stock location's unique name): the backend's row is locked first, so
        the second waits, then meets the first one's commit as a serialization conflict, a transient
        error whose retry finds the warehouse.
        """
        self.ensure_one()
        if self.amazon_fba_warehouse_id:
            return self.amazon_fba_warehouse_id
        # log_exceptions=False: a conflict here is expected and retried, not a server error to log.
        self.env.cr.execute(SQL("SELECT amazon_fba_warehouse_id FROM omni_backend WHERE id = %s FOR NO KEY UPDATE",
                                self.id), log_exceptions=False)
        self.invalidate_recordset(["amazon_fba_warehouse_id"])
        if not self.amazon_fba_warehouse_id:
            self.sudo().amazon_fba_warehouse_id = self._amazon_make_fba_warehouse()
        return self.amazon_fba_warehouse_id

    @api.private
    def _amazon_make_fba_warehouse(self):
        self.ensure_one()
        Warehouse = self.env["stock.warehouse"].sudo().with_company(self.company_id)
        code = "FBA"
        existing = set(Warehouse.with_context(active_test=False).search(
            [("company_id", "=", self.company_id.id)]).mapped("code"))
        index = 1
        while code in existing:
            code = f"FBA{index}"
            index += 1
        return Warehouse.create({"name": f"Amazon FBA ({self.name})"[:60], "code": code,
                                 "company_id": self.company_id.id})
