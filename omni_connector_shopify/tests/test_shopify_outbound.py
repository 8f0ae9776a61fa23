"""Odoo -> Shopify through the outbox: stock levels, fulfillments with tracking, refunds."""

import time
from decimal import Decimal

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MUG_LINE, ORDER_ID, SHIRT_LINE, ShopifyCase, dumps, fixture


@tagged("post_install", "-at_install", "omni")
class TestShopifyStockExport(ShopifyCase):
    def setUp(self):
        super().setUp()
        self.backend.action_shopify_import_variants()
        self.backend._omni_resume()

    def _set_on_hand(self, product, quantity):
        """An inventory adjustment, as a person makes it."""
        self.env["stock.quant"].with_context(inventory_mode=True).create(
            {
                "product_id": product.id,
                "location_id": self.stock_location.id,
                "inventory_quantity": quantity,
            }
        ).action_apply_inventory()

    def _stock_events(self, **domain):
        return self.events(direction="out", topic="inventory/set", **domain)

    def _batch(self, count, prefix):
        """``count`` products with a variant each in Shopify, bound by importing the mapping."""
        products = self.env["product.product"].create(
            [
                {"name": f"{prefix} {n}", "default_code": f"{prefix}-{n:04d}", "type": "consu", "is_storable": True}
                for n in range(count)
            ]
        )
        for product in products:
            self.sim.add_variant(product.default_code, quantity=0)
        mark = len(self.sim.requests)
        self.backend.action_shopify_import_variants()
        pages = self.sim_requests("productVariants", mark)
        return products, pages

    def test_product_mapping_binds_by_sku_and_reports_unmatched(self):
        self.sim.add_variant("NOT-IN-ODOO", quantity=3, variant_id=45110000099)
        action = self.backend.action_shopify_import_variants()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("NOT-IN-ODOO", action["params"]["message"])
        Binding = self.env["omni.binding"]
        bound = Binding._omni_lookup(self.backend, "product.product", ["45110000011", "45110000021", "45110000099"])
        self.assertEqual(bound, {"45110000011": self.shirt, "45110000021": self.mug})
        variant = self.env["omni.shopify.variant"].search(
            [("backend_id", "=", self.backend.id), ("shopify_variant_id", "=", "45110000011")]
        )
        self.assertEqual(variant.inventory_item_id, "gid://shopify/InventoryItem/46220000011")
        unmatched = self.env["omni.shopify.variant"].search(
            [("backend_id", "=", self.backend.id), ("product_id", "=", False)]
        )
        self.assertEqual(unmatched.sku, "NOT-IN-ODOO")
        self.assertEqual(self.backend.shopify_unmatched_count, 1)
        # A person maps it by hand: the binding follows, and the importer will resolve it.
        unmatched.product_id = self.mug
        self.assertEqual(
            Binding._omni_lookup(self.backend, "product.product", ["45110000099"])["45110000099"], self.mug
        )

    def test_600_changes_make_3_calls(self):
        products, pages = self._batch(600, "BATCH")
        self.assertEqual(len(pages), 3, "602 variants read in pages of 250")
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, self.stock_location, 5)
        self.env.cr.flush()
        events = self._stock_events(state="pending")
        self.assertEqual(len(events), 600)
        mark = len(self.sim.requests)
        self.process()
        calls = self.sim_requests("inventorySetQuantities", mark)
        self.assertEqual(len(calls), 3)
        self.assertEqual(set(events.mapped("state")), {"done"})
        variants = self.env["omni.shopify.variant"].search([("product_id", "in", products.ids)])
        self.assertTrue(all(self.sim.quantity(v.inventory_item_id) == 5 for v in variants))
        self.assertEqual(self.sim.throttled_requests, 0)
        # The backstop queues only levels never sent (the fixture's two products) or changed since.
        Variant = self.env["omni.shopify.variant"]
        self.assertEqual(Variant._shopify_enqueue_stock(self.backend), 2)
        self.process()
        self.assertEqual(Variant._shopify_enqueue_stock(self.backend), 0)
        self.assertEqual(Variant._shopify_enqueue_stock(self.backend, force=True), 602)

    def test_changes_of_one_sku_coalesce_into_one_quantity(self):
        for quantity in (5, 7, 3):
            self._set_on_hand(self.shirt, quantity)
            self.env.cr.flush()
        events = self._stock_events()
        self.assertEqual(len(events), 1, "one pending event per inventory item and location")
        mark = len(self.sim.requests)
        self.process()
        (call,) = self.sim_requests("inventorySetQuantities", mark)
        self.assertEqual(self.sim.quantity(self.shirt_variant["inventoryItem"]["id"]), 3)
        self.assertEqual(events.state, "done")
        # Reserving stock for an order lowers what Shopify may sell.
        self.deliver("orders/create", self.order_payload(financial_status="authorized"))
        self.process()
        self.assertEqual(self.sim.quantity(self.shirt_variant["inventoryItem"]["id"]), 1, "3 on hand - 2 reserved")
        self.assertTrue(call["idempotency_key"].startswith("odoo-"))

    def test_unchanged_quantity_is_not_sent(self):
        self._set_on_hand(self.mug, 4)
        self.process()
        mark = len(self.sim.requests)
        self._set_on_hand(self.mug, 9)
        self._set_on_hand(self.mug, 4)  # back to what Shopify has
        self.process()
        self.assertFalse(self.sim_requests("inventorySetQuantities", mark))
        self.assertEqual(set(self._stock_events().mapped("state")), {"done"})

    def test_throttle_is_honoured(self):
        """With a small bucket the third push waits for it to refill instead of being refused."""
        products, _pages = self._batch(600, "THR")
        self.sim.bucket_size, self.sim.restore_rate = 20.0, 10.0  # 2 mutations' worth, 1 more per second
        self.sim.drain_bucket(to=20.0)
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, self.stock_location, 2)
        self.env.cr.flush()
        mark = len(self.sim.requests)
        started = time.monotonic()
        self.process()
        calls = self.sim_requests("inventorySetQuantities", mark)
        self.assertEqual(len(calls), 3)
        self.assertEqual(self.sim.throttled_requests, 0, "no request sent while the bucket was empty")
        self.assertTrue(all(call["available_before"] >= call["requested_cost"] for call in calls))
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "the client waited for the bucket to refill")
        self.assertEqual(set(self._stock_events().mapped("state")), {"done"})

    @mute_logger("odoo.addons.omni_connector_base.models.omni_event")
    def test_transient_failure_retries_then_succeeds(self):
        self._set_on_hand(self.shirt, 6)
        self._set_on_hand(self.mug, 2)
        self.sim.inject_fault("503")
        mark = len(self.sim.requests)
        self.process()
        events = self._stock_events()
        self.assertEqual(events.mapped("state"), ["retry", "retry"], "the batch rolled back, both retry later")
        self.assertEqual(
            len([r for r in self.sim.requests[mark:] if r.get("fault")]),
            1,
            "the breaker kept the second event from calling the failing shop again",
        )
        self.assertIn("503", events[0].last_error)
        self.assertIn("waiting", events[1].last_error)
        # Due again while the breaker is still open: still no call.
        self._omni_make_due(events)
        mark = len(self.sim.requests)
        self.process()
        self.assertEqual(self.sim.requests[mark:], [])
        self.backend._omni_resume()
        self._omni_make_due(events)
        self.process()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(self.sim.quantity(self.shirt_variant["inventoryItem"]["id"]), 6)
        self.assertEqual(self.sim.quantity(self.mug_variant["inventoryItem"]["id"]), 2)

    def test_refused_item_is_flagged_not_blocking(self):
        ghost = self.env["product.product"].create(
            {"name": "Ghost", "default_code": "GHOST", "type": "consu", "is_storable": True}
        )
        self.env["omni.shopify.variant"].create(
            {
                "backend_id": self.backend.id,
                "shopify_variant_id": "45119999999",
                "sku": "GHOST",
                "inventory_item_id": "gid://shopify/InventoryItem/1",
                "product_id": ghost.id,
            }
        )
        self._set_on_hand(ghost, 1)
        self._set_on_hand(self.shirt, 8)
        self.process()
        self.assertEqual(set(self._stock_events().mapped("state")), {"done"})
        self.assertEqual(self.sim.quantity(self.shirt_variant["inventoryItem"]["id"]), 8)
        variant = self.env["omni.shopify.variant"].search([("sku", "=", "GHOST")])
        self.assertIn("could not be found", variant.stock_export_error)
        exception = self.env["omni.exception"].search(
            [("backend_id", "=", self.backend.id), ("resource_key", "=", "shopify:stock:45119999999")]
        )
        self.assertEqual(exception.category, "mapping")


