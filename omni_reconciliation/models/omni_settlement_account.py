"""Payout accounts: one per processor/marketplace account whose payouts are reconciled.

Holds where the money goes (clearing, fee, commission... accounts, the settlement and
bank journals), how matching behaves (date windows, tolerance), how entries are posted
(one summary entry or detailed lines) and, for Stripe, the API key. Importers for each
source live here too: ``_omni_fetch_settlements_<source>`` is the extension point a
connector implements to fetch payouts on the import cron (eBay, PayPal...).
"""

import logging
from datetime import timedelta
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.omni_connector_base.canonical.money import quantize
from odoo.addons.omni_connector_base.canonical.settlement import LINE_KINDS

from ..lib.amazon_settlement import parse_settlement_v2

_logger = logging.getLogger(__name__)

SOURCES = [
    ("stripe", "Stripe"),
    ("shopify_payments", "Shopify Payments"),
    ("amazon", "Amazon"),
    ("file", "File upload"),
]
# Sources whose payouts arrive as files (settlement reports) unless a channel fetches them.
UPLOADED_SOURCES = ("amazon", "file")
DEFAULT_GATEWAYS = {"stripe": "stripe", "shopify_payments": "shopify_payments", "amazon": "amazon"}
KIND_SELECTION = [(kind, kind.replace("_", " ").capitalize()) for kind in LINE_KINDS]

# Accounts created by "Create default accounts": code, name, type, reconcilable.
DEFAULT_ACCOUNTS = {
    "transit_account_id": ("OMNI.TRANSIT", "Payouts in transit", "asset_current", True),
    "fee_account_id": ("OMNI.FEE", "Payment processing fees", "expense", False),
    "commission_account_id": ("OMNI.COMMISSION", "Marketplace commissions", "expense", False),
    "chargeback_account_id": ("OMNI.CHARGEBACK", "Chargebacks and disputes", "expense", False),
    "dispute_fee_account_id": ("OMNI.DISPUTEFEE", "Dispute fees", "expense", False),
    "reserve_account_id": ("OMNI.RESERVE", "Funds reserved by payment processors", "asset_current", True),
    "adjustment_account_id": ("OMNI.ADJUST", "Payout adjustments", "expense", False),
    "withheld_tax_account_id": ("OMNI.WHTAX", "Taxes withheld by marketplaces", "liability_current", False),
    "shipping_account_id": ("OMNI.SHIPPING", "Marketplace shipping charges", "expense", False),
    "promotion_account_id": ("OMNI.PROMO", "Marketplace promotions", "expense", False),
}


