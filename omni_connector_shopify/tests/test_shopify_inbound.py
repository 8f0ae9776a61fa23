"""Shopify -> Odoo: signed webhooks through /omni/webhook/<id>, processed like the cron does."""

import json
from datetime import datetime

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import (
    LOCATION,
    MUG_LINE,
    ORDER_ID,
    SHIRT_LINE,
    SHOP,
    ShopifyCase,
    dumps,
    fixture,
    fixture_bytes,
)


@tagged("post_install", "-at_install", "omni")
class TestShopifyOrderWebhooks(ShopifyCase):
    def _authorized(self, order_id=ORDER_ID, **overrides):
        """A card authorization not captured yet: confirmed by the default workflow, not invoiced."""
        overrides.setdefault("financial_status", "authorized")
        return self.order_payload(order_id, **overrides)

    def test_order_1042_end_to_end(self):
        """The fixture order, signed like Shopify: one confirmed, invoiced, paid sale order to the cent."""
        payload = fixture("orders_create.json")
        self.seed_order(payload)  # the shop knows the order's transactions; the webhook body does not
        headers = json.loads(fixture_bytes("orders_create.headers.json"))
        delivery = self.sender.build(
            "orders/create",
            fixture_bytes("orders_create.json"),
            webhook_id=headers["X-Shopify-Webhook-Id"],
            event_id=headers["X-Shopify-Event-Id"],
            triggered_at=headers["X-Shopify-Triggered-At"],
        )
        self.assertEqual(self.post_delivery(delivery), 200)
        event = self.events()
        self.assertEqual(len(event), 1)
        self.assertEqual((event.state, event.topic, event.resource_key), ("pending", "orders/create", ORDER_ID))
        self.assertEqual(event.idempotency_key, headers["X-Shopify-Webhook-Id"])
        self.assertEqual(event.source_ts, datetime(2026, 11, 20, 9, 14, 5), "the order's updated_at, in UTC")
        self.assertEqual(json.loads(event.headers)["X-Shopify-Triggered-At"], headers["X-Shopify-Triggered-At"])
        self.assertNotIn("Hmac", event.headers)
        self.assertFalse(self.sale_orders(), "intake creates no business record")

        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        sale = self.sale_orders()
        self.assertEqual(event.res_id, sale.id)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.currency_id, self.eur)
        self.assertEqual(sale.amount_total, 70.60)
        self.assertAlmostEqual(sale.amount_tax, 11.27, places=2)
        self.assertEqual(sale.client_order_ref, "#1042")
        products = sale.order_line.filtered(lambda line: line.product_id in (self.shirt | self.mug))
        self.assertEqual(len(products), 2)
        shirt = products.filtered(lambda line: line.product_id == self.shirt)
        self.assertEqual(
            (shirt.product_uom_qty, shirt.price_unit, shirt.discount),
            (2, 29.0, 10.0),
            "channel prices kept, the code discount visible",
        )
        self.assertEqual(products.tax_ids, self.tax_19_incl)
        shipping = sale.order_line.filtered(lambda line: line.product_id == self.backend.shipping_product_id)
        self.assertEqual((len(shipping), shipping.price_unit), (1, 4.90))
        self.assertEqual(shipping.tax_ids, self.tax_19_incl)
        payment = sale.omni_payment_ids
        self.assertEqual(payment.amount, 70.60)
        self.assertEqual(payment.journal_id.name, "shopify_payments clearing")
        self.assertEqual(payment.memo, "7301000001", "referenced by Shopify's transaction, read through the API")
        self.assertEqual(payment.omni_transaction_id, "7301000001")
        self.assertIn(sale.invoice_ids.payment_state, ("paid", "in_payment"))
        self.assertEqual(len(self.sim_requests("order")), 1, "one API read for the transactions")

    def test_payment_inferred_without_credentials(self):
        """Without credentials the mapper's inference stands: paid, referenced by the order."""
        self.backend.sudo().shopify_access_token = False
        self.assertEqual(self.deliver("orders/create", fixture_bytes("orders_create.json")), 200)
        self.process()
        sale = self.sale_orders()
        self.assertEqual(sale.omni_payment_ids.amount, 70.60)
        self.assertEqual(sale.omni_payment_ids.memo, "#1042:shopify_payments")
        self.assertFalse(self.sim_requests("order"))

    def test_refund_1042_credit_note_and_return(self):
        payload = fixture("orders_create.json")
        self.seed_order(payload)
        self.deliver("orders/create", fixture_bytes("orders_create.json"))
        self.process()
        sale = self.sale_orders()
        self.ship(sale.picking_ids)
        self.assertEqual(self.deliver("refunds/create", fixture_bytes("refunds_create.json")), 200)
        self.process()
        refund_event = self.events(topic="refunds/create", direction="in")
        self.assertEqual(refund_event.state, "done", refund_event.last_error)
        credit_note = self.env["account.move"].browse(refund_event.res_id)
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.amount_total, 26.10)
        self.assertAlmostEqual(credit_note.amount_tax, 4.17, places=2)
        self.assertEqual(credit_note.omni_external_id, "96040001")
        returned = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returned.state, "done")
        self.assertEqual((returned.move_ids.product_id, returned.move_ids.quantity), (self.shirt, 1))
        refund_payment = self.env["account.payment"].search([("memo", "=", "7301000002")])
        self.assertEqual((refund_payment.payment_type, refund_payment.amount), ("outbound", 26.10))
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        # Shopify retries the same delivery with a new id: still one credit note.
        self.deliver("refunds/create", fixture_bytes("refunds_create.json"))
        self.process()
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)

    @mute_logger("odoo.addons.omni_connector_base.controllers.webhook")
    def test_signature_failures(self):
        body = fixture_bytes("orders_create.json")
        wrong_secret = self.sender.build("orders/create", body, secret="not-the-app-secret")
        self.assertEqual(self.post_delivery(wrong_secret), 401)
        tampered = self.sender.build("orders/create", body)
        tampered.body = body.replace(b'"70.60"', b'"0.60"')
        self.assertEqual(self.post_delivery(tampered), 401)
        missing = self.sender.build("orders/create", body)
        del missing.headers["X-Shopify-Hmac-Sha256"]
        self.assertEqual(self.post_delivery(missing), 401)
        other_shop = self.sender.build("orders/create", body)
        other_shop.headers["X-Shopify-Shop-Domain"] = "someone-else.myshopify.com"
        self.assertEqual(self.post_delivery(other_shop), 401, "the app secret is shared by every shop")
        self.assertFalse(self.events())
        counted = {}  # one row per backend, reason and minute, with a counter
        for row in self.env["omni.webhook.rejection"].search([("backend_id", "=", self.backend.id)]):
            counted[row.reason] = counted.get(row.reason, 0) + row.count
        self.assertEqual(counted, {"bad signature": 2, "missing signature": 1, "wrong shop": 1})
        # An unknown topic, correctly signed, is acknowledged and ignored.
        self.assertEqual(self.deliver("products/update", {"id": 1}), 200)
        self.assertFalse(self.events())

    def test_duplicate_and_out_of_order_deliveries(self):
        created = self._authorized(updated_at="2026-11-20T10:14:05+01:00")
        updated = self.one_shirt(self._authorized(updated_at="2026-11-20T11:30:00+01:00"))
        late_update = self.sender.build("orders/updated", dumps(updated))
        first = self.sender.build("orders/create", dumps(created))
        # Shopify delivers the update first, then the creation, then retries the update.
        self.assertEqual(self.post_delivery(late_update), 200)
        self.assertEqual(self.post_delivery(first), 200)
        self.assertEqual(self.post_delivery(late_update), 200)
        self.assertEqual(len(self.events()), 2, "the retried delivery is stored once")
        self.process()
        self.assertEqual(self.events().mapped("state"), ["done", "done"])
        sale = self.sale_orders()
        self.assertEqual(len(sale), 1)
        shirt = sale.order_line.filtered(lambda line: line.product_id == self.shirt)
        self.assertEqual(shirt.product_uom_qty, 1, "applied in source order: the update wins")
        self.assertAlmostEqual(sale.amount_total, 44.50, places=2)
        # A stale version arriving later (another delivery of the creation) changes nothing.
        self.assertEqual(self.deliver("orders/create", created), 200)
        self.process()
        stale = self.events()[-1]
        self.assertEqual(stale.state, "skipped")
        self.assertEqual(shirt.product_uom_qty, 1)

    def test_updated_without_change_is_a_no_op(self):
        """orders/updated fires on every tag or fulfillment change: nothing to redo, nothing blocked."""
        payload = fixture("orders_create.json")
        self.seed_order(payload)
        self.deliver("orders/create", payload)
        self.process()
        sale = self.sale_orders()
        invoice = sale.invoice_ids
        noise = self.order_payload(updated_at="2026-11-21T08:00:00+01:00", tags="vip, gift", fulfillment_status=None)
        self.assertEqual(self.deliver("orders/updated", noise), 200)
        self.process()
        event = self.events()[-1]
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(event.res_id, sale.id)
        self.assertFalse(event.exception_ids)
        self.assertEqual(sale.invoice_ids, invoice)
        binding = self.env["omni.binding"]._omni_bindings(self.backend, "sale.order", [ORDER_ID])[ORDER_ID]
        self.assertEqual(binding.external_updated_at, datetime(2026, 11, 21, 7, 0, 0))

    def test_edit_before_shipping(self):
        self.deliver("orders/create", self._authorized())
        self.process()
        sale = self.sale_orders()
        self.assertEqual(sale.state, "sale")
        self.assertFalse(sale.invoice_ids)
        edited = self.one_shirt(self._authorized(updated_at="2026-11-20T12:00:00+01:00"))
        self.deliver("orders/updated", edited)
        self.process()
        self.assertEqual(self.events()[-1].state, "done", self.events()[-1].last_error)
        self.assertEqual(sale.order_line.filtered(lambda line: line.product_id == self.shirt).product_uom_qty, 1)
        self.assertAlmostEqual(sale.amount_total, 44.50, places=2)

    def test_cancel(self):
        self.deliver("orders/create", self._authorized())
        self.process()
        sale = self.sale_orders()
        picking = sale.picking_ids
        cancelled = self._authorized(
            updated_at="2026-11-20T13:00:00+01:00",
            financial_status="voided",
            cancelled_at="2026-11-20T13:00:00+01:00",
            cancel_reason="customer",
        )
        self.assertEqual(self.deliver("orders/cancelled", cancelled), 200)
        self.process()
        self.assertEqual(self.events()[-1].state, "done", self.events()[-1].last_error)
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(picking.state, "cancel")

    def test_test_orders_skipped_or_flagged(self):
        self.deliver("orders/create", self._authorized("5829417091301", name="#T1", test=True))
        self.process()
        self.assertEqual(self.events().state, "skipped")
        self.assertFalse(self.sale_orders("5829417091301"))
        self.backend.import_test_orders = True
        self.deliver("orders/create", self._authorized("5829417091302", name="#T2", test=True))
        self.process()
        sale = self.sale_orders("5829417091302")
        self.assertTrue(sale.shopify_is_test)

    def test_app_uninstalled(self):
        body = {"id": 48000001, "name": "Acme Retail", "domain": SHOP, "myshopify_domain": SHOP}
        self.assertEqual(self.deliver("app/uninstalled", body), 200)
        self.process()
        self.assertEqual(self.events().state, "done")
        backend = self.backend.with_context(active_test=False)
        self.assertFalse(backend.active)
        self.assertFalse(backend.sudo().shopify_access_token)
        exception = self.env["omni.exception"].search([("backend_id", "=", backend.id)])
        self.assertEqual((exception.severity, exception.state), ("critical", "open"))
        self.assertIn("uninstalled", exception.message)
        with mute_logger("odoo.addons.omni_connector_base.controllers.webhook"):
            self.assertEqual(self.deliver("orders/create", fixture_bytes("orders_create.json")), 404)

    def test_backstop_poll_after_lost_webhook(self):
        """Order A arrives by webhook; B's webhook is lost. The poll repairs B and leaves A alone."""
        order_a = fixture("orders_create.json")
        order_b = self.order_payload("5829417091299", name="#1043", updated_at="2026-11-20T15:00:00+01:00")
        self.seed_order(order_a)
        self.seed_order(
            order_b,
            transactions=[
                {
                    "id": 7301000043,
                    "kind": "sale",
                    "status": "success",
                    "gateway": "shopify_payments",
                    "amount": "70.60",
                    "currency": "EUR",
                    "processed_at": "2026-11-20T15:00:00+01:00",
                }
            ],
        )
        self.deliver("orders/create", order_a)
        self.process()
        sale_a = self.sale_orders()
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        self.backend.action_shopify_sync_orders()
        polled = self.events(topic="orders/polled")
        self.assertEqual(len(polled), 2)
        self.process()
        self.assertEqual(polled.mapped("state"), ["done", "done"], polled.mapped("last_error"))
        self.assertEqual(self.sale_orders(), sale_a, "the order delivered by webhook is not imported twice")
        sale_b = self.sale_orders("5829417091299")
        self.assertEqual(len(sale_b), 1)
        self.assertEqual(sale_b.omni_payment_ids.memo, "7301000043")
        self.assertEqual(len(self.env["sale.order"].search([("omni_backend_id", "=", self.backend.id)])), 2)
        self.assertEqual(polled.filtered(lambda e: e.resource_key == ORDER_ID).res_id, sale_a.id)
        # Polling again (the overlap re-reads everything) stores nothing new.
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        self.backend.action_shopify_sync_orders()
        self.assertEqual(len(self.events(topic="orders/polled")), 2)

    # ------------------------------------------- the poll repairs lost refunds (issue 10, item 16)
    def _shipped_order_with_refund_in_shop(self):
        """Order 1042 imported by webhook and shipped; Shopify then holds refund 96040001 on it."""
        self.seed_order(fixture("orders_create.json"))
        self.deliver("orders/create", fixture_bytes("orders_create.json"))
        self.process()
        sale = self.sale_orders()
        self.ship(sale.picking_ids)
        refund = json.loads(dumps(fixture("refunds_create.json")))
        self.sim.add_refund(ORDER_ID, self.sim_module.graphql_refund_from_rest(refund))
        return sale

    def _poll(self):
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        return self.backend._shopify_poll_orders()

    def _credit_notes(self, sale):
        return sale.invoice_ids.filtered(lambda move: move.move_type == "out_refund")

    def test_poll_repairs_a_lost_refund_webhook_exactly_once(self):
        """The refunds/create webhook is lost: the next poll reads the order's refunds and makes the
        credit note, return and refund payment once; later polls and a late webhook add nothing."""
        sale = self._shipped_order_with_refund_in_shop()
        self._poll()
        polled = self.events(topic="refunds/polled")
        self.assertEqual(len(polled), 1)
        self.assertEqual((polled.resource_model, polled.resource_key), ("account.move", ORDER_ID))
        self.process()
        self.assertEqual(polled.state, "done", polled.last_error)
        credit_note = self._credit_notes(sale)
        self.assertEqual(len(credit_note), 1)
        self.assertEqual((polled.res_model, polled.res_id), ("account.move", credit_note.id))
        self.assertEqual((credit_note.amount_total, credit_note.omni_external_id), (26.10, "96040001"))
        returned = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(
            (returned.state, returned.move_ids.product_id, returned.move_ids.quantity), ("done", self.shirt, 1)
        )
        refund_payment = self.env["account.payment"].search([("memo", "=", "7301000002")])
        self.assertEqual((refund_payment.payment_type, refund_payment.amount), ("outbound", 26.10))
        # Polling again stores nothing (the refund is bound); the webhook arriving late changes nothing.
        self.assertEqual(self._poll()[0], 0)
        self.assertEqual(len(self.events(topic="refunds/polled")), 1)
        self.deliver("refunds/create", fixture_bytes("refunds_create.json"))
        self.process()
        late = self.events(topic="refunds/create", direction="in")
        self.assertEqual((late.state, late.res_id), ("done", credit_note.id), late.last_error)
        self.assertEqual(self._credit_notes(sale), credit_note)
        self.assertEqual(len(sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")), 1)
        self.assertEqual(self.env["account.payment"].search_count([("memo", "=", "7301000002")]), 1)

    def test_refund_by_webhook_and_by_poll_is_one_credit_note(self):
        """The webhook is stored but not processed yet when the poll reads the same refund: both
        events end done on the one credit note; once bound, a poll does not store it again."""
        sale = self._shipped_order_with_refund_in_shop()
        self.assertEqual(self.deliver("refunds/create", fixture_bytes("refunds_create.json")), 200)
        self._poll()
        webhook = self.events(topic="refunds/create", direction="in")
        polled = self.events(topic="refunds/polled")
        self.assertEqual((len(webhook), len(polled)), (1, 1))
        self.process()
        credit_note = self._credit_notes(sale)
        self.assertEqual(len(credit_note), 1)
        self.assertEqual([(e.state, e.res_id) for e in webhook | polled], [("done", credit_note.id)] * 2,
                         (webhook | polled).mapped("last_error"))
        self.assertEqual(len(sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")), 1)
        self.assertEqual(self.env["account.payment"].search_count([("memo", "=", "7301000002")]), 1)
        self.events(topic="refunds/polled").unlink()
        self.events(topic="orders/polled").unlink()  # so the poll reads this order version again
        self.assertEqual(self._poll()[0], 1, "the order version again, not the bound refund")
        self.assertFalse(self.events(topic="refunds/polled"))


@tagged("post_install", "-at_install", "omni")
class TestShopifyFulfillmentWebhooks(ShopifyCase):
    """Shopify ships (Shopify handles deliveries): its fulfillments validate Odoo's delivery."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.shopify_handles_delivery = True

    def _fulfillment(self, fulfillment_id, lines, number="00340434161234567890", **extra):
        body = {
            "id": fulfillment_id,
            "order_id": int(ORDER_ID),
            "status": "success",
            "created_at": "2026-11-21T09:00:00+01:00",
            "updated_at": "2026-11-21T09:00:00+01:00",
            "location_id": int(LOCATION.rsplit("/", 1)[1]),
            "tracking_company": "DHL",
            "tracking_number": number,
            "tracking_numbers": [number],
            "tracking_url": f"https://www.dhl.de/track?piececode={number}",
            "tracking_urls": [f"https://www.dhl.de/track?piececode={number}"],
            "notify_customer": True,
            "line_items": [{"id": line_id, "quantity": quantity} for line_id, quantity in lines],
        }
        body.update(extra)
        return body

    def test_partial_fulfillment_validates_delivery_with_backorder(self):
        self.deliver("orders/create", self.order_payload(financial_status="authorized"))
        self.process()
        sale = self.sale_orders()
        picking = sale.picking_ids
        self.deliver("fulfillments/create", self._fulfillment(4075788001, [(SHIRT_LINE, 1)]))
        self.process()
        event = self.events(topic="fulfillments/create")
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(event.res_id, picking.id)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.filtered(lambda m: m.product_id == self.shirt).quantity, 1)
        self.assertEqual(picking.shopify_tracking_number, "00340434161234567890")
        self.assertEqual(picking.shopify_carrier, "DHL")
        backorder = sale.picking_ids - picking
        self.assertNotIn(backorder.state, ("done", "cancel"))
        self.assertEqual(sorted(backorder.move_ids.mapped("product_uom_qty")), [1.0, 1.0])
        self.assertFalse(self.events(direction="out"), "no echo back to Shopify")
        # The tracking number changes: only the tracking is refreshed.
        self.deliver(
            "fulfillments/update",
            self._fulfillment(
                4075788001, [(SHIRT_LINE, 1)], number="JJD000111", updated_at="2026-11-21T10:00:00+01:00"
            ),
        )
        self.process()
        self.assertEqual(self.events(topic="fulfillments/update").state, "done")
        self.assertEqual(picking.shopify_tracking_number, "JJD000111")
        self.assertNotIn(backorder.state, ("done", "cancel"))
        # The rest ships.
        self.deliver(
            "fulfillments/create", self._fulfillment(4075788002, [(SHIRT_LINE, 1), (MUG_LINE, 1)], number="JJD000222")
        )
        self.process()
        self.assertEqual(backorder.state, "done")
        self.assertEqual(sale.order_line.filtered(lambda line: line.product_id == self.shirt).qty_delivered, 2)

    def test_fulfillment_ignored_when_odoo_ships(self):
        self.backend.shopify_handles_delivery = False
        self.deliver("orders/create", self.order_payload(financial_status="authorized"))
        self.process()
        self.deliver("fulfillments/create", self._fulfillment(4075788003, [(SHIRT_LINE, 2), (MUG_LINE, 1)]))
        self.process()
        self.assertEqual(self.events(topic="fulfillments/create").state, "skipped")
        self.assertNotEqual(self.sale_orders().picking_ids.state, "done")


    # -------------------------------------- the poll repairs lost fulfillments (issue 10, item 16)
    def _fulfillment_node(self, *args, **kwargs):
        return self.sim_module.graphql_fulfillment_from_rest(json.loads(dumps(self._fulfillment(*args, **kwargs))))

    def _poll(self):
        self.backend.shopify_poll_checkpoint = datetime(2026, 11, 20, 0, 0)
        return self.backend._shopify_poll_orders()

    def _ordered(self):
        payload = self.order_payload(financial_status="authorized")
        self.seed_order(payload, transactions=())
        self.deliver("orders/create", payload)
        self.process()
        return self.sale_orders()

    def test_poll_repairs_a_lost_fulfillment_webhook_exactly_once(self):
        """fulfillments/create is lost: the poll validates the delivery once (backorder for the
        rest) with the tracking; re-polls and the late webhook ship nothing more; a lost
        fulfillments/update (new tracking) is repaired too."""
        sale = self._ordered()
        picking = sale.picking_ids
        self.sim.add_fulfillment(ORDER_ID, self._fulfillment_node(4075788001, [(SHIRT_LINE, 1)]))
        self._poll()
        polled = self.events(topic="fulfillments/polled")
        self.assertEqual(len(polled), 1)
        self.process()
        self.assertEqual((polled.state, polled.res_id), ("done", picking.id), polled.last_error)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.move_ids.filtered(lambda m: m.product_id == self.shirt).quantity, 1)
        self.assertEqual((picking.shopify_carrier, picking.shopify_tracking_number), ("DHL", "00340434161234567890"))
        backorder = sale.picking_ids - picking
        self.assertEqual(sorted(backorder.move_ids.mapped("product_uom_qty")), [1.0, 1.0])
        self.assertEqual(self._poll()[0], 0, "the applied version is not stored again")
        self.deliver("fulfillments/create", self._fulfillment(4075788001, [(SHIRT_LINE, 1)]))
        self.process()
        self.assertEqual(self.events(topic="fulfillments/create").state, "done")
        self.assertNotIn(backorder.state, ("done", "cancel"))
        self.assertEqual(sale.picking_ids, picking | backorder, "nothing validated twice")
        # The tracking changes on Shopify and fulfillments/update is lost too.
        self.sim.add_fulfillment(ORDER_ID, self._fulfillment_node(
            4075788001, [(SHIRT_LINE, 1)], number="JJD000111", updated_at="2026-11-21T10:00:00+01:00"))
        self._poll()
        self.process()
        self.assertEqual(len(self.events(topic="fulfillments/polled")), 2)
        self.assertEqual(picking.shopify_tracking_number, "JJD000111")
        self.assertNotIn(backorder.state, ("done", "cancel"))

    def test_fulfillment_by_webhook_and_by_poll_ships_once(self):
        sale = self._ordered()
        picking = sale.picking_ids
        self.sim.add_fulfillment(ORDER_ID, self._fulfillment_node(4075788001, [(SHIRT_LINE, 1)]))
        self.deliver("fulfillments/create", self._fulfillment(4075788001, [(SHIRT_LINE, 1)]))
        self._poll()
        events = self.events(topic="fulfillments/create") | self.events(topic="fulfillments/polled")
        self.assertEqual(len(events), 2)
        self.process()
        self.assertEqual([(e.state, e.res_id) for e in events], [("done", picking.id)] * 2, events.mapped("last_error"))
        backorder = sale.picking_ids - picking
        self.assertEqual(len(backorder), 1)
        self.assertNotIn(backorder.state, ("done", "cancel"))
        self.assertEqual(sorted(backorder.move_ids.mapped("product_uom_qty")), [1.0, 1.0])

    def test_poll_reads_no_fulfillment_when_odoo_ships(self):
        self.backend.shopify_handles_delivery = False
        self._ordered()
        self.sim.add_fulfillment(ORDER_ID, self._fulfillment_node(4075788003, [(SHIRT_LINE, 2), (MUG_LINE, 1)]))
        self._poll()
        self.assertTrue(self.events(topic="orders/polled"))
        self.assertFalse(self.events(topic="fulfillments/polled"))
