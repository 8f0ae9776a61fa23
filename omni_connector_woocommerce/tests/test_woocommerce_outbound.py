"""Odoo -> store: stock batches of 100 (only changed SKUs), shipments (partial and full),
refunds both ways with ``api_refund`` honoured."""

from odoo import Command
from odoo.tests import tagged

from .common import WooCase, order_727


@tagged("post_install", "-at_install", "omni", "omni_woocommerce")
class TestWooCommerceOutbound(WooCase):
    def import_727(self, **overrides):
        self.subscribe()
        self.sim.add_order(order_727(**overrides))
        self.send()
        self.process()
        sale = self.sale_orders()
        self.assertEqual(sale.state, "sale")
        return sale

    def bind(self, product, sim_product, variation_of=None):
        return self.env["omni.woocommerce.product"].create({
            "backend_id": self.backend.id, "product_id": product.id, "sku": product.default_code,
            "wc_product_id": variation_of or sim_product["id"],
            "wc_variation_id": sim_product["id"] if variation_of else 0,
        })

    # ------------------------------------------------------------------ stock

    def test_250_changed_skus_make_3_batch_calls_then_only_changes_are_sent(self):
        Product = self.env["product.product"]
        products = Product.create([
            {"name": f"Sock {i}", "default_code": f"SOCK-{i:03d}", "type": "consu", "is_storable": True}
            for i in range(250)
        ])
        for index, product in enumerate(products):
            self.env["stock.quant"]._update_available_quantity(product, self.stock_location, index % 9 + 1)
        sim_products = [self.sim.add_product(p.default_code, stock=0) for p in products]
        bindings = self.env["omni.woocommerce.product"]
        for product, sim_product in zip(products, sim_products, strict=True):
            bindings |= self.bind(product, sim_product)
        self.backend.action_woocommerce_push_stock()
        self.assertEqual(len(self.events(topic="stock/update")), 250)
        self.process()
        batch_calls = [r for r in self.sim.requests if r["path"].endswith("/products/batch")]
        self.assertEqual(len(batch_calls), 3)
        self.assertEqual(self.sim.stock(sim_products[10]["id"]), 10 % 9 + 1)
        self.assertEqual(set(self.events(topic="stock/update").mapped("state")), {"done"})
        self.assertEqual(bindings[10].last_sent_qty, 2)
        # nothing changed: the backstop queues nothing; one quantity changes: one call, one update
        self.env["omni.backend"]._cron_woocommerce_stock_sync()
        self.assertEqual(len(self.events(topic="stock/update")), 250)
        self.env["stock.quant"]._update_available_quantity(products[3], self.stock_location, 5)
        self.process()
        self.assertEqual(len([r for r in self.sim.requests if r["path"].endswith("/products/batch")]), 4)
        self.assertEqual(self.sim.stock(sim_products[3]["id"]), 9)

    def test_variations_go_to_their_parents_batch(self):
        parent = 93
        variation = self.sim.add_product("HOODIE-BLU-L", stock=0, product_id=95, parent_id=parent)
        simple = self.sim.add_product("BEANIE-GRY", stock=0, product_id=101)
        self.bind(self.hoodie, variation, variation_of=parent)
        self.bind(self.beanie, simple)
        self.backend.action_woocommerce_push_stock()
        self.process()
        self.assertEqual(self.sim.stock(parent, 95), 50)
        self.assertEqual(self.sim.stock(101), 50)
        self.assertEqual(self.sim.count("POST", "/wp-json/wc/v3/products/93/variations/batch"), 1)
        self.assertEqual(self.sim.count("POST", "/wp-json/wc/v3/products/batch"), 1)

    def test_a_429_pauses_the_stock_push_and_it_retries(self):
        simple = self.sim.add_product("BEANIE-GRY", stock=0, product_id=101)
        self.bind(self.beanie, simple)
        self.backend.action_woocommerce_push_stock()
        self.sim.inject_fault("429", retry_after=45)
        self.process()
        event = self.events(topic="stock/update")
        self.assertEqual(event.state, "retry")
        self.assertTrue(self.backend.paused_until)
        self.assertEqual(self.sim.stock(101), 0)
        self.backend._omni_resume()
        self._omni_make_due(event)
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(self.sim.stock(101), 50)

    # --------------------------------------------------------------- shipments

    def test_partial_then_full_shipment(self):
        self.backend.woocommerce_shipment_tracking = True
        sale = self.import_727()
        picking = sale.picking_ids
        self.ship(picking, {self.hoodie: 1, self.beanie: 1}, woocommerce_carrier="UPS",
                  woocommerce_tracking_number="1Z0001")
        self.process()
        notes = self.sim.notes[727]
        self.assertEqual(len(notes), 1)
        self.assertTrue(notes[0]["customer_note"])
        self.assertIn("Part of your order has shipped with UPS", notes[0]["note"])
        self.assertEqual(self.sim.orders[727]["status"], "processing", "a partial shipment does not complete")
        tracking = next(m for m in self.sim.orders[727]["meta_data"] if m["key"] == "_wc_shipment_tracking_items")
        self.assertEqual([item["tracking_number"] for item in tracking["value"]], ["1Z0001"])
        backorder = sale.picking_ids - picking
        self.ship(backorder, woocommerce_carrier="UPS", woocommerce_tracking_number="1Z0002")
        self.process()
        self.assertEqual(len(self.sim.notes[727]), 2)
        self.assertIn("Your order has shipped with UPS. Tracking number: 1Z0002.", self.sim.notes[727][1]["note"])
        self.assertEqual(self.sim.orders[727]["status"], "completed")
        tracking = next(m for m in self.sim.orders[727]["meta_data"] if m["key"] == "_wc_shipment_tracking_items")
        self.assertEqual([item["tracking_number"] for item in tracking["value"]], ["1Z0001", "1Z0002"])
        # the store's echo (order.updated, completed) changes nothing in Odoo
        self.send()
        self.process()
        self.assertEqual(set(self.events(direction="in").mapped("state")) - {"done", "skipped"}, set())
        self.assertEqual(len(sale.picking_ids), 2)

    # ----------------------------------------------------------------- refunds

    def test_refund_from_the_store_credit_note_return_and_payment_once(self):
        sale = self.import_727()
        self.ship(sale.picking_ids)
        self.sim.create_refund(727, {
            "amount": "44.04", "reason": "Too big", "api_refund": True, "api_restock": True,
            "line_items": [{"id": 315, "quantity": 1, "refund_total": "40.50",
                            "refund_tax": [{"id": 1, "refund_total": "3.54"}]}],
        })
        self.send()
        self.process()
        self.assertEqual(set(self.events(direction="in").mapped("state")), {"done"})
        credit_note = sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertEqual(len(credit_note), 1)
        self.assertAlmostEqual(credit_note.amount_total, 44.04, places=2)
        self.assertEqual(credit_note.state, "posted")
        returns = sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returns.move_ids.product_id, self.hoodie)
        self.assertEqual(returns.state, "done")
        refund_payment = self.env["account.payment"].search([("memo", "like", "wc-refund-")])
        self.assertAlmostEqual(refund_payment.amount, 44.04, places=2)
        # the same version by poll and a replay: nothing twice
        self.events(direction="in").action_replay()
        self.process()
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)
        self.assertFalse(self.sim.count("POST", "/wp-json/wc/v3/orders/727/refunds"))

    def test_odoo_refund_pushed_with_api_refund_only_when_chosen(self):
        self.backend.woocommerce_export_refunds = True
        sale = self.import_727()
        invoice = sale.invoice_ids
        for via_gateway in (False, True):
            wizard = self.env["account.move.reversal"].with_context(
                active_model="account.move", active_ids=invoice.ids).create({
                    "journal_id": invoice.journal_id.id, "reason": "return",
                    "woocommerce_refund_via_gateway": via_gateway})
            action = wizard.reverse_moves()
            credit_note = self.env["account.move"].browse(action["res_id"])
            self.assertEqual(credit_note.woocommerce_refund_via_gateway, via_gateway)
            hoodie = credit_note.invoice_line_ids.filtered(lambda line: line.product_id == self.hoodie)
            credit_note.write({"invoice_line_ids": [Command.unlink(line.id) for line in
                                                    credit_note.invoice_line_ids - hoodie]})
            hoodie.quantity = 1
            credit_note.action_post()
            self.process()
            event = self.events(topic="refund/create")[-1]
            self.assertEqual(event.state, "done", event.last_error)
            refund_id = int(credit_note.omni_external_id)
            refund = self.sim.refunds[refund_id]
            self.assertEqual(refund["refunded_payment"], via_gateway)
            self.assertEqual(refund["amount"], "44.04")
            self.assertEqual(refund["line_items"][0]["meta_data"][0]["value"], "315")
            self.assertEqual(refund["line_items"][0]["total_tax"], "-3.54")
            # the order.updated that follows is recognised: no second credit note
            self.send()
            self.process()
            self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")),
                             1 + int(via_gateway))
        bodies = [r for r in self.sim.requests if r["method"] == "POST" and r["path"].endswith("/refunds")]
        self.assertEqual([b["body"]["api_refund"] for b in bodies], [False, True])
        self.assertEqual([b["body"]["api_restock"] for b in bodies], [False, False])

    def credit_note_of(self, sale, via_gateway=False):
        invoice = sale.invoice_ids
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({
                "journal_id": invoice.journal_id.id, "reason": "return",
                "woocommerce_refund_via_gateway": via_gateway})
        return self.env["account.move"].browse(wizard.reverse_moves()["res_id"])

    def test_odoo_refund_of_shipping_and_fee_sends_their_items_in_line_items(self):
        """WooCommerce's refund API reads every refunded item from line_items, shipping and fee
        items by their ids too (with refund_total/refund_tax), and files them in the refund's
        shipping_lines and fee_lines; a refund that left them out refunds no shipping."""
        self.backend.woocommerce_export_refunds = True
        sale = self.import_727()
        refs = self.env["omni.binding"]._omni_external_ids(self.backend, sale.order_line)
        kept = {"727/315", "727/shipping:317", "727/fee:319"}  # one hoodie, the shipping, the gift wrap fee
        credit_note = self.credit_note_of(sale)
        drop = credit_note.invoice_line_ids.filtered(lambda line: refs.get(line.sale_line_ids[:1].id) not in kept)
        credit_note.write({"invoice_line_ids": [Command.unlink(line.id) for line in drop]})
        credit_note.invoice_line_ids.filtered(lambda line: line.product_id == self.hoodie).quantity = 1
        self.assertEqual(len(credit_note.invoice_line_ids), 3)
        credit_note.action_post()
        # 44.04 + 8.70 + 3.26 by line; the company may round the tax globally (4.50625 -> 4.51)
        self.assertAlmostEqual(credit_note.amount_total, 56.00, delta=0.011)
        self.process()
        event = self.events(topic="refund/create")
        self.assertEqual(event.state, "done", event.last_error)
        body = next(r for r in self.sim.requests if r["method"] == "POST" and r["path"].endswith("/refunds"))["body"]
        self.assertEqual(body["amount"], f"{credit_note.amount_total:.2f}", "the credit note's total is the amount")
        self.assertEqual(
            [(item["id"], item["quantity"], item["refund_total"],
              [(tax["id"], tax["refund_total"]) for tax in item["refund_tax"]]) for item in body["line_items"]],
            [(315, 1, "40.50", [(1, "3.54")]), (317, 0, "8.00", [(1, "0.70")]), (319, 0, "3.00", [(1, "0.26")])],
        )
        refund = self.sim.refunds[int(credit_note.omni_external_id)]
        shipping, = refund["shipping_lines"]
        self.assertEqual((shipping["total"], shipping["total_tax"], shipping["meta_data"][0]["value"]),
                         ("-8.00", "-0.70", "317"))
        fee, = refund["fee_lines"]
        self.assertEqual((fee["total"], fee["total_tax"], fee["meta_data"][0]["value"]), ("-3.00", "-0.26", "319"))
        self.assertEqual([item["meta_data"][0]["value"] for item in refund["line_items"]], ["315"])
        # the store's echo (order.updated with the refund) imports no second credit note
        self.send()
        self.process()
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)

    def test_refund_from_the_store_with_shipping_and_fee_books_them_on_the_credit_note(self):
        sale = self.import_727()
        self.sim.create_refund(727, {
            "amount": "11.96", "reason": "Late delivery", "api_refund": True, "api_restock": False,
            "line_items": [{"id": 317, "refund_total": "8.00", "refund_tax": [{"id": 1, "refund_total": "0.70"}]},
                           {"id": 319, "refund_total": "3.00", "refund_tax": [{"id": 1, "refund_total": "0.26"}]}],
        })
        self.send()
        self.process()
        self.assertEqual(set(self.events(direction="in").mapped("state")), {"done"})
        credit_note = sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertAlmostEqual(credit_note.amount_total, 11.96, places=2)
        self.assertAlmostEqual(credit_note.amount_tax, 0.96, places=2, msg="shipping and fee refunded with their tax")
        self.assertFalse(credit_note.invoice_line_ids.filtered(lambda line: line.name == "Refund adjustment"))

    def test_refund_above_the_approval_threshold_is_pushed_once_approved(self):
        self.backend.write({"woocommerce_export_refunds": True, "refund_approval_threshold": 10})
        sale = self.import_727()
        credit_note = self.credit_note_of(sale)
        credit_note.action_post()
        self.assertEqual(credit_note.omni_refund_approval_state, "pending")
        self.assertFalse(self.events(topic="refund/create"), "nothing pushed before approval")
        credit_note.action_omni_approve_refund()
        event = self.events(topic="refund/create")
        self.assertEqual(len(event), 1, "approval pushes it through the outbox")
        self.process()
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(len(self.sim.refunds), 1)
