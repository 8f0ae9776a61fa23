"""The trace of Shopify order #1042: channel event -> order -> invoice, credit note, payments -> payout
line -> payout of 156.87 -> its journal entry -> the bank statement line, from each end."""

import json

from odoo import fields
from odoo.tests import tagged

from .common import PAYOUT_AMOUNT, MonitoringCommon


@tagged("post_install", "-at_install", "omni")
class TestTrace(MonitoringCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        body = json.dumps({"id": 5829417091234, "name": "#1042"}).encode()
        event_id, _new = cls.env["omni.event"]._omni_store_incoming(
            cls.shop_backend, body, {"idempotency_key": "orders/create:1042", "topic": "orders/create",
                                     "resource_model": "sale.order", "resource_key": cls.sale_1042.omni_external_id},
            headers_json=json.dumps({"X-Shopify-Topic": "orders/create"}))
        cls.event = cls.env["omni.event"].browse(event_id)
        cls.event.write({"state": "done", "attempts": 1, "processed_at": fields.Datetime.now(),
                         "res_model": "sale.order", "res_id": cls.sale_1042.id})

    def _check_chain(self, chain, settlement, statement_line):
        orders = {order["id"]: order for order in chain["orders"]}
        self.assertIn(self.sale_1042.id, orders)
        order = orders[self.sale_1042.id]
        self.assertEqual(order["channel_order"], "#1042")
        self.assertEqual([event["id"] for event in order["events"]], [self.event.id])
        self.assertEqual((order["events"][0]["state"], order["events"][0]["attempts"]), ("done", 1))
        invoice = self.sale_1042.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
        credit_note = self.sale_1042.invoice_ids.filtered(lambda move: move.move_type == "out_refund")
        self.assertEqual([node["id"] for node in order["invoices"]], invoice.ids)
        self.assertEqual([node["id"] for node in order["credit_notes"]], credit_note.ids)
        self.assertTrue(set(self.sale_1042.omni_payment_ids.ids) <= {node["id"] for node in order["payments"]})
        self.assertEqual({line["external_id"] for line in order["settlement_lines"]}, {"746296001", "746296003"})
        self.assertEqual([node["id"] for node in order["pickings"]], self.sale_1042.picking_ids.sorted("id").ids)
        (payout,) = chain["settlements"]
        self.assertEqual(payout["id"], settlement.id)
        self.assertEqual((payout["amount"], payout["currency"]), (PAYOUT_AMOUNT, "EUR"))
        self.assertEqual(payout["move"]["id"], settlement.move_id.id)
        self.assertEqual(payout["bank_statement_line"]["id"], statement_line.id)
        self.assertEqual(payout["bank_statement_line"]["amount"], PAYOUT_AMOUNT)
        self.assertTrue(payout["bank_statement_line"]["is_reconciled"])

    def test_trace_from_every_record_of_the_chain(self):
        settlement, statement_line = self._post_payout()
        charge = settlement.line_ids.filtered(lambda line: line.external_id == "746296001")
        invoice = self.sale_1042.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")
        credit_note = self.sale_1042.invoice_ids.filtered(lambda move: move.move_type == "out_refund")
        starts = [self.sale_1042, invoice, credit_note, self.sale_1042.omni_payment_ids[:1], charge, settlement,
                  settlement.move_id, statement_line, *self.sale_1042.picking_ids[:1]]
        for record in starts:
            with self.subTest(start=record._name):
                chain = json.loads(record.omni_trace_json())
                self.assertEqual(chain["start"], {"model": record._name, "id": record.id, "name": record.display_name})
                self._check_chain(chain, settlement, statement_line)
        # from the payout side, every order it paid
        chain = json.loads(statement_line.omni_trace_json())
        self.assertEqual({order["id"] for order in chain["orders"]}, {self.sale_1042.id, self.order_1043.id})
        self.assertEqual(len(chain["settlements"][0]["lines"]), 4)
        # from the order side, only the order's own lines of the payout
        chain = json.loads(self.sale_1042.omni_trace_json())
        self.assertEqual([order["id"] for order in chain["orders"]], [self.sale_1042.id])
        self.assertEqual({line["external_id"] for line in chain["settlements"][0]["lines"]}, {"746296001", "746296003"})

    def test_before_the_payout_the_chain_stops_at_the_payments(self):
        chain = json.loads(self.sale_1042.omni_trace_json())
        self.assertEqual(chain["settlements"], [])
        self.assertEqual(chain["orders"][0]["settlement_lines"], [])
        self.assertTrue(chain["orders"][0]["payments"])

    def test_button_shows_the_chain(self):
        _settlement, statement_line = self._post_payout()
        action = statement_line.action_omni_trace()
        self.assertEqual((action["res_model"], action["target"]), ("omni.trace.view", "new"))
        view = self.env["omni.trace.view"].browse(action["res_id"])
        html = str(view.trace_html)
        for text in (self.sale_1042.name, "156.87", "orders/create", statement_line.payment_ref):
            self.assertIn(text, html)

    def test_payload_for_system_administrators_only(self):
        admin_chain = json.loads(self.sale_1042.omni_trace_json())
        self.assertIn("payload", admin_chain["orders"][0]["events"][0])
        sales = self.env.ref("sales_team.group_sale_salesman_all_leads").id
        for login, group in (("sales-ops-trace", "omni_connector_base.group_omni_user"),
                             ("omni-manager-trace", "omni_connector_base.group_omni_manager")):
            user = self.env["res.users"].create({"name": login, "login": login, "group_ids": [
                (6, 0, [sales, self.env.ref(group).id])]})
            record = self.sale_1042.with_user(user).with_context(omni_no_trigger=True)
            chain = json.loads(record.omni_trace_json())
            event = chain["orders"][0]["events"][0]
            self.assertNotIn("payload", event, login)
            self.assertEqual((event["id"], event["state"], event["topic"]), (self.event.id, "done", "orders/create"),
                             "the trace still follows the event")
            action = record.action_omni_trace()
            html = str(self.env["omni.trace.view"].browse(action["res_id"]).trace_html)
            self.assertIn("orders/create", html)
            self.assertNotIn("5829417091234", html.split("orders/create", 1)[1].split("</li>", 1)[0],
                             "no payload in the event's line")