@tagged("post_install", "-at_install", "omni")
class TestShopifyFulfillmentExport(ShopifyCase):
    def setUp(self):
        super().setUp()
        payload = self.order_payload(financial_status="authorized")
        self.seed_order(payload, transactions=())
        self.deliver("orders/create", payload)
        self.process()
        self.sale = self.sale_orders()

    def test_delivery_creates_fulfillment_with_tracking(self):
        picking = self.ship(
            self.sale.picking_ids,
            shopify_carrier="DHL Express",
            shopify_tracking_number="JD014600006281230704",
            shopify_tracking_url="https://www.dhl.com/track?id=JD014600006281230704",
        )
        event = self.events(direction="out", topic="fulfillments/create")
        self.assertEqual(event.resource_key, ORDER_ID)
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        (fulfillment,) = self.sim.fulfillments
        self.assertEqual(
            fulfillment["trackingInfo"],
            [
                {
                    "company": "DHL Express",
                    "number": "JD014600006281230704",
                    "url": "https://www.dhl.com/track?id=JD014600006281230704",
                }
            ],
        )
        self.assertTrue(fulfillment["notifyCustomer"])
        self.assertEqual(
            sorted(fulfillment["lines"]),
            [(f"gid://shopify/LineItem/{SHIRT_LINE}", 2), (f"gid://shopify/LineItem/{MUG_LINE}", 1)],
        )
        bound = self.env["omni.binding"]._omni_external_ids(self.backend, picking)
        self.assertEqual(bound[picking.id], fulfillment["id"].rsplit("/", 1)[1])
        # Replaying the event sends nothing twice.
        event.action_replay()
        self.process()
        self.assertEqual(len(self.sim.fulfillments), 1)

    def test_partial_delivery_makes_partial_fulfillments(self):
        self.backend.shopify_notify_customer = False
        first = self.ship(self.sale.picking_ids, {self.shirt: 1}, shopify_tracking_number="PART-1")
        self.process()
        self.assertEqual(len(self.sim.fulfillments), 1)
        self.assertEqual(self.sim.fulfillments[0]["lines"], [(f"gid://shopify/LineItem/{SHIRT_LINE}", 1)])
        self.assertFalse(self.sim.fulfillments[0]["notifyCustomer"])
        backorder = self.sale.picking_ids - first
        self.ship(backorder, shopify_tracking_number="PART-2")
        self.process()
        self.assertEqual(len(self.sim.fulfillments), 2)
        self.assertEqual(
            sorted(self.sim.fulfillments[1]["lines"]),
            [(f"gid://shopify/LineItem/{SHIRT_LINE}", 1), (f"gid://shopify/LineItem/{MUG_LINE}", 1)],
        )
        (fo,) = self.backend._shopify_call("fulfillment_orders", ORDER_ID)
        self.assertEqual(fo["status"], "CLOSED")
        self.assertEqual(set(self.events(direction="out").mapped("state")), {"done"})


