from odoo import api, fields, models
from odoo.exceptions import ValidationError


class OmniLookupCacheMixin(models.AbstractModel):
    """Mappings read by every imported order: the backend's lookups through them are cached per
    process (``ormcache``), so a change here clears those caches in every worker."""

    _name = "omni.lookup.cache.mixin"
    _description = "Omnichannel mapping that invalidates the importer's lookup caches"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result


class OmniTaxMap(models.Model):
    """Which Odoo tax a channel tax line becomes, by rate and tax-included flag.

    Without a row, the importer looks for a sale tax of the company with that percentage and
    the same included/excluded setting; when none exists the order is blocked for a person.
    """

    _name = "omni.tax.map"
    _inherit = ["omni.lookup.cache.mixin"]
    _description = "Omnichannel Tax Mapping"
    _order = "backend_id, rate"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    rate = fields.Float(
        string="Rate (%)", digits=(6, 4), required=True, help="The channel's tax rate in percent, e.g. 19 for 19 %."
    )
    price_include = fields.Boolean(string="Included in Price", help="Whether the channel's prices include this tax.")
    tax_id = fields.Many2one("account.tax", required=True, check_company=True, domain="[('type_tax_use', '=', 'sale')]")

    _unique_rate = models.Constraint(
        "UNIQUE(backend_id, rate, price_include)", "This rate is already mapped for this backend."
    )


class OmniShippingMap(models.Model):
    """Channel shipping method code -> the delivery product booked on the sale order."""

    _name = "omni.shipping.map"
    _inherit = ["omni.lookup.cache.mixin"]
    _description = "Omnichannel Shipping Mapping"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    code = fields.Char(required=True, help="The channel's shipping method code or title (e.g. 'DHL Express').")
    product_id = fields.Many2one(
        "product.product", required=True, check_company=True, domain="[('type', '=', 'service')]")

    _unique_code = models.Constraint("UNIQUE(backend_id, code)", "This shipping code is already mapped.")


class OmniPaymentRule(models.Model):
    """What happens to an imported order, by payment gateway and financial status.

    The first matching rule (by sequence) applies; an empty gateway or status matches any.
    """

    _name = "omni.payment.rule"
    _inherit = ["omni.lookup.cache.mixin"]
    _description = "Omnichannel Order Workflow Rule"
    _order = "backend_id, sequence, id"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    gateway = fields.Char(
        help="Payment gateway as the channel names it (shopify_payments, paypal, stripe, "
        "manual, gift_card, cash_on_delivery...). Empty: any gateway."
    )
    financial_status = fields.Selection(
        [
            ("pending", "Pending"),
            ("authorized", "Authorized"),
            ("paid", "Paid"),
            ("partially_paid", "Partially paid"),
            ("refunded", "Refunded"),
            ("partially_refunded", "Partially refunded"),
            ("voided", "Voided"),
            ("unpaid", "Unpaid"),
        ],
        help="Channel financial status this rule applies to. Empty: any status.",
    )
    confirm_order = fields.Boolean(default=True, help="Confirm the sale order (creates the delivery).")
    create_invoice = fields.Boolean(help="Create and post the customer invoice right away.")
    register_payment = fields.Boolean(
        help="Register the channel's payment in the clearing journal, referenced by the channel's "
        "transaction id so the payout can be matched later."
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Clearing Journal",
        check_company=True,
        domain="[('type', 'in', ('bank', 'cash', 'credit'))]",
        help="Journal of the gateway's clearing (outstanding receipts) account, where order-time "
        "payments wait for the payout. Created automatically when empty.",
    )

    @api.constrains("register_payment", "create_invoice", "confirm_order")
    def _check_consistency(self):
        for rule in self:
            if rule.create_invoice and not rule.confirm_order:
                raise ValidationError(self.env._("An order must be confirmed to be invoiced."))

    def _omni_matches(self, gateway, financial_status):
        self.ensure_one()
        return (not self.gateway or self.gateway == gateway) and (
            not self.financial_status or self.financial_status == financial_status
        )


class OmniPartnerKey(models.Model):
    """Dedupe keys of contacts created from channels (normalized email, address).

    The unique index is what makes two orders of the same new customer, imported at the same
    moment by two workers, end with one contact: the second insert conflicts, its event is
    retried, and the retry finds the contact.
    """

    _name = "omni.partner.key"
    _description = "Omnichannel Contact Dedupe Key"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", index=True)
    key = fields.Char(required=True)
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    extra = fields.Char(help="For a customer's own-address key: the address it was created with.")

    _unique_key = models.Constraint("UNIQUE(company_id, key)", "This contact key already exists.")
