"""Amazon v2026 orders -> canonical (the fixtures and the model's shapes), and the outgoing payloads."""

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import ValidationError
from omni_connector_marketplace.lib.amazon_mapper import (
    confirm_shipment_payload,
    feed_issues,
    inventory_quantities,
    listings_feed,
    map_order,
    order_info,
    poll_decision,
    polled_event_values,
)
from omni_connector_marketplace.lib.collected_tax import ALL, NONE, collection_scope
from tests.simulators.amazon_sim import make_order

SEARCH = json.loads((FIXTURES / "amazon" / "orders_v2026_search.json").read_text())["orders"]
MFN = json.loads((FIXTURES / "amazon" / "order_v2026_get_mfn.json").read_text())["order"]


def by_id(order_id):
    return copy.deepcopy(next(order for order in SEARCH if order["orderId"] == order_id))


def test_fba_order_with_facilitator_tax():
    order, info = map_order(by_id("114-1234567-1234567"))
    assert (info.fulfilled_by, info.status, info.marketplace_id) == ("AMAZON", "SHIPPED", "ATVPDKIKX0DER")
    assert info.is_fba
    assert (order.currency, order.total, order.total_tax, order.financial_status) == ("USD", D("63.08"), D("5.08"),
                                                                                      "paid")
    line = order.lines[0]
    assert (line.sku, line.quantity, line.unit_price) == ("TSHIRT-BLK-M", D(2), D("29.00"))
    assert [(tax.rate, tax.amount) for tax in line.tax_lines] == [(D("0.0875"), D("5.08"))]
    assert info.collected_line_ids[0] == "61482910330001"
    assert info.responsible_party == "Amazon Services, Inc."
    assert collection_scope(order, info.collected_line_ids) == ALL
    assert order.payments[0].amount == D("63.08") and order.payments[0].gateway == "amazon"
    assert order.payments[0].collected


def test_fbm_unshipped_is_authorized_with_its_shipping_line():
    order, info = map_order(copy.deepcopy(MFN))
    assert (info.fulfilled_by, order.financial_status) == ("MERCHANT", "authorized")
    assert not order.payments[0].collected, "Amazon charges the buyer when the order ships"
    assert [(s.price, s.code) for s in order.shipping_lines] == [(D("4.99"), "STANDARD")]
    assert order.total == D("19.99")
    assert order.customer.email == "7tq2vx9mkd4hbn3@marketplace.amazon.com"
    assert (order.shipping_address.city, order.shipping_address.zip, order.shipping_address.country_code) == (
        "Portland", "97214", "US")
    assert order.shipping_address.street == "2718 SE Belmont St, Apt 4"
    assert collection_scope(order, info.collected_line_ids) == NONE


def test_eu_prices_include_vat():
    payload = make_order("302-1", sku="X", unit_price="29.00", shipping="4.90", tax="4.63", currency="EUR")
    order, _info = map_order(payload, prices_include_tax=True)
    assert order.taxes_included
    assert order.total == D("33.90"), "included tax is not added again"
    assert order.lines[0].tax_lines[0].rate == D("0.19")


def test_promotion_is_a_discount_and_gift_wrap_a_fee():
    payload = make_order("114-9", unit_price="20.00", quantity=2, shipping="5.00", promotion="4.00", gift_wrap="3.99")
    order, _info = map_order(payload)
    assert order.lines[0].discount_amount == D("4.00")
    assert order.discounts[0].code == "PROMO-SIM-1"
    assert [(fee.name, fee.amount) for fee in order.fee_lines] == [("Gift wrap", D("3.99"))]
    assert order.total == D("40.00") - D("4.00") + D("5.00") + D("3.99")


def test_cancelled_order_carries_the_reason():
    payload = copy.deepcopy(MFN)
    payload["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    payload["orderItems"][0]["cancellation"] = {"cancellationExecution": {"cancelReason": "Out of stock"}}
    order, _info = map_order(payload)
    assert order.cancelled and order.cancel_reason == "Out of stock"


def test_bad_payloads_name_the_field_never_the_value():
    payload = copy.deepcopy(MFN)
    payload["orderItems"][0]["quantityOrdered"] = "two"
    with pytest.raises(ValidationError) as caught:
        map_order(payload)
    assert "orderItems[0].quantityOrdered" in str(caught.value)
    assert "two" not in str(caught.value)
    with pytest.raises(ValidationError):
        order_info({"createdTime": "2026-11-10T17:36:52Z"})
    payload = copy.deepcopy(MFN)
    payload["orderItems"][0]["proceeds"]["breakdowns"][0]["subtotal"]["amount"] = "15,00x"
    with pytest.raises(ValidationError) as caught:
        map_order(payload)
    assert "breakdowns[0].subtotal.amount" in str(caught.value)


def test_poll_decision_and_keys():
    fba = order_info(by_id("114-1234567-1234567"))
    assert poll_decision(fba) is None
    assert poll_decision(fba, import_fba=False)
    fba.status = "UNSHIPPED"
    assert poll_decision(fba) == "FBA order not shipped yet"
    fbm = order_info(copy.deepcopy(MFN))
    fbm.status = "PENDING"
    assert poll_decision(fbm) and poll_decision(fbm, pending_policy="quotation") is None
    values = polled_event_values(order_info(copy.deepcopy(MFN)))
    assert values["idempotency_key"] == "poll:114-7654321-7654321:2026-11-10T18:06:52Z"
    assert values["source_ts"] == datetime(2026, 11, 10, 18, 6, 52)


def test_outgoing_payloads():
    detail = confirm_shipment_payload(42, "UPS", "1Z", datetime(2026, 11, 12, 10, tzinfo=timezone.utc),
                                      [("61482910330002", 1)], shipping_method="UPS Ground")
    assert detail == {"packageReferenceId": "42", "carrierCode": "UPS", "trackingNumber": "1Z",
                      "shipDate": "2026-11-12T10:00:00Z", "shippingMethod": "UPS Ground",
                      "orderItems": [{"orderItemId": "61482910330002", "quantity": 1}]}
    feed = listings_feed("A3SELLER", [("A", 3), ("B", -2)])
    assert feed["header"] == {"sellerId": "A3SELLER", "version": "2.0", "issueLocale": "en_US"}
    assert feed["messages"][1] == {"messageId": 2, "sku": "B", "operationType": "PARTIAL_UPDATE",
                                   "productType": "PRODUCT", "attributes": {"fulfillment_availability": [
                                       {"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}}


def test_processing_report_and_inventory():
    report = {"issues": [{"messageId": 4, "sku": "B", "code": "90220", "severity": "ERROR", "message": "x"},
                         {"messageId": 5, "sku": "C", "code": "18448", "severity": "WARNING", "message": "y"}],
              "summary": {"errors": 1, "warnings": 1, "messagesProcessed": 5, "messagesAccepted": 4}}
    errors, warnings, summary = feed_issues(report)
    assert [(e.sku, e.code) for e in errors] == [("B", "90220")]
    assert [w.sku for w in warnings] == ["C"]
    assert summary["messagesAccepted"] == 4
    summaries = [{"sellerSku": "A", "inventoryDetails": {"fulfillableQuantity": 7}, "totalQuantity": 9},
                 {"sellerSku": "B", "totalQuantity": 2}, {"sellerSku": None}]
    assert inventory_quantities(summaries) == {"A": 7, "B": 2}
