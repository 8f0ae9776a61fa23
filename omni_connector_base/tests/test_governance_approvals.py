"""Governance, approvals: large orders and first orders wait as quotations; refunds made in Odoo
above the channel's threshold wait before any push; inbound refunds are never held."""

from dataclasses import replace

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..pipeline.errors import BusinessError
from .order_factory import refund_1042, shopify_1042, woocommerce_727
from .test_importer import OmniImporterCommon


class GovernanceCommon(OmniImporterCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.approver = cls.env["res.users"].create({
            "name": "Approver", "login": "omni_approver", "email": "approver@example.com",
            "group_ids": [Command.link(cls.env.ref("omni_connector_base.group_omni_manager").id),
                          Command.link(cls.env.ref("sales_team.group_sale_manager").id),
                          Command.link(cls.env.ref("account.group_account_invoice").id)],
            "company_ids": [Command.set(cls.env.company.ids)], "company_id": cls.env.company.id,
        })
        cls.clerk = cls.env["res.users"].create({
            "name": "Clerk", "login": "omni_clerk",
            "group_ids": [Command.link(cls.env.ref("sales_team.group_sale_salesman_all_leads").id),
                          Command.link(cls.env.ref("account.group_account_invoice").id)],
            "company_ids": [Command.set(cls.env.company.ids)], "company_id": cls.env.company.id,
        })

    def _activities(self, record):
        return record.activity_ids.filtered(lambda activity: activity.user_id == self.approver)

    def _reject(self, record, reason):
        action = record.with_user(self.approver).action_omni_reject() if record._name == "sale.order" else \
            record.with_user(self.approver).action_omni_reject_refund()
        wizard = self.env[action["res_model"]].with_user(self.approver).with_context(**action["context"]).create(
            {"reason": reason})
        wizard.action_reject()


@tagged("post_install", "-at_install", "omni")
class TestGovernanceOrderApproval(GovernanceCommon):
    def test_order_above_the_threshold_waits_then_is_confirmed_on_approval(self):
        self.backend.order_approval_threshold = 100
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727())
        self.assertEqual(sale.state, "draft", "created, not confirmed")
        self.assertEqual(sale.omni_approval_state, "pending")
        self.assertIn("above the approval threshold", sale.omni_approval_reason)
        self.assertFalse(sale.invoice_ids)
        self.assertFalse(sale.omni_payment_ids)
        activity = self._activities(sale)
        self.assertEqual(len(activity), 1, "one activity per approver")
        self.assertIn("Approve order", activity.summary)
        # a non-approver cannot approve, over RPC or not
        with self.assertRaises(AccessError):
            sale.with_user(self.clerk).action_omni_approve()
        sale.with_user(self.approver).action_omni_approve()
        self.assertEqual(sale.omni_approval_state, "approved")
        self.assertEqual(sale.state, "sale", "the workflow ran on approval")
        self.assertEqual(sale.invoice_ids.state, "posted")
        self.assertEqual(sale.omni_payment_ids.memo, "ch_3QWooStripe00727")
        self.assertFalse(self._activities(sale), "the activity is done")
        bodies = " ".join(sale.message_ids.mapped("body"))
        self.assertIn("Order approved by Approver", bodies)
        self.assertIn("Approved by Approver", bodies, "the activity's feedback is kept in the chatter")
        self.assertFalse(sale.sudo().omni_held_order)
        with self.assertRaises(UserError):
            sale.with_user(self.approver).action_omni_approve()

    def test_order_below_the_threshold_flows(self):
        self.backend.order_approval_threshold = 1000
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727())
        self.assertEqual(sale.state, "sale")
        self.assertFalse(sale.omni_approval_state)

    def test_first_order_of_a_new_customer_waits_at_the_lower_amount(self):
        self.backend.write({"order_approval_threshold": 1000, "new_customer_approval_threshold": 50})
        first = self.Importer._omni_import_order(self.backend, woocommerce_727())
        self.assertEqual(first.omni_approval_state, "pending")
        self.assertIn("new customer", first.omni_approval_reason)
        first.with_user(self.approver).action_omni_approve()
        self.assertEqual(first.state, "sale")
        second = self.Importer._omni_import_order(
            self.backend, woocommerce_727(external_id="728", name="728"))
        self.assertNotEqual(second, first)
        self.assertEqual(second.partner_id, first.partner_id)
        self.assertFalse(second.omni_approval_state, "a known customer")
        self.assertEqual(second.state, "sale")

    def test_channel_update_while_waiting_keeps_it_waiting_and_applies_the_latest_on_approval(self):
        self.backend.order_approval_threshold = 100
        pending = woocommerce_727(financial_status="pending", payments=[])
        sale = self.Importer._omni_import_order(self.backend, pending)
        self.assertEqual(sale.omni_approval_state, "pending")
        paid = woocommerce_727(updated_at=pending.updated_at.replace(hour=20))
        self.assertEqual(self.Importer._omni_import_order(self.backend, paid), sale)
        self.assertEqual(sale.state, "draft", "still waiting")
        self.assertFalse(sale.omni_payment_ids)
        sale.with_user(self.approver).action_omni_approve()
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.omni_payment_ids.memo, "ch_3QWooStripe00727", "the paid version applied")

    def test_rejection_cancels_the_quotation_and_records_why(self):
        self.backend.order_approval_threshold = 100
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727())
        self._reject(sale, "Customer unknown to the B2B team")
        self.assertEqual(sale.omni_approval_state, "rejected")
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(sale.omni_approval_reason, "Customer unknown to the B2B team")
        self.assertIn("Customer unknown to the B2B team", " ".join(sale.message_ids.mapped("body")))
        self.assertFalse(self._activities(sale))
        # a later channel change does not revive it: a person is told (the event is blocked)
        with self.assertRaises(BusinessError):
            self.Importer._omni_import_order(self.backend, woocommerce_727(
                updated_at=woocommerce_727().updated_at.replace(hour=21), note="changed"))
        self.assertEqual(sale.state, "cancel")


