"""Governance, exchanges: a credit note and a return for what comes back, new delivery lines (on
the order or a linked follow-up order) for what goes out, and money only for the difference:
an even exchange, one with a top-up, one with a partial refund; the canonical event of the
custom API applies once."""

import json
from datetime import datetime, timezone
from decimal import Decimal as D

from odoo.tests import tagged

from ..canonical import Line, Payment
from ..canonical.exchange import Exchange, ExchangeReturnLine, exchange_to_dict
from .order_factory import shopify_1042, vat19
from .test_api import TestCustomApi
from .test_importer import OmniImporterCommon

SHIRT, MUG = "14417890001", "14417890002"


def shirt(external_id="N1"):
    return Line(external_id=external_id, sku="TSHIRT-BLK-M", name="Organic T-Shirt - Black / L", quantity=D(1),
                unit_price=D("29.00"), discount_amount=D("2.90"), tax_lines=vat19("4.17"))


def mug(external_id="N2"):
    return Line(external_id=external_id, sku="MUG-CLASSIC", name="Classic Mug", quantity=D(1),
                unit_price=D("15.00"), discount_amount=D("1.50"), tax_lines=vat19("2.16"))


def hoodie(external_id="N3"):
    return Line(external_id=external_id, sku="HOODIE-GRY-L", name="Hoodie", quantity=D(1),
                unit_price=D("29.00"), tax_lines=vat19("4.63"))


def exchange(external_id, returned, new_lines, transactions=()):
    return Exchange(external_id=external_id, order_external_id="5829417091234",
                    created_at=datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc), currency="EUR",
                    taxes_included=True, returned=returned, new_lines=new_lines, transactions=list(transactions))


def back(line_id, amount):
    return ExchangeReturnLine(order_line_external_id=line_id, quantity=D(1), amount=D(amount))


