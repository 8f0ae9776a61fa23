"""Shared setup of the reconciliation tests: a USD company with EUR and JPY, the order importer's
taxes and products, channel backends, one payout account per source and helpers."""

import json
from datetime import date
from pathlib import Path

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.omni_connector_base.tests.order_factory import refund_1042, shopify_1042, woocommerce_727

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def fixture_json(relative):
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def fixture_bytes(relative):
    return (FIXTURES / relative).read_bytes()


class ReconciliationCommon(AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The crons run as superuser; the accounting test user lacks sales rights.
        cls.env = cls.env(su=True, context=dict(cls.env.context, omni_no_trigger=True))
        cls.company = cls.env.company
        cls.usd = cls.company.currency_id
        cls.eur = cls.setup_other_currency("EUR", rates=[("2020-01-01", 0.9)])
        Tax = cls.env["account.tax"]
        cls.tax_19_incl = Tax.create({"name": "VAT 19% incl", "amount": 19, "amount_type": "percent",
                                      "type_tax_use": "sale", "price_include_override": "tax_included",
                                      "company_id": cls.company.id})
        cls.tax_875_excl = Tax.create({"name": "CA 8.75%", "amount": 8.75, "amount_type": "percent",
                                       "type_tax_use": "sale", "price_include_override": "tax_excluded",
                                       "company_id": cls.company.id})
        Product = cls.env["product.product"]
        for sku, price in (("TSHIRT-BLK-M", 29), ("MUG-CLASSIC", 15), ("HOODIE-GRY-L", 90), ("SOCKS-3PK", 10)):
            Product.create({"name": sku, "default_code": sku, "type": "consu", "list_price": price,
                            "taxes_id": [Command.clear()]})
        Backend = cls.env["omni.backend"]
        cls.shop_backend = Backend.create({"name": "Shopify shop", "channel": "custom", "company_id": cls.company.id})
        cls.woo_backend = Backend.create({"name": "Woo shop", "channel": "custom", "company_id": cls.company.id})
        cls.amazon_backend = Backend.create({"name": "Amazon.com", "channel": "custom",
                                             "company_id": cls.company.id})
        cls.Importer = cls.env["omni.order.importer"]
        cls.Account = cls.env["omni.settlement.account"]
        cls.Settlement = cls.env["omni.settlement"]
        cls.bank_usd = cls.company_data["default_journal_bank"]
        cls.bank_eur = cls.env["account.journal"].create({
            "name": "Bank EUR", "code": "BEUR", "type": "bank", "currency_id": cls.eur.id,
            "company_id": cls.company.id})
        cls.customer = cls.env["res.partner"].create({"name": "Walk-in customer"})

    # ------------------------------------------------------------- accounts

    @classmethod
    def _payout_account(cls, source, backend=None, bank=None, **values):
        defaults = cls.Account._omni_default_values(cls.company, source, name=f"{source} test")
        defaults.update({"backend_id": backend.id if backend else False,
                         "bank_journal_id": (bank or cls.bank_usd).id})
        defaults.update(values)
        account = cls.Account.create(defaults)
        account.action_setup_accounts()
        return account

    # ----------------------------------------------------------- order side

    @classmethod
    def _import_shopify_1042_with_refund(cls, backend):
        sale = cls.Importer._omni_import_order(backend, shopify_1042())
        cls.Importer._omni_import_refund(backend, refund_1042())
        return sale

    @classmethod
    def _import_woocommerce_727(cls, backend):
        return cls.Importer._omni_import_order(backend, woocommerce_727())

    @classmethod
    def _payment(cls, backend, reference, amount, currency=None, gateway="stripe", payment_type="inbound",
                 when=date(2026, 11, 20), partner=None, order=None):
        """An order-time payment with the fields the shared importer sets (clearing journal, memo...)."""
        payment = cls.env["account.payment"].create({
            "payment_type": payment_type,
            "partner_type": "customer",
            "partner_id": (partner or cls.customer).id,
            "amount": amount,
            "currency_id": (currency or cls.usd).id,
            "journal_id": backend._omni_clearing_journal(gateway).id,
            "date": when,
            "memo": reference,
            "payment_reference": reference,
            "omni_backend_id": backend.id,
            "omni_gateway": gateway,
            "omni_transaction_id": reference,
        })
        payment.action_post()
        if order is not None:
            order.omni_payment_ids |= payment
        return payment

    @classmethod
    def _order(cls, backend, external_id, amount, currency=None, name=None):
        """A confirmed sale order bound to the channel, priced at ``amount`` (no tax)."""
        product = cls.env["product.product"].search([("default_code", "=", "MUG-CLASSIC")], limit=1)
        pricelist = cls.env["product.pricelist"].create({"name": f"PL {external_id}",
                                                         "currency_id": (currency or cls.usd).id})
        order = cls.env["sale.order"].create({
            "partner_id": cls.customer.id, "pricelist_id": pricelist.id, "omni_backend_id": backend.id,
            "omni_external_id": external_id, "omni_channel_order_name": name or external_id,
            "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1, "price_unit": amount,
                                           "tax_ids": [Command.clear()]})],
        })
        order.action_confirm()
        return order

    def _statement_line(self, journal, amount, when, label="", foreign_currency=None, amount_currency=None):
        values = {"journal_id": journal.id, "amount": amount, "date": when, "payment_ref": label or "deposit"}
        if foreign_currency:
            values.update(foreign_currency_id=foreign_currency.id, amount_currency=amount_currency)
        return self.env["account.bank.statement.line"].create(values)

    # -------------------------------------------------------------- checks

    def _open_exceptions(self, settlement, contains=None):
        exceptions = self.env["omni.exception"].search([
            ("res_model", "=", "omni.settlement"), ("res_id", "=", settlement.id),
            ("state", "in", ("open", "assigned"))])
        if contains:
            exceptions = exceptions.filtered(lambda e: contains in e.message)
        return exceptions

    def _line(self, settlement, external_id):
        line = settlement.line_ids.filtered(lambda line: line.external_id == external_id)
        self.assertEqual(len(line), 1, f"line {external_id} not found")
        return line

    def assertBalanced(self, move):
        self.assertEqual(move.state, "posted")
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, places=6)
        self.assertEqual(round(sum(move.line_ids.mapped("debit")), 2), round(sum(move.line_ids.mapped("credit")), 2))
