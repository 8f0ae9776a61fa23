"""Governance on Shopify, exchanges end to end: a ``returns/process`` webhook of a return with exchange
line items -> the Return read from Shopify (the simulator) -> the base's exchange flow: a credit note and
a return picking for what comes back, a new delivery for what goes out, money only for the difference
(the order's transactions since the return): an even exchange, a top-up, a partial refund."""

from odoo.tests import tagged

from .common import ORDER_ID, ShopifyCase, fixture

ORDER_GID = f"gid://shopify/Order/{ORDER_ID}"
SHIRT_ITEM, MUG_ITEM = "gid://shopify/LineItem/14417890001", "gid://shopify/LineItem/14417890002"


def money(amount):
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"},
            "presentmentMoney": {"amount": amount, "currencyCode": "EUR"}}


def new_item(line_id, sku, variant_id, price, tax, discount=None):
    return {"id": f"gid://shopify/LineItem/{line_id}", "sku": sku, "name": sku, "title": sku, "quantity": 1,
            "currentQuantity": 1, "requiresShipping": True, "taxable": True,
            "variant": {"id": f"gid://shopify/ProductVariant/{variant_id}", "legacyResourceId": str(variant_id)},
            "originalUnitPriceSet": money(price),
            "taxLines": [{"rate": 0.19, "title": "DE MwSt", "priceSet": money(tax)}],
            "discountAllocations": [{"allocatedAmountSet": money(discount), "discountApplication": {"index": 0}}]
            if discount else []}


