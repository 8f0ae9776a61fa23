"""eBay orders -> canonical records (fixtures and simulator shapes)."""

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import parse
from omni_connector_base.canonical.totals import check_totals
from omni_connector_marketplace.lib import ebay_mapper as m
from tests.simulators.ebay_sim import make_order

ORDERS = json.loads((FIXTURES / "ebay" / "orders.json").read_text())["orders"]
TRANSACTIONS = json.loads((FIXTURES / "ebay" / "transactions.json").read_text())["transactions"]


def test_fulfilled_order_without_tax():
    order = m.map_order(ORDERS[0])
    parse.validate(order)
    assert order.external_id == "17-12984-63051" and order.currency == "USD"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("HOODIE-BLU-L", 1, Decimal("45.00")), ("MUG-CLASSIC", 1, Decimal("15.00"))]
    assert [s.price for s in order.shipping_lines] == [Decimal("4.99")]
    assert order.financial_status == "paid" and order.fulfillment_status == "fulfilled"
    assert order.customer.external_id == "pdx_rosecity_jo" and order.shipping_address.city == "Portland"
    assert order.payments[0].amount == Decimal("64.99") and order.payments[0].transaction_id == order.external_id
    assert check_totals(order).ok


def test_collected_tax_stays_on_the_order_at_one_rate_and_its_lines_are_named():
    order = m.map_order(ORDERS[1])
    parse.validate(order)
    mug = order.line_by_external_id("10074451203017")
    ship = next(s for s in order.shipping_lines if s.external_id == "ship-10074451203017")
    assert mug.tax_lines[0].rate == ship.tax_lines[0].rate == Decimal("0.0700")
    assert mug.tax_lines[0].amount + ship.tax_lines[0].amount == Decimal("2.52")
    assert mug.tax_lines[0].title.startswith(m.COLLECTED_TAX_TITLE)
    assert order.total == Decimal("72.50") and order.total_tax == Decimal("2.52") and check_totals(order).ok
    assert m.collected_line_ids(order) == ["10074451203017", "ship-10074451203017"]
    assert order.note_attributes["ebay_collected_tax"] == "2.52 USD"
    assert m.marketplace_of(ORDERS[1]) == "EBAY_US"


def test_seller_collected_tax_is_not_named_collected():
    payload = json.loads(json.dumps(ORDERS[1]))
    del payload["lineItems"][1]["ebayCollectAndRemitTaxes"]
    order = m.map_order(payload)
    assert m.collected_line_ids(order) == []
    assert order.line_by_external_id("10074451203017").tax_lines[0].title == "STATE_SALES_TAX"


def test_cancelled_order():
    order = m.map_order(make_order("01-1-1", datetime(2026, 11, 1, tzinfo=timezone.utc), cancelled=True))
    assert order.cancelled and order.cancel_reason == "BUYER_ASKED_CANCEL"


def test_payment_statuses_decide_what_is_imported():
    assert m.is_importable(ORDERS[0])
    assert not m.is_importable(dict(ORDERS[0], orderPaymentStatus="PENDING"))


def test_order_refunds_and_finances_refund_share_the_refund_id():
    payload = json.loads(json.dumps(ORDERS[0]))
    payload["paymentSummary"]["refunds"] = [{"refundId": "5096254401", "refundDate": "2026-11-16T17:22:45.000Z",
                                             "amount": {"value": "19.99", "currency": "USD"},
                                             "refundStatus": "REFUNDED"}]
    payload["lineItems"][1]["refunds"] = [{"refundId": "5096254401", "amount": {"value": "19.99",
                                                                                "currency": "USD"}}]
    from_order = m.map_order_refunds(payload)[0]
    from_finances = m.map_refund_transaction(TRANSACTIONS[0], m.map_order(payload))
    for refund in (from_order, from_finances):
        parse.validate(refund)
        assert refund.external_id == "5096254401" and refund.amount == Decimal("19.99")
        assert refund.lines[0].order_line_external_id == "10074398812005"
        assert refund.lines[0].quantity == 1 and refund.lines[0].restock
        assert refund.lines[0].amount == Decimal("15.00") and refund.shipping_amount == Decimal("4.99")
        assert refund.adjustment_amount == 0


def test_partial_refund_is_money_only():
    transaction = dict(TRANSACTIONS[0], totalFeeBasisAmount={"value": "5.00", "currency": "USD"},
                       orderLineItems=[{"lineItemId": "10074398812005",
                                        "feeBasisAmount": {"value": "5.00", "currency": "USD"}}])
    refund = m.map_refund_transaction(transaction, m.map_order(ORDERS[0]))
    assert refund.lines[0].quantity == 0 and not refund.lines[0].restock


@pytest.mark.parametrize("broken, field", [
    ({"orderId": None}, "orderId"),
    ({"lineItems": []}, "lineItems"),
    ({"pricingSummary": {}}, "pricingSummary.total"),
    ({"creationDate": "yesterday"}, "creationDate"),
])
def test_unreadable_order_names_the_field(broken, field):
    with pytest.raises(m.ValidationError) as caught:
        m.map_order(dict(ORDERS[0], **broken))
    assert caught.value.errors[0].field == field


def test_outbound_payloads():
    payload = m.shipping_fulfillment_payload([("1", Decimal("2"))], "UPS", "1Z9",
                                             datetime(2026, 11, 2, tzinfo=timezone.utc))
    assert payload == {"lineItems": [{"lineItemId": "1", "quantity": 2}], "shippedDate": "2026-11-02T00:00:00.000Z",
                       "shippingCarrierCode": "UPS", "trackingNumber": "1Z9"}
    assert m.stock_requests({"B": 2, "A": -1}) == [
        {"sku": "A", "shipToLocationAvailability": {"quantity": 0}},
        {"sku": "B", "shipToLocationAvailability": {"quantity": 2}}]
    assert [len(c) for c in m.chunks(range(60))] == [25, 25, 10]