@tagged("post_install", "-at_install", "omni")
class TestGovernanceExchanges(OmniImporterCommon):
    def setUp(self):
        super().setUp()
        self.sale = self.Importer._omni_import_order(self.backend, shopify_1042())
        self._ship(self.sale)
        self.invoice = self.sale.invoice_ids

    def _moves(self, move_type):
        return self.sale.invoice_ids.filtered(lambda move: move.move_type == move_type)

    def _clearing_payments(self, payment_type):
        return self.env["account.payment"].search([("omni_backend_id", "=", self.backend.id),
                                                   ("payment_type", "=", payment_type)])

    def _check_goods(self, target, returned_product, new_product):
        returns = self.sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returns.state, "done")
        self.assertEqual(returns.move_ids.product_id.default_code, returned_product)
        out = target.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "done")
        self.assertEqual(len(out), 1, "a new delivery for what goes out")
        self.assertEqual(out.move_ids.product_id.default_code, new_product)

    def test_even_exchange_moves_no_money(self):
        target = self.Importer._omni_import_exchange(self.backend, exchange("E1", [back(SHIRT, "26.10")], [shirt()]))
        self.assertEqual(target, self.sale, "new lines on the order by default")
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (26.10, 26.10))
        self.assertEqual(len(new_invoice.invoice_line_ids), 1, "only the new line is invoiced")
        self.assertEqual(credit_note.payment_state, "paid")
        self.assertEqual(new_invoice.amount_residual, 0, "the returned value pays the new goods")
        self.assertEqual(new_invoice.payment_state, "reversed", "Odoo's word for an invoice a credit note settles")
        self.assertFalse(self._clearing_payments("outbound"))
        self.assertEqual(len(self._clearing_payments("inbound")), 1, "only the order's payment")
        self._check_goods(self.sale, "TSHIRT-BLK-M", "TSHIRT-BLK-M")
        # the same exchange again changes nothing
        self.Importer._omni_import_exchange(self.backend, exchange("E1", [back(SHIRT, "26.10")], [shirt()]))
        self.assertEqual(len(self._moves("out_refund")), 1)
        self.assertEqual(len(self._moves("out_invoice")), 2)

    def test_exchange_with_a_top_up(self):
        top_up = Payment(gateway="shopify_payments", transaction_id="7301000009", amount=D("15.50"), currency="EUR")
        self.Importer._omni_import_exchange(self.backend, exchange("E2", [back(MUG, "13.50")], [hoodie()], [top_up]))
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (13.50, 29.00))
        payment = self._clearing_payments("inbound").filtered(lambda p: p.memo == "7301000009")
        self.assertEqual(payment.amount, 15.50, "the customer pays the difference only")
        self.assertEqual(new_invoice.amount_residual, 0)
        self.assertEqual(credit_note.amount_residual, 0)
        self._check_goods(self.sale, "MUG-CLASSIC", "HOODIE-GRY-L")

    def test_exchange_with_a_partial_refund(self):
        refund = Payment(gateway="shopify_payments", transaction_id="7301000010", amount=D("12.60"), currency="EUR",
                         kind="refund")
        self.Importer._omni_import_exchange(self.backend, exchange("E3", [back(SHIRT, "26.10")], [mug()], [refund]))
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (26.10, 13.50))
        (payment,) = self._clearing_payments("outbound")
        self.assertEqual((payment.amount, payment.memo), (12.60, "7301000010"), "refunded: the difference")
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        self.assertEqual(new_invoice.amount_residual, 0)
        self._check_goods(self.sale, "TSHIRT-BLK-M", "MUG-CLASSIC")

    def test_follow_up_order_and_the_canonical_event(self):
        self.backend.exchange_mode = "followup"
        body = json.dumps(exchange_to_dict(exchange("E4", [back(SHIRT, "26.10")], [shirt()]))).encode()
        values = {"idempotency_key": "exchange:E4", "topic": "exchanges/create", "resource_model": "sale.order",
                  "resource_key": "5829417091234", "source_ts": False}
        event_id, _new = self.env["omni.event"]._omni_store_incoming(self.backend, body, values)
        event = self.env["omni.event"].browse(event_id)
        self._omni_run_ready()
        self.assertEqual(event.state, "done", event.last_error)
        followup = self.env["sale.order"].search([("omni_exchange_of_id", "=", self.sale.id)])
        self.assertEqual(len(followup), 1)
        self.assertEqual(followup.state, "sale")
        self.assertEqual(followup.partner_id, self.sale.partner_id)
        self.assertEqual(followup.order_line.product_id.default_code, "TSHIRT-BLK-M")
        self.assertEqual(followup.invoice_ids.amount_residual, 0)
        self._check_goods(followup, "TSHIRT-BLK-M", "TSHIRT-BLK-M")
        event.action_replay()
        self._omni_run_ready()
        self.assertEqual(self.env["sale.order"].search_count([("omni_exchange_of_id", "=", self.sale.id)]), 1)


EXCHANGES = "/omni/api/v1/{backend_id}/exchanges"


@tagged("post_install", "-at_install", "omni")
class TestGovernanceExchangeApi(TestCustomApi):
    def test_exchange_is_stored_once_and_checked_against_the_contract(self):
        payload = exchange_to_dict(exchange("E9", [back(SHIRT, "26.10")], [shirt()]))
        self._validate(payload, {"$ref": "#/components/schemas/Exchange"})
        answer = self._check(self._post(payload, EXCHANGES), 202, EXCHANGES)
        event = self.env["omni.event"].browse(answer["event_id"])
        self.assertEqual((event.topic, event.resource_key, event.idempotency_key, event.resource_model),
                         ("exchanges/create", "5829417091234", "exchange:E9", "account.move"))
        again = self._check(self._post(payload, EXCHANGES), 202, EXCHANGES)
        self.assertEqual((again["event_id"], again["duplicate"]), (event.id, True))
        empty = self._check(self._post(dict(payload, external_id="E10", returned=[], new_lines=[]), EXCHANGES),
                            422, EXCHANGES)
        self.assertIn("returned", [f["field"] for f in empty["fields"]])