@tagged("post_install", "-at_install", "omni")
class TestShopifyExchanges(ShopifyCase):
    def setUp(self):
        super().setUp()
        payload = self.order_payload()
        self.seed_order(payload)
        self.deliver("orders/create", payload)
        self.process()
        self.sale = self.sale_orders()
        self.assertEqual(self.sale.state, "sale")
        self.ship(self.sale.picking_ids)
        self.invoice = self.sale.invoice_ids

    def _return(self, number, returned_item, new_items, transaction=None):
        return_gid = f"gid://shopify/Return/94500000{number}"
        self.sim.add_return({
            "id": return_gid, "name": f"#1042-R{number}", "status": "OPEN", "createdAt": "2026-11-26T10:00:00Z",
            "order": {"id": ORDER_GID},
            "returnLineItems": {"nodes": [{"id": f"gid://shopify/ReturnLineItem/{number}", "quantity": 1,
                                           "fulfillmentLineItem": {"lineItem": {"id": returned_item}}}]},
            "exchangeLineItems": {"nodes": [{"id": f"gid://shopify/ExchangeLineItem/{number}",
                                             "lineItems": new_items}]},
        })
        if transaction:
            kind, amount, transaction_id = transaction
            self.sim.add_order_transaction(ORDER_GID, {
                "id": f"gid://shopify/OrderTransaction/{transaction_id}", "kind": kind, "status": "SUCCESS",
                "gateway": "shopify_payments", "test": False, "processedAt": "2026-11-26T10:05:00Z",
                "parentTransaction": None, "amountSet": money(amount)})
        body = {"id": int(return_gid.rsplit("/", 1)[1]), "admin_graphql_api_id": return_gid, "status": "closed",
                "order": {"id": int(ORDER_ID), "admin_graphql_api_id": ORDER_GID}}
        self.assertEqual(self.deliver("returns/process", body), 200)
        self.process()
        event = self.events(direction="in", topic="returns/process")[-1]
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual((event.resource_key, event.resource_model), (ORDER_ID, "account.move"))
        return body

    def _moves(self, move_type):
        return self.sale.invoice_ids.filtered(lambda move: move.move_type == move_type)

    def _payments(self, payment_type):
        return self.env["account.payment"].search([("omni_backend_id", "=", self.backend.id),
                                                   ("payment_type", "=", payment_type)])

    def _check_goods(self, returned_sku, new_sku):
        returns = self.sale.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(returns.state, "done", "the return picking for what comes back")
        self.assertEqual(returns.move_ids.product_id.default_code, returned_sku)
        out = self.sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "done")
        self.assertEqual(out.move_ids.product_id.default_code, new_sku, "a new delivery for what goes out")

    def test_even_exchange(self):
        body = self._return(1, SHIRT_ITEM, [new_item(99001, "TSHIRT-BLK-M", 45110000011, "29.00", "4.17", "2.90")])
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (26.10, 26.10))
        self.assertEqual(new_invoice.amount_residual, 0, "the returned value pays the new goods")
        self.assertFalse(self._payments("outbound"))
        self.assertEqual(len(self._payments("inbound")), 1, "only the order's payment")
        self._check_goods("TSHIRT-BLK-M", "TSHIRT-BLK-M")
        # returns/close of the same return: no second effect
        self.assertEqual(self.deliver("returns/close", body), 200)
        self.process()
        self.assertEqual(self.events(direction="in", topic="returns/close").state, "done")
        self.assertEqual(len(self._moves("out_refund")), 1)
        self.assertEqual(len(self._moves("out_invoice")), 2)

    def test_exchange_with_a_top_up(self):
        self._return(2, MUG_ITEM, [new_item(99002, "TSHIRT-BLK-M", 45110000011, "29.00", "4.63")],
                     ("SALE", "15.50", 7301000009))
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (13.50, 29.00))
        payment = self._payments("inbound").filtered(lambda p: p.memo == "7301000009")
        self.assertEqual(payment.amount, 15.50, "the customer pays the difference only")
        self.assertEqual(new_invoice.amount_residual, 0)
        self._check_goods("MUG-CLASSIC", "TSHIRT-BLK-M")

    def test_exchange_with_a_partial_refund(self):
        self._return(3, SHIRT_ITEM, [new_item(99003, "MUG-CLASSIC", 45110000021, "15.00", "2.16", "1.50")],
                     ("REFUND", "12.60", 7301000010))
        (credit_note,) = self._moves("out_refund")
        new_invoice = self._moves("out_invoice") - self.invoice
        self.assertEqual((credit_note.amount_total, new_invoice.amount_total), (26.10, 13.50))
        (payment,) = self._payments("outbound")
        self.assertEqual((payment.amount, payment.memo), (12.60, "7301000010"), "refunded: the difference")
        self.assertEqual(new_invoice.amount_residual, 0)
        self._check_goods("TSHIRT-BLK-M", "MUG-CLASSIC")
        # Shopify's refunds/create of that difference names the return: the exchange has applied it
        refund = fixture("refunds_create.json")
        refund.update(id=96040003, transactions=[dict(refund["transactions"][0], id=7301000010, amount="12.60")],
                      **{"return": {"id": 945000003, "admin_graphql_api_id": "gid://shopify/Return/945000003"}})
        self.assertEqual(self.deliver("refunds/create", refund), 200)
        self.process()
        self.assertEqual(self.events(direction="in", topic="refunds/create").state, "skipped")
        self.assertEqual(len(self._moves("out_refund")), 1, "one credit note")
        self.assertEqual(len(self._payments("outbound")), 1, "one refund payment")

    def test_return_without_exchange_is_left_to_the_refund(self):
        self.sim.add_return({"id": "gid://shopify/Return/945000009", "createdAt": "2026-11-26T10:00:00Z",
                             "order": {"id": ORDER_GID}, "returnLineItems": {"nodes": []},
                             "exchangeLineItems": {"nodes": []}})
        self.deliver("returns/process", {"id": 945000009, "admin_graphql_api_id": "gid://shopify/Return/945000009",
                                         "order": {"id": int(ORDER_ID)}})
        self.process()
        self.assertEqual(self.events(direction="in", topic="returns/process").state, "skipped")
        self.assertFalse(self._moves("out_refund"))
