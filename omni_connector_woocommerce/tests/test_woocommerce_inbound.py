"""Store -> Odoo through the webhook intake: every topic, the ping, signatures, duplicates,
collapsed updates, checkout drafts, guest and returning customers."""

import json

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import WEBHOOK_SECRET, WooCase, order_727


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceInbound(WooCase):
    def test_ping_on_creation_is_answered_200_and_stores_nothing(self):
        self.subscribe()
        self.assertEqual([d["status"] for d in self.sim.deliveries], [200] * 4)
        self.assertEqual({d["topic"] for d in self.sim.deliveries}, {"ping"})
        self.assertFalse(self.events())
        self.assertFalse(self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)]))
        # the hook itself: a ping has no event values (the intake answers 200 "ignored")
        self.assertIsNone(self.backend._omni_webhook_event_values(b"webhook_id=7", {}, None))

    def test_order_created_end_to_end(self):
        self.subscribe()
        self.sim.add_order(order_727())
        self.assertEqual(self.send(), [200])
        event = self.events()
        self.assertEqual((event.topic, event.resource_key), ("order.created", "727"))
        self.assertEqual(event.idempotency_key, "727:2026-11-21T17:28:09:order.created")
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        sale = self.sale_orders()
        self.assertEqual(sale.state, "sale")
        self.assertAlmostEqual(sale.amount_total, 119.63, places=2)
        self.assertAlmostEqual(sale.amount_tax, 9.63, places=2)
        self.assertEqual(sale.client_order_ref, "727")
        self.assertEqual(sale.partner_id.email, "john.smith@example.com")
        products = sale.order_line.mapped("product_id")
        self.assertIn(self.hoodie, products)
        self.assertIn(self.beanie, products)
        invoice = sale.invoice_ids
        self.assertEqual(invoice.state, "posted")
        payment = sale.omni_payment_ids
        self.assertEqual(payment.memo, "ch_3QWooStripe00727")
        self.assertEqual(payment.omni_gateway, "stripe")
        self.assertAlmostEqual(payment.amount, 119.63, places=2)
        self.assertEqual(invoice.payment_state, "in_payment" if invoice.payment_state == "in_payment" else "paid")

    def test_bad_signature_and_unsigned_bodies_are_refused(self):
        self.subscribe(secret="not-the-backend-secret")
        self.sim.add_order(order_727())
        self.assertEqual(self.send(), [401])
        body = json.dumps(order_727()).encode()
        self.assertEqual(self.post(body, {"Content-Type": "application/json",
                                          "X-WC-Webhook-Topic": "order.created"}).status_code, 401)
        # a form body that looks like a ping but carries a topic is not a ping
        self.assertEqual(self.post(b"webhook_id=5", {"X-WC-Webhook-Topic": "order.created"}).status_code, 401)
        self.assertFalse(self.events())

    def test_duplicate_delivery_with_a_new_delivery_id_has_no_second_effect(self):
        self.subscribe()
        self.sim.add_order(order_727())
        hook = next(iter(h for h in self.sim.webhooks.values() if h["topic"] == "order.created"))
        _url, body, headers = self.sim.build_delivery(hook, "order.created", 727)
        _url, _body, again = self.sim.build_delivery(hook, "order.created", 727)
        self.assertNotEqual(headers["X-WC-Webhook-Delivery-ID"], again["X-WC-Webhook-Delivery-ID"])
        self.assertEqual(self.post(body, headers).json()["status"], "stored")
        self.assertEqual(self.post(body, again).json()["status"], "duplicate")
        self.process()
        self.assertEqual(len(self.events()), 1)
        self.assertEqual(len(self.sale_orders()), 1)

    def test_collapsed_update_applies_the_latest_state_once(self):
        self.subscribe()
        self.sim.add_order(order_727(status="on-hold", payment_method="bacs", transaction_id="",
                                     date_paid_gmt=None))
        self.send()
        self.process()
        sale = self.sale_orders()
        self.assertEqual(sale.state, "sale", "on-hold: confirmed, awaiting the bank transfer")
        self.assertFalse(sale.omni_payment_ids)
        # two changes before the store's queue runs: one delivery, with the latest state
        self.sim.change_order(727, customer_note="Ring twice")
        self.sim.change_order(727, status="processing", date_paid_gmt="2026-11-22T08:00:00",
                              transaction_id="BACS-0727")
        self.assertEqual(self.send(), [200])
        update = self.events(topic="order.updated")
        self.assertEqual(len(update), 1)
        self.assertEqual(update._omni_payload_json()["status"], "processing")
        self.process()
        self.assertEqual(update.state, "done", update.last_error)
        self.assertEqual(sale.omni_payment_ids.memo, "BACS-0727")
        self.assertEqual(sale.invoice_ids.state, "posted")

    def test_pending_order_is_a_quotation(self):
        self.subscribe()
        self.sim.add_order(order_727(status="pending", date_paid_gmt=None, transaction_id=""))
        self.send()
        self.process()
        self.assertEqual(self.sale_orders().state, "draft")

    def test_checkout_draft_is_ignored_without_exception(self):
        self.subscribe()
        self.sim.add_order(order_727(id=728, number="728", status="checkout-draft"))
        self.send()
        self.process()
        event = self.events()
        self.assertEqual(event.state, "skipped")
        self.assertFalse(self.sale_orders(728))
        self.assertFalse(self.open_exceptions())

    def test_guest_and_returning_customers_dedupe_by_email(self):
        self.subscribe()
        guest = order_727(id=801, number="801", customer_id=0)
        guest["billing"]["email"] = "Guest.Buyer@Example.com"
        self.sim.add_order(guest)
        again = order_727(id=802, number="802", customer_id=0)
        again["billing"]["email"] = "guest.buyer@example.com "
        again["billing"]["first_name"] = "G."
        self.sim.add_order(again)
        self.sim.add_order(order_727(id=803, number="803"))
        self.sim.add_order(order_727(id=804, number="804"))
        self.send()
        self.process()
        first, second = self.sale_orders(801), self.sale_orders(802)
        self.assertTrue(first and second)
        self.assertEqual(first.partner_id, second.partner_id, "one contact per normalized email")
        self.assertEqual(self.sale_orders(803).partner_id, self.sale_orders(804).partner_id)
        self.assertNotEqual(first.partner_id, self.sale_orders(803).partner_id)

    def test_cancelled_and_failed_go_through_the_cancellation_path(self):
        self.subscribe()
        self.sim.add_order(order_727(status="pending", date_paid_gmt=None, transaction_id=""))
        self.sim.add_order(order_727(id=730, number="730", status="failed", date_paid_gmt=None))
        self.send()
        self.process()
        self.sim.change_order(727, status="cancelled")
        self.send()
        self.process()
        self.assertEqual(self.sale_orders().state, "cancel")
        self.assertEqual(self.sale_orders(730).state, "cancel")

    def test_deleted_then_restored(self):
        self.subscribe()
        self.sim.add_order(order_727(status="pending", date_paid_gmt=None, transaction_id=""))
        self.send()
        self.process()
        self.sim.delete_order(727)
        self.send()
        deleted = self.events(topic="order.deleted")
        self.assertEqual(deleted._omni_payload_json(), {"id": 727})
        self.process()
        self.assertEqual(deleted.state, "done", deleted.last_error)
        sale = self.sale_orders()
        self.assertEqual(sale.state, "cancel")
        self.sim.change_order(727, topic="order.restored", status="pending")
        self.send()
        self.process()
        restored = self.events(topic="order.restored")
        self.assertEqual(restored.state, "done", restored.last_error)
        self.assertEqual(sale.state, "draft")

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event_processor")
    def test_unreadable_order_is_blocked_with_the_field_named(self):
        self.subscribe()
        broken = order_727()
        broken["tax_lines"][0].pop("rate_percent")
        self.sim.add_order(broken)
        self.send()
        self.process()
        event = self.events()
        self.assertEqual(event.state, "blocked")
        self.assertIn("tax_lines[0].rate_percent", event.last_error)
        self.assertFalse(self.sale_orders())
        # the rate id mapped on the backend repairs it
        self.backend.woocommerce_tax_rate_ids = [(0, 0, {"rate_id": 1, "percent": 8.75, "name": "CA"})]
        event.action_replay()
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertAlmostEqual(self.sale_orders().amount_total, 119.63, places=2)

    def test_webhook_secret_used_by_the_store_matches(self):
        hooks = self.subscribe()
        self.assertTrue(all(h["secret"] == WEBHOOK_SECRET for h in hooks))