class OmniSettlementAccount(models.Model):
    _name = "omni.settlement.account"
    _description = "Payout Account"
    _inherit = ["mail.thread"]
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True, help="E.g. 'Stripe US' or 'Amazon.com seller account'.")
    sequence = fields.Integer(default=10, help="Order of the accounts in lists.")
    active = fields.Boolean(default=True, tracking=True, help="Archived accounts are neither imported nor matched.")
    source = fields.Selection(
        SOURCES, required=True, default="stripe", tracking=True,
        help="Where the payouts come from. Stripe is fetched through its API; Shopify Payments payouts are "
        "fetched from the shop of the Shopify channel set in Channel (with the Shopify connector installed); "
        "Amazon settlement reports and other files are uploaded. Connector addons add further sources "
        "(eBay, PayPal).",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True, tracking=True,
        help="Company whose books receive the payouts of this account.",
    )
    backend_id = fields.Many2one(
        "omni.backend", string="Channel", check_company=True, index=True, tracking=True,
        help="Channel whose orders are paid out through this account (optional). When set, order references "
        "are only looked up among this channel's orders, and exceptions are filed under it. Shopify Payments: "
        "the Shopify channel of the shop; its payouts are fetched through that channel's connection (its app "
        "needs the read_shopify_payments_payouts scope). Without a Shopify channel nothing is fetched.",
    )
    account_ref = fields.Char(
        string="External Account",
        help="The account at the source: Stripe account id, Shopify shop, Amazon marketplace/seller id.",
    )
    currency_id = fields.Many2one(
        "res.currency", string="Payout Currency",
        help="Currency of the payouts, when it is always the same (informative; each settlement keeps its own).",
    )
    gateway = fields.Char(
        help="Payment gateway code of the order-time payments (stripe, shopify_payments...). Payments of "
        "this gateway are proposed for lines that match by amount and date only.",
    )
    clearing_journal_id = fields.Many2one(
        "account.journal", check_company=True,
        help="Journal holding the order-time payments of the gateway (created by the order importer as "
        "'<gateway> clearing'). Restricts the payments proposed by amount and date.",
    )
    clearing_account_id = fields.Many2one(
        "account.account", required=True, check_company=True, tracking=True,
        help="Clearing (outstanding receipts) account credited with sales that are not matched to an "
        "order-time payment. Matched sales are always credited to the account their payment sits on, "
        "and reconciled with it.",
    )
    refund_clearing_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Account debited with refunds not matched to a refund payment (default: the clearing account).",
    )
    journal_id = fields.Many2one(
        "account.journal", string="Settlement Journal", required=True, check_company=True,
        domain="[('type', 'in', ('general', 'bank'))]", tracking=True,
        help="Journal of the settlement entries (one entry per payout).",
    )
    bank_journal_id = fields.Many2one(
        "account.journal", check_company=True, domain="[('type', '=', 'bank')]", tracking=True,
        help="Bank journal whose statement lines receive the deposits.",
    )
    transit_account_id = fields.Many2one(
        "account.account", string="Payouts in Transit Account", required=True, check_company=True,
        tracking=True,
        help="The net of each payout is debited here; the bank statement line of the deposit is "
        "reconciled against it. Must allow reconciliation.",
    )
    fee_account_id = fields.Many2one(
        "account.account", string="Fees Account", required=True, check_company=True,
        help="Processing fees, and the default for every cost without an account of its own.",
    )
    commission_account_id = fields.Many2one(
        "account.account", check_company=True, help="Marketplace commissions (default: the fees account).")
    chargeback_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Chargebacks (funds withdrawn by disputes) and their reversals when a dispute is won "
        "(default: the fees account).")
    dispute_fee_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Dispute/chargeback fees (default: the chargeback account, then the fees account).")
    reserve_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Funds held back by the processor (an asset). Required when a payout holds or releases reserves.")
    adjustment_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Adjustments, failed payouts and other movements (default: the fees account).")
    withheld_tax_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Taxes collected and withheld by the marketplace (marketplace facilitator tax, TDS/TCS). "
        "Required when a settlement contains them.")
    shipping_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Shipping labels and shipping charges billed by the marketplace (default: the fees account).")
    promotion_account_id = fields.Many2one(
        "account.account", check_company=True,
        help="Promotions funded by the seller (default: the adjustments account).")
    fee_rule_ids = fields.One2many(
        "omni.settlement.fee.rule", "settlement_account_id", string="Fee Accounts", copy=True,
        help="Accounts per fee type (e.g. Radar, FBA fulfilment): the first matching rule wins.",
    )
    date_window_days = fields.Integer(
        string="Matching Window (days)", default=5,
        help="Lines with no reference match get proposals: payments of the same amount dated this many "
        "days around the line.",
    )
    bank_window_days = fields.Integer(
        string="Bank Window (days)", default=3,
        help="The deposit must appear on the bank statement within this many days of the payout date.",
    )
    amount_tolerance = fields.Float(
        digits=(16, 4), default=0.0,
        help="Largest difference between a line and its matched payment that is booked automatically "
        "(to the adjustments account). Beyond it a person must accept the difference.",
    )
    posting_mode = fields.Selection(
        [("summary", "One summary entry per payout"), ("detailed", "Detailed lines")],
        default="summary", required=True,
        help="Summary: one entry per payout with one line per account and kind (clearing lines still "
        "reconcile each payment). Detailed: one journal item per settlement line and fee.",
    )
    post_unmatched = fields.Boolean(
        help="Post payouts even when sales or refunds are unmatched: they go to the clearing account "
        "(an exception still tells a person). Off: such payouts wait for matching.",
    )
    auto_import = fields.Boolean(
        default=True,
        help="Fetch new payouts on the daily import cron (sources with an API only: Stripe, and Shopify "
        "Payments when the channel is a Shopify channel). Only paid payouts are imported.")
    import_days = fields.Integer(
        string="First Import (days back)", default=30,
        help="How far back the first import looks; later imports start at the last import minus two days "
        "(Shopify Payments: minus twelve days, for payouts issued earlier and paid since).")
    last_import_at = fields.Datetime(readonly=True, copy=False, help="When payouts were last fetched.")
    stripe_secret_key = fields.Char(
        groups="base.group_system", copy=False,
        help="Stripe secret or restricted key (read access to payouts and balance transactions). Only "
        "system administrators can read it; it is never logged.",
    )
    has_stripe_secret_key = fields.Boolean(
        compute="_compute_has_stripe_secret_key", string="Stripe Key Set",
        help="Whether a Stripe key is configured (its value stays hidden).")
    stripe_api_base = fields.Char(
        string="Stripe API Base URL", groups="base.group_system", copy=False,
        help="Override of https://api.stripe.com, for a local simulator in tests. Leave empty in production. "
        "System administrators only: the calls to it carry the Stripe key.",
    )
    settlement_ids = fields.One2many("omni.settlement", "payout_account_id", string="Settlements")
    settlement_count = fields.Integer(compute="_compute_settlement_count", string="Payouts")

    _check_windows = models.Constraint(
        "CHECK (date_window_days >= 0 AND bank_window_days >= 0 AND amount_tolerance >= 0 AND import_days >= 0)",
        "Windows, tolerance and look-back cannot be negative.",
    )

    @api.depends("source")
    def _compute_has_stripe_secret_key(self):
        for account, key in zip(self, self.sudo().mapped("stripe_secret_key"), strict=True):
            account.has_stripe_secret_key = bool(key)

    def _compute_settlement_count(self):
        counts = dict(self.env["omni.settlement"]._read_group(
            [("payout_account_id", "in", self.ids)], ["payout_account_id"], ["__count"]))
        for account in self:
            account.settlement_count = counts.get(account, 0)

    @api.onchange("source")
    def _onchange_source(self):
        if self.source in DEFAULT_GATEWAYS and not self.gateway:
            self.gateway = DEFAULT_GATEWAYS[self.source]

    @api.onchange("backend_id", "gateway")
    def _onchange_clearing_journal(self):
        if self.backend_id and self.gateway and not self.clearing_journal_id:
            journal = self.env["account.journal"].search([
                ("company_id", "=", self.company_id.id), ("name", "=", f"{self.gateway} clearing")], limit=1)
            self.clearing_journal_id = journal

    # ------------------------------------------------------------------ setup

    @api.model
    def _omni_outstanding_account(self, company, payment_type="inbound"):
        """The company's Outstanding Receipts (inbound) / Payments (outbound) account, where Community
        books payments registered on journals without an account of their own."""
        ref = ("account_journal_payment_debit_account_id" if payment_type == "inbound"
               else "account_journal_payment_credit_account_id")
        chart = self.with_context(allowed_company_ids=company.root_id.ids).env["account.chart.template"]
        return chart.ref(ref, raise_if_not_found=False) or company.transfer_account_id

    @api.model
    def _omni_default_values(self, company, source="stripe", name=None):
        """Values for a new account with accounts and a settlement journal created or reused.

        Used by "Create default accounts", tests and benchmarks; everything can be changed later.
        """
        values = {"name": name or dict(SOURCES).get(source, source), "source": source, "company_id": company.id,
                  "gateway": DEFAULT_GATEWAYS.get(source) or False}
        values.update(self._omni_default_accounts(company))
        values.setdefault("clearing_account_id", self._omni_outstanding_account(company, "inbound").id)
        values.setdefault("refund_clearing_account_id", self._omni_outstanding_account(company, "outbound").id)
        values["journal_id"] = self._omni_settlement_journal(company).id
        return values

    @api.model
    def _omni_default_accounts(self, company, only=None):
        Account = self.env["account.account"].sudo().with_company(company)
        values = {}
        for field_name, (code, name, account_type, reconcile) in DEFAULT_ACCOUNTS.items():
            if only is not None and field_name not in only:
                continue
            account = Account.search([("code", "=", code), *Account._check_company_domain(company)], limit=1)
            if not account:
                account = Account.create({"code": code, "name": name, "account_type": account_type,
                                          "reconcile": reconcile, "company_ids": [company.id]})
            values[field_name] = account.id
        return values

    @api.model
    def _omni_settlement_journal(self, company):
        Journal = self.env["account.journal"].sudo().with_company(company)
        journal = Journal.search([("company_id", "=", company.id), ("code", "=", "PAYO")], limit=1)
        return journal or Journal.create({"name": self.env._("Payouts"), "code": "PAYO", "type": "general",
                                          "company_id": company.id})

    def action_setup_accounts(self):
        """Fill every empty account with a default one (created once per company, then reused)."""
        self.env["omni.settlement"]._omni_check_rights(self.env._("Creating accounts and journals"),
                                                       ("account.group_account_manager",))
        for account in self:
            missing = [name for name in DEFAULT_ACCOUNTS if not account[name]]
            values = self._omni_default_accounts(account.company_id, only=missing)
            if not account.journal_id:
                values["journal_id"] = self._omni_settlement_journal(account.company_id).id
            if not account.clearing_account_id:
                values["clearing_account_id"] = self._omni_outstanding_account(account.company_id).id
            if not account.refund_clearing_account_id:
                values["refund_clearing_account_id"] = self._omni_outstanding_account(
                    account.company_id, "outbound").id
            account.write(values)
        return True

    # ----------------------------------------------------------- account resolution

    def _omni_kind_account(self, kind, fee_type=None):
        """Account for an amount of ``kind`` (and fee type); raises a UserError naming what is missing."""
        self.ensure_one()
        for rule in self.fee_rule_ids.sorted(lambda r: (r.sequence, r.id)):
            if rule._omni_matches(kind, fee_type):
                return rule.account_id
        fee = self.fee_account_id
        adjustment = self.adjustment_account_id or fee
        chain = {
            "fee": fee,
            "commission": self.commission_account_id or fee,
            "chargeback": self.chargeback_account_id or fee,
            "chargeback_reversal": self.chargeback_account_id or fee,
            "dispute_fee": self.dispute_fee_account_id or self.chargeback_account_id or fee,
            "reserve": self.reserve_account_id,
            "withheld_tax": self.withheld_tax_account_id,
            "shipping": self.shipping_account_id or fee,
            "promotion": self.promotion_account_id or adjustment,
            "adjustment": adjustment,
            "payout_failure": adjustment,
            "other": adjustment,
            "sale": self.clearing_account_id,
            "refund": self.refund_clearing_account_id or self.clearing_account_id,
            "refund_failure": self.refund_clearing_account_id or self.clearing_account_id,
        }
        account = chain.get(kind)
        if not account:
            raise UserError(self.env._("Payout account %(name)s has no account for %(kind)s amounts: set it in its "
                                       "configuration.", name=self.name, kind=dict(KIND_SELECTION).get(kind, kind)))
        return account

    def _omni_tolerance(self, currency_code):
        self.ensure_one()
        return quantize(Decimal(str(self.amount_tolerance or 0)), currency_code)

    # ----------------------------------------------------------------- actions

    def action_view_settlements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("omni_reconciliation.action_omni_settlement")
        action["domain"] = [("payout_account_id", "=", self.id)]
        action["context"] = {"default_payout_account_id": self.id}
        return action

    def action_import_now(self):
        """Fetch payouts now (sources with an API) or open the upload wizard (files)."""
        self.ensure_one()
        if not self._omni_can_fetch():
            if self.source == "shopify_payments":
                raise UserError(self.env._(
                    "Shopify Payments payouts of %s are fetched from a Shopify channel: install the Shopify "
                    "connector and set the payout account's Channel to the shop's Shopify channel.", self.name))
            return self.action_open_upload()
        settlements = self._omni_import_from_source()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("Payouts imported"), "type": "success", "sticky": False,
                       "message": self.env._("%s payout(s) imported or already known.", len(settlements))},
        }

    def action_open_upload(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.settlement.import.wizard", "view_mode": "form",
                "target": "new", "context": {"default_payout_account_id": self.id}}

    # ------------------------------------------------------------------ import

    def _omni_can_fetch(self):
        """Whether payouts of this account are fetched (otherwise they are uploaded or handed over):
        from the source itself (``_omni_fetch_settlements_<source>``, e.g. Stripe, a gateway), or
        from the account's channel when that channel pays out (``omni.backend``'s
        ``_omni_can_fetch_settlements`` / ``_omni_fetch_settlements`` hooks, which every connector
        whose channel pays out implements: Shopify Payments through the Shopify channel)."""
        self.ensure_one()
        if hasattr(self, f"_omni_fetch_settlements_{self.source}"):
            return True
        return bool(self._omni_payout_channel())

    def _omni_payout_channel(self):
        """The account's channel when it pays out, else an empty recordset. Read as superuser: the
        connection's credentials are the channel's, not the user's."""
        self.ensure_one()
        backend = self.backend_id.sudo()
        if backend and backend._omni_can_fetch_settlements():
            return backend
        return self.env["omni.backend"]

    def _omni_fetch_settlements(self, since=None):
        """Payouts available since ``since``: an iterable of ``(external id, loader)``, ``loader()``
        returning the payout's canonical ``SettlementData``. From the source's own fetcher
        (``_omni_fetch_settlements_<source>``) or else from the account's channel."""
        self.ensure_one()
        fetcher = getattr(self, f"_omni_fetch_settlements_{self.source}", None)
        if fetcher is not None:
            return fetcher(since)
        channel = self._omni_payout_channel()
        if channel:
            return channel._omni_fetch_settlements(since)
        if self.source not in UPLOADED_SOURCES:
            return []  # paid out through a channel that is not set (or not connected): handed over instead
        raise UserError(self.env._("Payouts of %s are uploaded, not fetched.", dict(SOURCES).get(self.source)))

    def _omni_fetch_settlements_stripe(self, since=None):
        from ..lib.stripe_client import fetch_settlement, list_payouts  # noqa: PLC0415 - needs `stripe`

        client = self._omni_stripe_client()
        for payout in list_payouts(client, since=since):
            yield payout["id"], (lambda payout=payout: fetch_settlement(client, payout))

    def _omni_stripe_client(self):
        self.ensure_one()
        from ..lib.stripe_client import make_client  # noqa: PLC0415 - needs `stripe`

        key = self.sudo().stripe_secret_key
        if not key:
            raise UserError(self.env._("Payout account %s has no Stripe key.", self.name))
        return make_client(key, self.sudo().stripe_api_base or None)

    def _omni_import_from_source(self):
        """Fetch and import new payouts of these accounts; one savepoint per payout, committing per payout
        when running as a cron. Returns the settlements imported or found."""
        Settlement = self.env["omni.settlement"]
        done = Settlement
        for account in self:
            since = account.last_import_at - timedelta(days=2) if account.last_import_at else (
                fields.Datetime.now() - timedelta(days=account.import_days or 0))
            started = fields.Datetime.now()
            try:
                payouts = list(account._omni_fetch_settlements(since))
            except Exception as error:  # any failure of the source must reach a person
                account._omni_raise(self.env._("Could not list payouts of %(name)s: %(error)s", name=account.name,
                                               error=error), key=f"list:{account.id}", severity="error")
                Settlement._omni_commit_progress()
                continue
            known = set(Settlement.search([("payout_account_id", "=", account.id),
                                           ("external_id", "in", [external_id for external_id, _l in payouts])])
                        .mapped("external_id"))
            for external_id, loader in payouts:
                if external_id in known:
                    done |= Settlement.search([("payout_account_id", "=", account.id),
                                               ("external_id", "=", external_id)])
                    continue
                try:
                    with self.env.cr.savepoint():
                        done |= account._omni_import_settlement(loader())
                except Exception as error:  # one payout never blocks the others
                    _logger.warning("Payout %s of %s could not be imported: %s", external_id, account.name,
                                    type(error).__name__)
                    account._omni_raise(self.env._("Payout %(payout)s of %(name)s could not be imported: %(error)s",
                                                   payout=external_id, name=account.name, error=error),
                                        key=f"import:{external_id}", severity="error")
                if self.env["omni.event"]._omni_cron_budget_spent(Settlement._omni_commit_progress(1)):
                    self.env.ref("omni_reconciliation.cron_omni_settlement_import")._trigger()
                    return done
            account.last_import_at = started
            Settlement._omni_commit_progress()
        return done

    @api.model
    def _cron_import_settlements(self):
        accounts = self.search([("auto_import", "=", True)]).filtered(lambda account: account._omni_can_fetch())
        return accounts._omni_import_from_source()

    def _omni_import_settlement(self, data):
        """Store one :class:`SettlementData` (idempotent) and try to match it; return the settlement."""
        self.ensure_one()
        return self.env["omni.settlement"]._omni_store(self, data)

    def _omni_import_file(self, content, filename=None):
        """Upload entry point: dispatch a file to the parser of this account's source."""
        self.ensure_one()
        parser = getattr(self, f"_omni_parse_file_{self.source}", None)
        if parser is None:
            raise UserError(self.env._("No file format is known for %s payouts.", dict(SOURCES).get(self.source)))
        return self._omni_import_settlement(parser(content, filename))

    def _omni_parse_file_amazon(self, content, filename=None):
        return parse_settlement_v2(content)

    def _omni_parse_file_file(self, content, filename=None):
        """Files of the generic source are Amazon V2 reports until a connector adds its own format."""
        return parse_settlement_v2(content)

    # --------------------------------------------------------------- exceptions

    def _omni_raise(self, message, key, severity="warning", record=None):
        self.ensure_one()
        return self.env["omni.exception"]._omni_raise(
            message, backend=self.backend_id or None, category="reconciliation", severity=severity,
            record=record or self, resource_key=f"omni.settlement.account:{self.id}:{key}")


