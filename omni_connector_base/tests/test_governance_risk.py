"""Governance, risky orders: the channel's risk level meets the channel's policy (hold for review,
cancel on the channel, ignore); a hold is an exception of its own category with release and
cancel actions."""

from odoo.tests import tagged

from .order_factory import woocommerce_727
from .test_governance_approvals import GovernanceCommon


@tagged("post_install", "-at_install", "omni")
class TestGovernanceRisk(GovernanceCommon):
    def _risk_exception(self, sale):
        return self.env["omni.exception"].search([("res_model", "=", "sale.order"), ("res_id", "=", sale.id),
                                                  ("category", "=", "risk")])

    def _cancel_events(self):
        return self.env["omni.event"].search([("backend_id", "=", self.backend.id), ("direction", "=", "out"),
                                              ("topic", "=", "orders/cancel")])

    def test_high_risk_order_is_held_until_released_from_its_exception(self):
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727(risk_level="high"))
        self.assertEqual(sale.state, "draft", "created but not confirmed")
        self.assertEqual((sale.omni_risk_level, sale.omni_risk_state), ("high", "held"))
        self.assertFalse(sale.omni_payment_ids)
        exception = self._risk_exception(sale)
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.state, "open")
        self.assertIn("risk_release", exception.action_codes)
        self.assertIn("Risky order 727 held for review", exception.message)
        # the same version again, or an update, does not raise a second exception nor confirm
        self.Importer._omni_import_order(self.backend, woocommerce_727(
            risk_level="high", updated_at=woocommerce_727().updated_at.replace(hour=20)))
        self.assertEqual(len(self._risk_exception(sale)), 1)
        self.assertEqual(sale.state, "draft")
        exception.with_user(self.approver).action_risk_release()
        self.assertEqual(sale.omni_risk_state, "released")
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.omni_payment_ids.memo, "ch_3QWooStripe00727")
        self.assertEqual(exception.state, "resolved")
        self.assertIn("released by Approver", " ".join(sale.message_ids.mapped("body")))
        self.assertFalse(self._cancel_events())

    def test_cancel_from_the_exception_cancels_in_odoo_and_queues_the_channel_cancel(self):
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727(risk_level="high"))
        action = self._risk_exception(sale).with_user(self.approver).action_risk_cancel()
        wizard = self.env[action["res_model"]].with_user(self.approver).with_context(**action["context"]).create(
            {"reason": "Card reported stolen"})
        wizard.action_reject()
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(sale.omni_risk_state, "cancelled")
        self.assertEqual(self._risk_exception(sale).state, "resolved")
        event = self._cancel_events()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.resource_key, "727")
        self.assertEqual(event._omni_payload_json()["note"], "Card reported stolen")

    def test_cancel_policy_cancels_at_import(self):
        self.backend.risk_policy = "cancel"
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727(risk_level="high"))
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(sale.omni_risk_state, "cancelled")
        self.assertFalse(sale.invoice_ids)
        self.assertEqual(len(self._cancel_events()), 1)
        self.assertFalse(self._risk_exception(sale))

    def test_level_below_the_policy_and_ignore_policy_flow(self):
        medium = self.Importer._omni_import_order(self.backend, woocommerce_727(risk_level="medium"))
        self.assertEqual(medium.state, "sale", "the policy acts on high by default")
        self.assertEqual(medium.omni_risk_level, "medium")
        self.backend.risk_min_level = "medium"
        held = self.Importer._omni_import_order(self.backend, woocommerce_727(
            external_id="728", name="728", risk_level="medium"))
        self.assertEqual(held.omni_risk_state, "held")
        self.backend.risk_policy = "ignore"
        ignored = self.Importer._omni_import_order(self.backend, woocommerce_727(
            external_id="729", name="729", risk_level="high"))
        self.assertEqual(ignored.state, "sale")
        self.assertEqual(ignored.omni_risk_level, "high", "still shown on the order")
        self.assertFalse(ignored.omni_risk_state)

    def test_approval_and_risk_both_must_clear(self):
        self.backend.order_approval_threshold = 100
        sale = self.Importer._omni_import_order(self.backend, woocommerce_727(risk_level="high"))
        self.assertEqual((sale.omni_approval_state, sale.omni_risk_state), ("pending", "held"))
        sale.with_user(self.approver).action_omni_approve()
        self.assertEqual(sale.state, "draft", "the risk review still holds it")
        sale.with_user(self.approver).action_omni_release()
        self.assertEqual(sale.state, "sale")
