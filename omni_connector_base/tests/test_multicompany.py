"""Multi-company isolation of every base model with company data, and secrets kept from managers."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestMultiCompany(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Omni Company B"})
        cls.backend_a = cls._omni_create_backend(cls.env, name="A shop", channel="custom")
        cls.backend_b = cls._omni_create_backend(cls.env, name="B shop", channel="custom", company_id=cls.company_b.id)
        cls.manager_b = new_test_user(
            cls.env, login="omni_mgr_b", groups="omni_connector_base.group_omni_manager,base.group_partner_manager",
            company_id=cls.company_b.id, company_ids=[cls.company_b.id],
        )
        service = cls.env["product.product"].create({"name": "Ship A", "type": "service"})
        tax_a = cls.env["account.tax"].create({"name": "A 19", "amount": 19, "company_id": cls.company_a.id})
        partner = cls.env["res.partner"].create({"name": "Key holder"})
        cls.records_a = {
            "omni.tax.map": cls.env["omni.tax.map"].create(
                {"backend_id": cls.backend_a.id, "rate": 19, "tax_id": tax_a.id}),
            "omni.shipping.map": cls.env["omni.shipping.map"].create(
                {"backend_id": cls.backend_a.id, "code": "DHL", "product_id": service.id}),
            "omni.payment.rule": cls.backend_a.payment_rule_ids[:1],
            "omni.partner.key": cls.env["omni.partner.key"].create(
                {"company_id": cls.company_a.id, "key": "email:a@example.com", "partner_id": partner.id}),
            "omni.api.key": cls.env["omni.api.key"]._omni_generate(cls.backend_a, "POS A")[0],
        }

    def test_company_b_reads_and_writes_nothing_of_company_a(self):
        for model, record in self.records_a.items():
            with self.subTest(model=model):
                self.assertTrue(record)
                Model = self.env[model].with_user(self.manager_b)
                self.assertFalse(Model.search([("id", "=", record.id)]), "not found by a search")
                with self.assertRaises(AccessError):
                    record.with_user(self.manager_b).read(["company_id"])
                writable = next(name for name in ("sequence", "rate", "code", "key", "name")
                                if name in record._fields)
                with self.assertRaises(AccessError):
                    record.with_user(self.manager_b).write({writable: record[writable]})

    def test_shipping_map_has_the_company_of_its_backend(self):
        self.assertEqual(self.records_a["omni.shipping.map"].company_id, self.company_a)

    def test_backend_cannot_point_at_another_companys_records(self):
        warehouse_b = self.env["stock.warehouse"].search([("company_id", "=", self.company_b.id)], limit=1)
        pricelist_b = self.env["product.pricelist"].create({"name": "B list", "company_id": self.company_b.id})
        team_b = self.env["crm.team"].create({"name": "B team", "company_id": self.company_b.id})
        product_b = self.env["product.product"].create(
            {"name": "B fee", "type": "service", "company_id": self.company_b.id})
        for field, value in (("warehouse_id", warehouse_b), ("pricelist_id", pricelist_b), ("team_id", team_b),
                             ("shipping_product_id", product_b), ("fee_product_id", product_b),
                             ("discount_product_id", product_b), ("rounding_product_id", product_b)):
            with self.subTest(field=field), self.assertRaises(UserError):
                self.assertTrue(value)
                self.backend_a.write({field: value.id})
                self.backend_a.flush_recordset()

    def test_mappings_cannot_point_at_another_companys_records(self):
        group_b = self.env["account.tax.group"].create({"name": "B taxes", "company_id": self.company_b.id})
        tax_b = self.env["account.tax"].create(
            {"name": "B 19", "amount": 19, "company_id": self.company_b.id, "tax_group_id": group_b.id,
             "country_id": (self.company_a.country_id or self.env.ref("base.us")).id})
        journal_b = self.env["account.journal"].create(
            {"name": "B clearing", "code": "BCLR", "type": "bank", "company_id": self.company_b.id})
        service_b = self.env["product.product"].create(
            {"name": "B ship", "type": "service", "company_id": self.company_b.id})
        with self.assertRaises(UserError):
            self.env["omni.tax.map"].create({"backend_id": self.backend_a.id, "rate": 7, "tax_id": tax_b.id})
        with self.assertRaises(UserError):
            self.records_a["omni.payment.rule"].write({"journal_id": journal_b.id})
        with self.assertRaises(UserError):
            self.env["omni.shipping.map"].create(
                {"backend_id": self.backend_a.id, "code": "UPS", "product_id": service_b.id})

    def test_verifiers_are_for_system_administrators_only(self):
        """The API key's digest is a credential verifier: managers see the prefix, never the digest."""
        manager = new_test_user(self.env, login="omni_mgr_a", groups="omni_connector_base.group_omni_manager")
        key = self.records_a["omni.api.key"].with_user(manager)
        self.assertTrue(key.key_prefix)
        with self.assertRaises(AccessError):
            key.read(["key_hash"])
        with self.assertRaises(AccessError):
            self.backend_a.with_user(manager).read(["webhook_secret"])

    def test_channel_orders_menu_hidden_without_sales_rights(self):
        menu = self.env.ref("omni_connector_base.menu_omni_sale_orders")
        omni_only = new_test_user(self.env, login="omni_nosales", groups="omni_connector_base.group_omni_user")
        self.assertNotIn(menu.id, self.env["ir.ui.menu"].with_user(omni_only)._visible_menu_ids())
        seller = new_test_user(self.env, login="omni_seller",
                               groups="omni_connector_base.group_omni_user,sales_team.group_sale_salesman")
        self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(seller)._visible_menu_ids())