class OmniSettlementFeeRule(models.Model):
    _name = "omni.settlement.fee.rule"
    _description = "Payout Fee Account Rule"
    _order = "sequence, id"

    sequence = fields.Integer(default=10, help="Rules are tried in this order; the first match wins.")
    settlement_account_id = fields.Many2one("omni.settlement.account", required=True, ondelete="cascade",
                                            index=True, help="Payout account this rule belongs to.")
    company_id = fields.Many2one(related="settlement_account_id.company_id", store=True,
                                 help="Company of the payout account.")
    kind = fields.Selection(KIND_SELECTION, help="Line kind the rule applies to (empty: any cost).")
    fee_type = fields.Char(
        help="Text found in the fee type or description, case-insensitive: 'stripe_fee', 'Radar', "
        "'FBAPerUnitFulfillmentFee'... Empty: any fee of the kind.")
    account_id = fields.Many2one("account.account", required=True, check_company=True,
                                 help="Account the matching amounts are booked to.")

    def _omni_matches(self, kind, fee_type):
        self.ensure_one()
        if self.kind and self.kind != kind:
            return False
        if not self.kind and kind in ("sale", "refund", "refund_failure"):
            return False
        if self.fee_type:
            return bool(fee_type) and self.fee_type.casefold() in fee_type.casefold()
        return bool(self.kind)