@tagged("post_install", "-at_install", "omni")
class TestShopifyRefundExport(ShopifyCase):
    def setUp(self):
        super().setUp()
        self.backend.shopify_export_refunds = True
        payload = fixture("orders_create.json")
        self.seed_order(payload)
        self.deliver("orders/create", payload)
        self.process()
        self.sale = self.sale_orders()

    def _credit_one_shirt(self):
        shirt_line = self.sale.order_line.filtered(lambda line: line.product_id == self.shirt)
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": self.sale.partner_invoice_id.id,
                "currency_id": self.eur.id,
                "invoice_origin": self.sale.name,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.shirt.id,
                            "quantity": 1,
                            "price_unit": 29.0,
                            "discount": 10.0,
                            "tax_ids": [Command.set(self.tax_19_incl.ids)],
                            "sale_line_ids": [Command.link(shirt_line.id)],
                        }
                    )
                ],
            }
        )
        credit_note.action_post()
        self.assertEqual(credit_note.amount_total, 26.10)
        return credit_note

    def _echo(self, refund):
        """The refunds/create webhook Shopify sends for a refund the API created."""
        body = fixture("refunds_create.json")
        body["id"] = int(refund["id"].rsplit("/", 1)[1])
        body["transactions"][0]["id"] = int(refund["transactions"]["nodes"][0]["id"].rsplit("/", 1)[1])
        return body

    def test_odoo_credit_note_creates_the_refund_once(self):
        credit_note = self._credit_one_shirt()
        event = self.events(direction="out", topic="refunds/create")
        self.assertEqual(event.resource_key, ORDER_ID)
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        (refund,) = self.sim.refunds
        self.assertEqual(
            refund["input"]["refundLineItems"],
            [{"lineItemId": f"gid://shopify/LineItem/{SHIRT_LINE}", "quantity": 1, "restockType": "NO_RESTOCK"}],
        )
        (transaction,) = refund["input"]["transactions"]
        self.assertEqual(
            (transaction["gateway"], Decimal(transaction["amount"]), transaction["parentId"]),
            ("shopify_payments", Decimal("26.10"), "gid://shopify/OrderTransaction/7301000001"),
        )
        refund_id = refund["id"].rsplit("/", 1)[1]
        self.assertEqual(credit_note.omni_external_id, refund_id)
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"), "refund booked in the clearing journal")
        # Shopify echoes the refund as a webhook: recognised, nothing imported twice.
        self.deliver("refunds/create", self._echo(refund))
        self.process()
        echo = self.events(direction="in", topic="refunds/create")
        self.assertEqual(echo.state, "done", echo.last_error)
        self.assertEqual(echo.res_id, credit_note.id)
        self.assertEqual(len(self.sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)
        # Replaying the export refunds nothing twice.
        event.action_replay()
        self.process()
        self.assertEqual(len(self.sim.refunds), 1)

    def test_echo_waits_for_the_export_in_flight(self):
        self._credit_one_shirt()
        out = self.events(direction="out", topic="refunds/create")
        # Shopify's webhook for a refund with the same order arrives before the export is bound.
        early = fixture("refunds_create.json")
        early["id"] = 96040999
        self.deliver("refunds/create", early)
        echo = self.events(direction="in", topic="refunds/create")
        echo.action_process_now()
        self.assertEqual(echo.state, "retry", "never imported while an Odoo refund of the order is in flight")
        self.process()
        self.assertEqual(out.state, "done")

    def test_imported_refund_is_not_exported(self):
        self.deliver("refunds/create", dumps(fixture("refunds_create.json")))
        self.process()
        self.assertFalse(self.events(direction="out", topic="refunds/create"))
        self.assertFalse(self.sim.refunds)
