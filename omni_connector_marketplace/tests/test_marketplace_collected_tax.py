"""Marketplaces of an account and the shared collected-tax treatment, on real Odoo."""

from datetime import datetime, timezone
from decimal import Decimal as D

from odoo.tests import TransactionCase, tagged

from odoo.addons.omni_connector_base.canonical import Line, Order, Payment, TaxLine

from ..models.marketplace_backend import COLLECTED_TAX_CONTEXT, MARKETPLACE_CONTEXT

UTC = timezone.utc


@tagged("post_install", "-at_install")
class TestCollectedTax(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.usd = cls.env.ref("base.USD")
        cls.usd.active = True
        cls.backend = cls.env["omni.backend"].create({"name": "Seller", "channel": "custom"})
        cls.marketplace = cls.env["omni.marketplace"].create({
            "backend_id": cls.backend.id, "name": "Amazon.com", "marketplace_ref": "ATVPDKIKX0DER",
            "currency_id": cls.usd.id,
        })
        cls.team = cls.env["crm.team"].create({"name": "Amazon US"})
        cls.marketplace.team_id = cls.team
        cls.product = cls.env["product.product"].create({"name": "T-Shirt", "default_code": "TSHIRT-BLK-M",
                                                         "type": "consu", "list_price": 29})

    def _order(self):
        return Order(
            external_id="114-1234567-1234567", name="114-1234567-1234567", currency="USD", taxes_included=False,
            created_at=datetime(2026, 11, 8, tzinfo=UTC), updated_at=datetime(2026, 11, 8, tzinfo=UTC),
            lines=[Line(external_id="61482910330001", sku="TSHIRT-BLK-M", name="T-Shirt", quantity=D(2),
                        unit_price=D("29.00"), tax_lines=[TaxLine(D("0.0875"), D("5.08"))])],
            payments=[Payment(gateway="amazon", amount=D("63.08"), currency="USD")],
            total=D("63.08"), total_tax=D("5.08"), financial_status="paid",
        )

    def test_collected_tax_posts_to_the_non_payable_account(self):
        tax = self.marketplace._omni_collected_tax_for(D("8.875"), False)
        self.assertAlmostEqual(tax.amount, 8.875)
        self.assertEqual(tax, self.marketplace._omni_collected_tax_for(D("8.875"), False), "made once per rate")
        accounts = tax.invoice_repartition_line_ids.filtered(lambda r: r.repartition_type == "tax").account_id
        self.assertEqual(accounts.code, "OMNI.WHTAX")
        self.assertNotIn(accounts.account_type, ("liability_payable",))
        self.assertFalse(tax.invoice_repartition_line_ids.tag_ids, "in no tax report")

    def test_import_with_collected_tax_context(self):
        sale = (
            self.env["omni.order.importer"]
            .with_context(**{COLLECTED_TAX_CONTEXT: self.marketplace.id, MARKETPLACE_CONTEXT: self.marketplace.id})
            ._omni_import_order(self.backend, self._order())
        )
        self.assertEqual(sale.amount_total, 63.08)
        self.assertEqual(sale.order_line.tax_ids.tax_group_id, self.marketplace.collected_tax_id.tax_group_id)
        self.assertEqual(sale.team_id, self.team)
        invoice = sale.invoice_ids
        self.assertTrue(invoice)
        tax_line = invoice.line_ids.filtered(lambda line: line.tax_line_id)
        self.assertEqual(tax_line.account_id.code, "OMNI.WHTAX")
        self.assertAlmostEqual(tax_line.balance, -5.08)
