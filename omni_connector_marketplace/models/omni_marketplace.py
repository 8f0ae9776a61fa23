"""The marketplaces of a seller account (Amazon.com, Amazon.de, EBAY_US...), each with its
currency, pricelist, warehouse, sales team and the treatment of marketplace-collected tax."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib.collected_tax import TREATMENT_TAX, TREATMENTS

# The account omni_reconciliation posts the settlements' withheld-tax lines to (its default
# accounts use the same code), so collected tax and withheld tax meet on one account.
COLLECTED_TAX_ACCOUNT = ("OMNI.WHTAX", "Taxes withheld by marketplaces", "liability_current")
# Amazon marketplaces whose item prices include VAT/GST (Amazon shows buyers tax-inclusive prices there):
# a new marketplace line with one of these ids starts with "Prices Include Tax" on. It is only a default:
# the box stays the person's choice, per marketplace (Amazon's Order model says nothing about it).
AMAZON_TAX_INCLUDED_MARKETPLACES = frozenset({
    "A1PA6795UKMFR9",  # Amazon.de
    "A1RKKUPIHCS9HS",  # Amazon.es
    "A13V1IB3VIYZZH",  # Amazon.fr
    "APJ6JRA9NG5V4",  # Amazon.it
    "A1805IZSGTT6HS",  # Amazon.nl
    "AMEN7PMS3EDWL",  # Amazon.com.be
    "A2NODRKZP88ZB9",  # Amazon.se
    "A1C3SOZRARQ6R3",  # Amazon.pl
    "A28R8C7NBKEWEA",  # Amazon.ie
    "A1F83G8C2ARO7P",  # Amazon.co.uk
    "A33AVAJ2PDY3EV",  # Amazon.com.tr
    "A2VIGQ35RCS4UG",  # Amazon.ae
    "A17E79C6D8DWNP",  # Amazon.sa
    "ARBP9OOSHTCHU",  # Amazon.eg
    "A21TJRUUN4KGV",  # Amazon.in
    "A1VC38T7YXB528",  # Amazon.co.jp
    "A39IBJ37TRP1C6",  # Amazon.com.au
    "A19VAU5U5O7RUS",  # Amazon.sg
})


def default_prices_include_tax(channel, marketplace_ref):
    """Whether a new marketplace line starts with tax-included prices (Amazon's VAT/GST marketplaces)."""
    return channel == "amazon" and (marketplace_ref or "").strip().upper() in AMAZON_TAX_INCLUDED_MARKETPLACES


class OmniMarketplace(models.Model):
    _name = "omni.marketplace"
    _description = "Marketplace of a Seller Account"
    _order = "backend_id, sequence, id"
    _check_company_auto = True

    backend_id = fields.Many2one(
        "omni.backend", string="Seller Account", required=True, ondelete="cascade", index=True,
        help="The seller account (channel backend) this marketplace belongs to.",
    )
    channel = fields.Selection(
        related="backend_id.channel", store=True,
        help="The channel of the seller account (Amazon, eBay).",
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, help="Orders of an archived marketplace are not imported.")
    name = fields.Char(required=True, help="E.g. Amazon.com, Amazon.de, eBay US.")
    marketplace_ref = fields.Char(
        string="Marketplace ID", required=True,
        help="The marketplace's id at the channel: Amazon marketplace id (ATVPDKIKX0DER for Amazon.com, "
        "A1PA6795UKMFR9 for Amazon.de...), eBay marketplace id (EBAY_US, EBAY_DE...).",
    )
    currency_id = fields.Many2one(
        "res.currency", required=True,
        help="Currency of the marketplace's orders (USD on Amazon.com, EUR on Amazon.de...).",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist", check_company=True,
        help="Pricelist of the sale orders of this marketplace (in its currency). Empty: the account's, "
        "or the pricelist of the order's currency.",
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse", check_company=True,
        help="Warehouse that ships the merchant-fulfilled orders of this marketplace. Empty: the account's.",
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", check_company=True,
        help="Sales team of the orders of this marketplace. Empty: the account's.",
    )
    prices_include_tax = fields.Boolean(
        help="Amazon: whether the item, shipping and gift wrap prices of this marketplace's orders include the "
        "tax Amazon reports beside them. On (EU, UK, Turkey, Middle East, India, Japan, Australia, Singapore: "
        "the buyer sees VAT/GST-inclusive prices) the order lines keep Amazon's prices with tax-included taxes "
        "and the tax is not added again; off (US, Canada, Mexico, Brazil) the tax is added on top with "
        "tax-excluded taxes. A new Amazon marketplace line starts on for the VAT/GST marketplace ids and off "
        "for the others; change it if your account shows otherwise. (eBay orders carry their own amounts and "
        "do not use it.)",
    )
    collected_tax_treatment = fields.Selection(
        list(TREATMENTS), required=True, default=TREATMENT_TAX,
        help="What becomes of the tax the marketplace collects and remits itself (Amazon marketplace "
        "facilitator tax, eBay collect and remit). It is never tax the seller owes. 'Collected tax': kept on "
        "the order and invoice through the collected tax below, whose tax lines post to a non-payable "
        "account; the settlement's withheld-tax lines clear that account. 'Excluded': left out of the order "
        "(total and payment lowered), with a memo on the order saying how much was collected.",
    )
    collected_tax_id = fields.Many2one(
        "account.tax", check_company=True,
        domain="[('type_tax_use', '=', 'sale'), ('amount_type', '=', 'percent')]",
        help="Template of the marketplace-collected taxes: a sale tax whose tax lines post to a non-payable "
        "account (by default OMNI.WHTAX, the account settlements post withheld taxes to) and that is in no "
        "tax report. A copy of it with the order's rate is made for each rate met. Empty: created on first "
        "use.",
    )

    _uniq_ref = models.Constraint(
        "UNIQUE(backend_id, marketplace_ref)", "A marketplace is listed once per seller account.")

    @api.model_create_multi
    def create(self, vals_list):
        Backend = self.env["omni.backend"]
        for vals in vals_list:
            if "prices_include_tax" not in vals and vals.get("backend_id"):
                channel = Backend.browse(vals["backend_id"]).channel
                vals["prices_include_tax"] = default_prices_include_tax(channel, vals.get("marketplace_ref"))
        return super().create(vals_list)

    @api.onchange("marketplace_ref")
    def _onchange_marketplace_ref_tax_included(self):
        for marketplace in self:
            if marketplace.marketplace_ref:
                marketplace.prices_include_tax = default_prices_include_tax(
                    marketplace.backend_id.channel, marketplace.marketplace_ref)

    @api.constrains("pricelist_id", "currency_id")
    def _check_pricelist_currency(self):
        for marketplace in self:
            if marketplace.pricelist_id and marketplace.pricelist_id.currency_id != marketplace.currency_id:
                raise ValidationError(self.env._(
                    "The pricelist of marketplace %s must be in its currency.", marketplace.name))

    # ------------------------------------------------------------ collected tax

    @api.private
    def _omni_collected_tax_account(self):
        """The non-payable account of the collected taxes: OMNI.WHTAX of the company, created if missing."""
        self.ensure_one()
        company = self.company_id
        Account = self.env["account.account"].sudo().with_company(company)
        code, name, account_type = COLLECTED_TAX_ACCOUNT
        account = Account.search([("code", "=", code), ("company_ids", "in", company.id)], limit=1)
        return account or Account.create({
            "code": code, "name": name, "account_type": account_type, "company_ids": [(6, 0, company.ids)]})

    @api.private
    def _omni_collected_tax_template(self):
        """The marketplace's collected-tax template, created on first use (0 %, no tax report tags)."""
        self.ensure_one()
        if self.collected_tax_id:
            return self.collected_tax_id
        account = self._omni_collected_tax_account()
        Tax = self.env["account.tax"].sudo().with_company(self.company_id)
        name = self.env._("Collected by %s", self.backend_id.display_name)
        tax = Tax.search([("name", "=", name), ("company_id", "=", self.company_id.id),
                          ("type_tax_use", "=", "sale"), ("amount", "=", 0)], limit=1)
        if not tax:
            group = self.env["account.tax.group"].sudo().create({
                "name": self.env._("Collected by the marketplace"), "company_id": self.company_id.id})
            repartition = [
                (0, 0, {"repartition_type": "base"}),
                (0, 0, {"repartition_type": "tax", "account_id": account.id}),
            ]
            tax = Tax.create({
                "name": name, "amount": 0.0, "amount_type": "percent", "type_tax_use": "sale",
                "company_id": self.company_id.id, "tax_group_id": group.id,
                "description": self.env._("Marketplace collected"),
                "invoice_repartition_line_ids": repartition,
                "refund_repartition_line_ids": repartition,
            })
        self.sudo().collected_tax_id = tax
        return tax

    @api.private
    def _omni_collected_tax_for(self, percent, included):
        """The collected tax of ``percent`` (Decimal or str) and price-included flag: a copy of the
        template with that rate, made once per rate."""
        self.ensure_one()
        template = self._omni_collected_tax_template()
        amount = float(percent)
        Tax = self.env["account.tax"].sudo().with_company(self.company_id)
        domain = [("tax_group_id", "=", template.tax_group_id.id), ("company_id", "=", self.company_id.id),
                  ("type_tax_use", "=", "sale"), ("price_include_override", "=",
                                                 "tax_included" if included else "tax_excluded")]
        for tax in Tax.search(domain):
            if abs(tax.amount - amount) < 0.00005:
                return tax
        return template.copy({
            "name": f"{template.name} {percent}%{' incl.' if included else ''}",
            "amount": amount,
            "price_include_override": "tax_included" if included else "tax_excluded",
        })
