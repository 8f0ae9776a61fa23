"""Governance on Shopify: the order's riskLevel is read with its transactions (one request) and
meets the channel's risk policy; a rejected risky order is cancelled on Shopify (orderCancel);
an Odoo refund above the threshold is pushed only once approved."""

from odoo import Command
from odoo.tests import tagged

from .common import ORDER_ID, ShopifyCase, fixture


@tagged("post_install", "-at_install", "omni")
class TestShopifyGovernance(ShopifyCase):
    def _import(self, level=None):
        payload = fixture("orders_create.json")
        self.seed_order(payload)
        if level:
            self.sim.set_order_risk(f"gid://shopify/Order/{ORDER_ID}", level)
        self.deliver("orders/create", payload)
        self.process()
        return self.sale_orders()

    def test_high_risk_order_is_held_and_released(self):
        sale = self._import("HIGH")
        self.assertEqual(self.events(direction="in", topic="orders/create").state, "done")
        self.assertEqual((sale.omni_risk_level, sale.omni_risk_state, sale.state), ("high", "held", "draft"))
        self.assertEqual(len(self.sim_requests("order")), 1, "risk read with the transactions, one request")
        exception = self.env["omni.exception"].search([("res_model", "=", "sale.order"), ("res_id", "=", sale.id)])
        self.assertEqual(exception.category, "risk")
        exception.action_risk_release()
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.omni_payment_ids.memo, "7301000001", "the held version's payment, by transaction")

    def test_low_risk_flows(self):
        sale = self._import("LOW")
        self.assertEqual((sale.omni_risk_level, sale.state), ("low", "sale"))

    def test_rejected_risky_order_is_cancelled_on_shopify(self):
        sale = self._import("HIGH")
        action = sale.action_omni_reject()
        self.env[action["res_model"]].with_context(**action["context"]).create(
            {"reason": "Chargeback history"}).action_reject()
        self.assertEqual(sale.state, "cancel")
        event = self.events(direction="out", topic="orders/cancel")
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        (cancel,) = self.sim.cancellations
        self.assertEqual((cancel["order"], cancel["reason"], cancel["staffNote"]),
                         (f"gid://shopify/Order/{ORDER_ID}", "FRAUD", "Chargeback history"))
        # Shopify's orders/cancelled webhook that follows changes nothing more
        cancelled = fixture("orders_create.json")
        cancelled.update(cancelled_at="2026-11-20T12:00:00+01:00", cancel_reason="fraud",
                         updated_at="2026-11-20T12:00:00+01:00")
        self.deliver("orders/cancelled", cancelled)
        self.process()
        self.assertEqual(self.events(direction="in", topic="orders/cancelled").state, "done")
        self.assertEqual(len(self.sim.cancellations), 1)

    def test_cancel_policy_cancels_on_shopify_at_import(self):
        self.backend.risk_policy = "cancel"
        sale = self._import("HIGH")
        self.assertEqual(sale.state, "cancel")
        self.process()
        self.assertEqual(len(self.sim.cancellations), 1)

    def test_refund_above_the_threshold_is_pushed_once_approved(self):
        self.backend.write({"shopify_export_refunds": True, "refund_approval_threshold": 10})
        sale = self._import()
        shirt_line = sale.order_line.filtered(lambda line: line.product_id == self.shirt)
        credit_note = self.env["account.move"].create({
            "move_type": "out_refund", "partner_id": sale.partner_invoice_id.id, "currency_id": self.eur.id,
            "invoice_origin": sale.name,
            "invoice_line_ids": [Command.create({
                "product_id": self.shirt.id, "quantity": 1, "price_unit": 29.0, "discount": 10.0,
                "tax_ids": [Command.set(self.tax_19_incl.ids)], "sale_line_ids": [Command.link(shirt_line.id)]})],
        })
        credit_note.action_post()
        self.assertEqual(credit_note.omni_refund_approval_state, "pending")
        self.assertFalse(self.events(direction="out", topic="refunds/create"), "nothing pushed before approval")
        self.process()
        self.assertFalse(self.sim.refunds)
        credit_note.action_omni_approve_refund()
        event = self.events(direction="out", topic="refunds/create")
        self.assertEqual(len(event), 1, "approval pushes it through the outbox")
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(len(self.sim.refunds), 1)

    def test_neutralized_copy_keeps_no_shopify_credentials(self):
        from odoo.modules.neutralize import neutralize_database  # noqa: PLC0415

        self.backend.sudo().write({"shopify_access_token": "shpat_live_token", "shopify_export_refunds": True})
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        backend = self.backend.sudo()
        self.assertEqual((backend.sandbox, backend.shopify_access_token, backend.shopify_export_refunds),
                         (True, False, False))
        self.assertEqual(backend._omni_run_poll("orders"), (0, 0))
        self.assertFalse(self.sim.requests, "the shop was not reached")
