"""A WooCommerce fraud plugin's order meta (the backend's ``risk_meta_key``) becomes the order's
risk level, and the backend's risk policy holds a high-risk order, end to end through the webhook."""

from odoo.tests import tagged

from .common import WooCase, order_727

SCORE_KEY = "_wc_af_score"  # WooCommerce Anti-Fraud's score 0-100


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceRisk(WooCase):
    def _order(self, score, **overrides):
        payload = order_727(**overrides)
        payload["meta_data"] = [*payload["meta_data"], {"id": 13200, "key": SCORE_KEY, "value": score}]
        return payload

    def _import(self, payload):
        self.sim.add_order(payload)
        self.assertEqual(self.send(), [200])
        self.process()
        self.assertEqual(self.events(resource_key=str(payload["id"])).state, "done")
        return self.sale_orders(payload["id"])

    def _risk_exception(self, sale):
        return self.env["omni.exception"].search([("res_model", "=", "sale.order"), ("res_id", "=", sale.id),
                                                  ("category", "=", "risk")])

    def test_high_risk_order_is_held_by_the_backends_risk_policy_until_released(self):
        self.backend.write({"risk_meta_key": SCORE_KEY, "risk_policy": "hold", "risk_min_level": "high"})
        self.subscribe(topics=("order.created",))
        sale = self._import(self._order("85"))
        self.assertEqual((sale.omni_risk_level, sale.omni_risk_state), ("high", "held"))
        self.assertEqual(sale.state, "draft", "held: a quotation, not confirmed")
        self.assertFalse(sale.invoice_ids)
        exception = self._risk_exception(sale)
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.state, "open")
        self.assertIn("Risky order 727 held for review", exception.message)
        exception.action_risk_release()
        self.assertEqual(sale.omni_risk_state, "released")
        self.assertEqual(sale.state, "sale")
        self.assertEqual(exception.state, "resolved")

    def test_low_score_or_no_key_configured_is_not_held(self):
        self.subscribe(topics=("order.created",))
        unread = self._import(self._order("85"))
        self.assertEqual(unread.state, "sale", "no risk_meta_key on the backend: the meta is not read")
        self.assertFalse(unread.omni_risk_level)
        self.backend.risk_meta_key = SCORE_KEY
        low = self._import(self._order("12", id=728, number="728"))
        self.assertEqual((low.state, low.omni_risk_level), ("sale", "low"))
        self.assertFalse(low.omni_risk_state)
        self.assertFalse(self._risk_exception(low))