@tagged("post_install", "-at_install", "omni")
class TestGovernanceRefundApproval(GovernanceCommon):
    def setUp(self):
        super().setUp()
        self.backend.refund_approval_threshold = 20
        self.sale = self.Importer._omni_import_order(self.backend, shopify_1042())

    def _odoo_credit_note(self, quantity=1):
        shirt_line = self.sale.order_line.filtered(lambda line: line.product_id.default_code == "TSHIRT-BLK-M")
        credit_note = self.env["account.move"].create({
            "move_type": "out_refund",
            "partner_id": self.sale.partner_invoice_id.id,
            "currency_id": self.eur.id,
            "invoice_origin": self.sale.name,
            "invoice_line_ids": [Command.create({
                "product_id": shirt_line.product_id.id, "quantity": quantity, "price_unit": 29.0, "discount": 10.0,
                "tax_ids": [Command.set(self.tax_19_incl.ids)], "sale_line_ids": [Command.link(shirt_line.id)],
            })],
        })
        credit_note.action_post()
        return credit_note

    def test_refund_above_the_threshold_waits_for_approval(self):
        credit_note = self._odoo_credit_note()  # 26.10 EUR = 29.00 USD > 20
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.omni_refund_sale_id, self.sale)
        self.assertEqual(credit_note.omni_refund_approval_state, "pending")
        self.assertTrue(credit_note._omni_refund_waits())
        activity = self._activities(credit_note)
        self.assertEqual(len(activity), 1)
        self.assertIn("Approve refund", activity.summary)
        with self.assertRaises(AccessError):
            credit_note.with_user(self.clerk).action_omni_approve_refund()
        credit_note.with_user(self.approver).action_omni_approve_refund()
        self.assertEqual(credit_note.omni_refund_approval_state, "approved")
        self.assertFalse(credit_note._omni_refund_waits())
        self.assertFalse(self._activities(credit_note))
        self.assertIn("Refund approved by Approver", " ".join(credit_note.message_ids.mapped("body")))

    def test_rejected_refund_records_why_and_is_never_pushed(self):
        credit_note = self._odoo_credit_note()
        self._reject(credit_note, "Goods never came back")
        self.assertEqual(credit_note.omni_refund_approval_state, "rejected")
        self.assertEqual(credit_note.omni_refund_rejection_reason, "Goods never came back")
        self.assertTrue(credit_note._omni_refund_waits())
        self.assertIn("Goods never came back", " ".join(credit_note.message_ids.mapped("body")))

    def test_refund_below_the_threshold_is_not_held(self):
        self.backend.refund_approval_threshold = 100
        credit_note = self._odoo_credit_note()
        self.assertFalse(credit_note.omni_refund_approval_state)
        self.assertFalse(credit_note.activity_ids)

    def test_inbound_refund_is_never_held(self):
        credit_note = self.Importer._omni_import_refund(self.backend, refund_1042())
        self.assertEqual(credit_note.state, "posted")
        self.assertFalse(credit_note.omni_refund_approval_state, "the channel already refunded: recorded only")
        self.assertFalse(credit_note.activity_ids)
        without_id = self.Importer._omni_import_refund(
            self.backend, replace(refund_1042(), external_id=None, transactions=[],
                                  lines=[replace(refund_1042().lines[0], restock=False)]))
        self.assertFalse(without_id.omni_refund_approval_state)
