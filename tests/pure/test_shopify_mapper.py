"""Shopify payloads -> canonical records, on the fixtures and variants of them."""

import copy
import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import order_to_dict, refund_to_dict
from omni_connector_base.canonical.totals import check_totals, compute_totals
from omni_connector_shopify.lib.mapper import (
    ValidationError,
    load_payload,
    map_fulfillment,
    map_order,
    map_refund,
    map_webhook,
)
from omni_connector_shopify.lib.mapper_graphql import map_graphql_order
from tests.simulators.shopify_sim import graphql_order_from_rest

D = Decimal
SHOPIFY = FIXTURES / "shopify"


def refund_parts_total(refund):
    """What the lines, shipping and adjustment of a refund of a tax-included order add up to."""
    return sum((line.amount for line in refund.lines), D(0)) + refund.shipping_amount + refund.adjustment_amount


def load(name):
    return load_payload((SHOPIFY / name).read_bytes())


@pytest.fixture
def order_json():
    return load("orders_create.json")


def money_set(shop, presentment=None, shop_currency="EUR", presentment_currency=None):
    return {
        "shop_money": {"amount": shop, "currency_code": shop_currency},
        "presentment_money": {
            "amount": presentment or shop,
            "currency_code": presentment_currency or shop_currency,
        },
    }


def tx(tx_id, gateway, amount, status="success", **extra):
    return {
        "id": tx_id,
        "kind": "sale",
        "gateway": gateway,
        "status": status,
        "amount": amount,
        "currency": "EUR",
        **extra,
    }


def field_names(exc_info):
    return [error.field for error in exc_info.value.errors]


# -------------------------------------------------------------------- the fixture
def test_order_1042_maps_and_adds_up(order_json):
    order = map_order(order_json)
    assert order.external_id == "5829417091234"
    assert order.name == "#1042"
    assert order.currency == "EUR"
    assert order.presentment_currency == "EUR"
    assert order.taxes_included is True

    totals = compute_totals(order)
    assert (totals.total, totals.tax, totals.untaxed) == (D("70.60"), D("11.27"), D("59.33"))
    check = check_totals(order)
    assert check.ok, check.describe()
    assert (order.total, order.total_tax, order.total_untaxed) == (D("70.60"), D("11.27"), D("59.33"))

    assert len(order.lines) == 2
    shirt, mug = order.lines
    assert (shirt.sku, shirt.quantity, shirt.unit_price, shirt.discount_amount) == (
        "TSHIRT-BLK-M",
        D(2),
        D("29.00"),
        D("5.80"),
    )
    assert (mug.sku, mug.quantity, mug.unit_price, mug.discount_amount) == (
        "MUG-CLASSIC",
        D(1),
        D("15.00"),
        D("1.50"),
    )
    for line in order.lines:  # 10 % discount allocated per line
        assert line.discount_amount == line.subtotal * D("0.10")
    assert (shirt.external_id, shirt.variant_external_id, shirt.product_external_id) == (
        "14417890001",
        "45110000011",
        "8812000001",
    )
    assert [(t.rate, t.amount, t.title) for t in shirt.tax_lines] == [(D("0.19"), D("8.33"), "DE MwSt")]
    assert mug.tax_lines[0].amount == D("2.16")

    (shipping,) = order.shipping_lines
    assert (shipping.title, shipping.code, shipping.price, shipping.discount_amount) == (
        "DHL Paket",
        "DHL Paket",
        D("4.90"),
        D(0),
    )
    assert shipping.tax_amount == D("0.78")

    (discount,) = order.discounts
    assert (discount.code, discount.amount, discount.kind) == ("WELCOME10", D("7.30"), "percentage")

    assert order.note == "Please gift wrap"
    assert order.note_attributes == {"gift_message": "Happy birthday!"}
    assert (order.financial_status, order.fulfillment_status) == ("paid", "unfulfilled")
    assert order.cancelled_at is None and not order.cancelled
    assert order.is_test is False
    assert order.source_name == "web"
    assert order.created_at.isoformat() == "2026-11-20T09:14:03+00:00"
    assert order.updated_at.isoformat() == "2026-11-20T09:14:05+00:00"


def test_customer_and_addresses(order_json):
    order = map_order(order_json)
    assert order.customer.external_id == "7012345678901"
    assert order.customer.email == "Jane.Doe@Example.com"
    assert (order.customer.first_name, order.customer.last_name) == ("Jane", "Doe")
    billing, shipping = order.billing_address, order.shipping_address
    assert (billing.street, billing.street2, billing.city, billing.zip, billing.country_code) == (
        "Hauptstr. 1",
        "2. OG",
        "Berlin",
        "10115",
        "DE",
    )
    assert billing.state_code is None
    assert (shipping.first_name, shipping.city, shipping.state_code, shipping.country_code) == (
        "Max",
        "Potsdam",
        "BB",
        "DE",
    )


def test_payment_inferred_from_the_gateway_when_the_body_has_no_transactions(order_json):
    order = map_order(order_json)
    (payment,) = order.payments
    assert (payment.gateway, payment.kind, payment.status, payment.amount, payment.currency) == (
        "shopify_payments",
        "sale",
        "success",
        D("70.60"),
        "EUR",
    )
    assert payment.transaction_id is None  # unknown until the transactions are read
    assert order.paid_amount == D("70.60")


def test_payment_transaction_id_matches_the_payout_line(order_json):
    payout = json.loads((SHOPIFY / "payout_balance_transactions.json").read_text())
    charge = next(
        t for t in payout["transactions"] if t["source_order_id"] == 5829417091234 and t["type"] == "charge"
    )
    order_json["transactions"] = [
        {
            "id": 7301000001,
            "order_id": 5829417091234,
            "kind": "sale",
            "gateway": "shopify_payments",
            "status": "success",
            "amount": "70.60",
            "currency": "EUR",
            "authorization": "ch_3SShopifyPayCharge01",
            "processed_at": "2026-11-20T10:14:04+01:00",
        }
    ]
    (payment,) = map_order(order_json).payments
    assert payment.transaction_id == str(charge["source_order_transaction_id"])
    assert payment.gateway_reference == "ch_3SShopifyPayCharge01"
    assert payment.amount == D(charge["amount"])
    assert payment.processed_at.isoformat() == "2026-11-20T09:14:04+00:00"


# ----------------------------------------------------------------------- variants
def test_taxes_excluded(order_json):
    data = order_json
    data["taxes_included"] = False
    data["tax_lines"] = [{"title": "NY State Tax", "rate": D("0.0875"), "price": "6.18"}]
    data["line_items"][0]["tax_lines"] = [{"title": "NY State Tax", "rate": D("0.0875"), "price": "4.57"}]
    data["line_items"][1]["tax_lines"] = [{"title": "NY State Tax", "rate": D("0.0875"), "price": "1.18"}]
    data["shipping_lines"][0]["tax_lines"] = [{"title": "NY State Tax", "rate": D("0.0875"), "price": "0.43"}]
    data["total_tax"] = "6.18"
    data["total_price"] = "76.78"
    order = map_order(data)
    assert order.taxes_included is False
    totals = compute_totals(order)
    assert (totals.untaxed, totals.tax, totals.total) == (D("70.60"), D("6.18"), D("76.78"))
    assert check_totals(order).ok
    assert order.total_untaxed == D("70.60")


def test_presentment_currency_differs_from_shop_currency(order_json):
    data = order_json
    data["presentment_currency"] = "USD"
    rate = D("1.08")

    def usd(amount):
        return str((D(amount) * rate).quantize(D("0.01")))

    for key in ("total_price", "total_tax", "subtotal_price", "total_discounts"):
        data[f"{key}_set"] = money_set(data[key], usd(data[key]), presentment_currency="USD")
    for line in data["line_items"]:
        line["price_set"] = money_set(line["price"], usd(line["price"]), presentment_currency="USD")
        for tax in line["tax_lines"]:
            tax["price_set"] = money_set(tax["price"], usd(tax["price"]), presentment_currency="USD")
        for alloc in line["discount_allocations"]:
            alloc["amount_set"] = money_set(alloc["amount"], usd(alloc["amount"]), presentment_currency="USD")
    ship = data["shipping_lines"][0]
    ship["price_set"] = money_set(ship["price"], usd(ship["price"]), presentment_currency="USD")
    ship["tax_lines"][0]["price_set"] = money_set("0.78", usd("0.78"), presentment_currency="USD")
    # the plain fields are in shop currency; make them wrong to prove *_set.shop_money wins
    data["line_items"][0]["price"] = "999.99"
    order = map_order(data)
    assert order.currency == "EUR"
    assert order.presentment_currency == "USD"
    assert order.lines[0].unit_price == D("29.00")
    assert check_totals(order).ok
    assert compute_totals(order).total == D("70.60")


def test_cancelled_order(order_json):
    order_json.update(
        cancelled_at="2026-11-20T12:00:00+01:00",
        cancel_reason="customer",
        financial_status="voided",
    )
    order = map_order(order_json)
    assert order.cancelled
    assert order.cancelled_at.isoformat() == "2026-11-20T11:00:00+00:00"
    assert order.cancel_reason == "customer"
    assert order.financial_status == "voided"
    assert order.payments == []  # nothing was collected


def test_test_order(order_json):
    order_json["test"] = True
    order_json["payment_gateway_names"] = ["bogus"]
    order = map_order(order_json)
    assert order.is_test is True
    assert order.payments[0].gateway == "bogus"


def test_no_customer_guest_checkout(order_json):
    order_json["customer"] = None
    order = map_order(order_json)
    assert order.customer.external_id is None  # guest: known by the checkout email only
    assert order.customer.email == "Jane.Doe@Example.com"
    assert (order.customer.first_name, order.customer.last_name) == ("Jane", "Doe")
    order_json["email"] = None
    assert map_order(order_json).customer is None


def test_gift_card_and_card_payment(order_json):
    order_json["payment_gateway_names"] = ["gift_card", "shopify_payments"]
    order_json["transactions"] = [
        tx(7301000010, "gift_card", "20.00"),
        tx(7301000011, "shopify_payments", "50.60", authorization="ch_3SShopifyPayCharge09"),
        tx(7301000012, "shopify_payments", "50.60", status="failure"),
    ]
    order = map_order(order_json)
    assert [(p.gateway, p.transaction_id, p.is_gift_card, p.status) for p in order.payments] == [
        ("gift_card", "7301000010", True, "success"),
        ("shopify_payments", "7301000011", False, "success"),
        ("shopify_payments", "7301000012", False, "failure"),
    ]
    assert order.paid_amount == D("70.60")
    assert order.gift_card_amount == D("20.00")


def test_gift_card_only_without_transactions(order_json):
    order_json["payment_gateway_names"] = ["gift_card"]
    (payment,) = map_order(order_json).payments
    assert payment.is_gift_card and payment.amount == D("70.60")


def test_several_gateways_without_transactions_infer_nothing(order_json):
    order_json["payment_gateway_names"] = ["gift_card", "shopify_payments"]
    assert map_order(order_json).payments == []  # the split is unknown: never guess amounts


def test_authorized_and_pending_orders(order_json):
    order_json["financial_status"] = "authorized"
    (payment,) = map_order(order_json).payments
    assert payment.kind == "authorization"
    assert map_order(order_json).paid_amount == 0
    order_json["financial_status"] = "pending"
    order_json["payment_gateway_names"] = ["Bank Deposit"]
    assert map_order(order_json).payments == []
    order_json["financial_status"] = "partially_paid"
    order_json["total_outstanding"] = "20.60"
    (payment,) = map_order(order_json).payments
    assert payment.amount == D("50.00")


def test_shipping_discount_and_automatic_discount(order_json):
    ship = order_json["shipping_lines"][0]
    ship["discount_allocations"] = [{"amount": "4.90", "discount_application_index": 1}]
    ship["discounted_price"] = "0.00"
    ship["tax_lines"] = [{"title": "DE MwSt", "rate": D("0.19"), "price": "0.00"}]
    order_json["discount_applications"].append(
        {"target_type": "shipping_line", "type": "automatic", "value": "100.0", "value_type": "percentage",
         "allocation_method": "each", "target_selection": "all", "title": "Free shipping over 50"}
    )  # fmt: skip
    order_json["total_price"] = "65.70"
    order_json["total_tax"] = "10.49"
    order = map_order(order_json)
    assert order.shipping_lines[0].discount_amount == D("4.90")
    # a zero tax with its rate is kept: the importer still needs the tax on the free shipping line
    assert [(t.rate, t.amount) for t in order.shipping_lines[0].tax_lines] == [(D("0.19"), D("0.00"))]
    assert check_totals(order).ok, check_totals(order).describe()
    automatic = order.discounts[1]
    assert (automatic.code, automatic.amount, automatic.kind, automatic.description) == (
        None,
        D("4.90"),
        "shipping",
        "Free shipping over 50",
    )


def test_tip_becomes_a_fee_line(order_json):
    order_json["total_tip_received"] = "3.00"
    order_json["total_price"] = "73.60"
    order = map_order(order_json)
    assert [(f.name, f.amount) for f in order.fee_lines] == [("Tip", D("3.00"))]
    assert check_totals(order).ok


def test_tags_and_removed_lines(order_json):
    order_json["tags"] = "vip, wholesale ,"
    order_json["line_items"].append(dict(order_json["line_items"][1], id=14417890003, quantity=0, sku="GONE"))
    order_json["shipping_lines"].append(dict(order_json["shipping_lines"][0], id=1, is_removed=True))
    order = map_order(order_json)
    assert order.tags == ["vip", "wholesale"]
    assert [line.sku for line in order.lines] == ["TSHIRT-BLK-M", "MUG-CLASSIC"]
    assert len(order.shipping_lines) == 1


# --------------------------------------------------------------------- errors
def test_float_money_is_refused_naming_the_field():
    floats = json.loads((SHOPIFY / "orders_create.json").read_text())  # parsed WITHOUT parse_float=Decimal
    with pytest.raises(ValidationError) as exc_info:
        map_order(floats)
    assert "line_items[0].tax_lines[0].rate" in field_names(exc_info)


def test_mapping_errors_name_the_shopify_field(order_json):
    order_json["line_items"][1]["price"] = "fifteen"
    order_json["currency"] = None
    order_json["financial_status"] = "mystery"
    order_json["created_at"] = "2026-11-20T10:14:03"  # no offset
    with pytest.raises(ValidationError) as exc_info:
        map_order(order_json)
    fields = field_names(exc_info)
    for expected in ("line_items[1].price", "currency", "financial_status", "created_at"):
        assert expected in fields
    assert "fifteen" not in str(exc_info.value)  # values are never echoed


def test_personal_data_is_not_echoed_in_errors(order_json):
    order_json["customer"]["email"] = "not-an-email jane@"
    with pytest.raises(ValidationError) as exc_info:
        map_order(order_json)
    assert "customer.email" in field_names(exc_info)
    assert "jane" not in str(exc_info.value).lower()


def test_load_payload_rejects_non_objects():
    with pytest.raises(ValidationError):
        load_payload(b"[1, 2]")
    with pytest.raises(ValidationError):
        load_payload(b"{not json")
    assert isinstance(load_payload(b'{"rate": 0.19}')["rate"], Decimal)


# ---------------------------------------------------------- polled (GraphQL) orders
def test_polled_order_maps_exactly_like_the_webhook_body(order_json):
    polled = json.loads(json.dumps(graphql_order_from_rest(order_json)), parse_float=Decimal)
    json.dumps(polled, default=str)  # stored so as the polled event's body (shopify_sync._omni_poll)
    assert order_to_dict(map_graphql_order(polled)) == order_to_dict(map_order(order_json))


def test_polled_cancelled_test_order_with_transactions(order_json):
    order_json["transactions"] = [
        tx(
            7301000001,
            "shopify_payments",
            "70.60",
            authorization="ch_3SShopifyPayCharge01",
            processed_at="2026-11-20T10:14:04+01:00",
        )
    ]
    order_json["cancelled_at"] = "2026-11-21T10:00:00+01:00"
    order_json["cancel_reason"] = "fraud"
    order_json["test"] = True
    polled = json.loads(json.dumps(graphql_order_from_rest(order_json)), parse_float=Decimal)
    a, b = map_graphql_order(polled), map_order(order_json)
    assert order_to_dict(a) == order_to_dict(b)
    assert a.payments[0].transaction_id == "7301000001"
    assert a.cancel_reason == "fraud" and a.is_test


# ------------------------------------------------------------------------- refund
def test_refund_fixture():
    refund = map_refund(load("refunds_create.json"))
    assert refund.external_id == "96040001"
    assert refund.order_external_id == "5829417091234"
    assert refund.currency == "EUR"
    assert refund.amount == D("26.10")
    (line,) = refund.lines
    assert (line.order_line_external_id, line.quantity, line.restock, line.amount, line.tax_amount) == (
        "14417890001",
        D(1),
        True,
        D("26.10"),
        D("4.17"),
    )
    assert refund_parts_total(refund) == D("26.10")
    (tx,) = refund.transactions
    payout = json.loads((SHOPIFY / "payout_balance_transactions.json").read_text())
    refund_line = next(t for t in payout["transactions"] if t["type"] == "refund")
    assert tx.transaction_id == str(refund_line["source_order_transaction_id"])
    assert (tx.kind, tx.gateway, tx.parent_transaction_id, tx.gateway_reference) == (
        "refund",
        "shopify_payments",
        "7301000001",
        "ch_3SShopifyPayCharge01",
    )
    assert refund.note == "Wrong size"
    assert refund_to_dict(refund)["amount"] == "26.10"


def test_refund_with_shipping_and_discrepancy():
    data = load("refunds_create.json")
    data["refund_line_items"][0]["restock_type"] = "no_restock"
    data["order_adjustments"] = [
        {"kind": "shipping_refund", "amount": "-4.90", "tax_amount": "-0.78", "reason": "Shipping refund"},
        {
            "kind": "refund_discrepancy",
            "amount": "1.00",
            "tax_amount": "0.00",
            "reason": "Refund discrepancy",
        },
    ]
    data["transactions"][0]["amount"] = "30.00"
    refund = map_refund(data, currency="EUR")
    assert refund.lines[0].restock is False
    assert (refund.shipping_amount, refund.shipping_tax, refund.adjustment_amount) == (
        D("4.90"),
        D("0.78"),
        D(-1),
    )
    assert refund.amount == D("30.00")
    assert refund_parts_total(refund) == D("30.00")


def test_refund_errors_name_the_field():
    data = load("refunds_create.json")
    data["refund_line_items"][0]["quantity"] = "one"
    del data["order_id"]
    with pytest.raises(ValidationError) as exc_info:
        map_refund(data)
    assert {"refund_line_items[0].quantity", "order_id"} <= set(field_names(exc_info))


# ---------------------------------------------------------------------- shipment
FULFILLMENT = {
    "id": 4903378681890,
    "order_id": 5829417091234,
    "status": "success",
    "created_at": "2026-11-21T08:30:00+01:00",
    "service": "manual",
    "tracking_company": "DHL",
    "shipment_status": None,
    "location_id": 65544149001,
    "tracking_number": "00340434161234567890",
    "tracking_numbers": ["00340434161234567890"],
    "tracking_url": "https://www.dhl.de/track?piececode=00340434161234567890",
    "tracking_urls": ["https://www.dhl.de/track?piececode=00340434161234567890"],
    "name": "#1042.1",
    "line_items": [
        {"id": 14417890001, "variant_id": 45110000011, "sku": "TSHIRT-BLK-M", "quantity": 2},
        {"id": 14417890002, "variant_id": 45110000021, "sku": "MUG-CLASSIC", "quantity": 1},
    ],
}


def test_fulfillment_to_shipment():
    shipment = map_fulfillment(copy.deepcopy(FULFILLMENT))
    assert shipment.external_id == "4903378681890"
    assert shipment.order_external_id == "5829417091234"
    assert (shipment.carrier, shipment.tracking_number) == ("DHL", "00340434161234567890")
    assert shipment.tracking_url.startswith("https://www.dhl.de/")
    assert [(li.order_line_external_id, li.sku, li.quantity) for li in shipment.lines] == [
        ("14417890001", "TSHIRT-BLK-M", D(2)),
        ("14417890002", "MUG-CLASSIC", D(1)),
    ]
    assert shipment.status == "success"
    assert shipment.created_at.isoformat() == "2026-11-21T07:30:00+00:00"


def test_fulfillment_tracking_fallbacks_and_errors():
    data = copy.deepcopy(FULFILLMENT)
    data["tracking_number"] = None
    data["tracking_url"] = "dhl.de/track"  # not a link we may render
    data["tracking_urls"] = []
    shipment = map_fulfillment(data)
    assert shipment.tracking_number == "00340434161234567890"
    assert shipment.tracking_url is None
    data["line_items"] = []
    with pytest.raises(ValidationError) as exc_info:
        map_fulfillment(data)
    assert "lines" in field_names(exc_info)


def test_tax_amount_without_rate_is_refused(order_json):
    del order_json["line_items"][0]["tax_lines"][0]["rate"]
    with pytest.raises(ValidationError) as exc_info:
        map_order(order_json)
    assert field_names(exc_info) == ["line_items[0].tax_lines[0].rate"]


def test_map_webhook_dispatches_by_topic(order_json):
    assert map_webhook("orders/updated", order_json).external_id == "5829417091234"
    assert map_webhook("orders/cancelled", order_json).name == "#1042"
    assert map_webhook("refunds/create", load("refunds_create.json")).amount == D("26.10")
    assert map_webhook("fulfillments/update", copy.deepcopy(FULFILLMENT)).carrier == "DHL"
    assert map_webhook("orders/delete", {"id": 1}) is None
    assert map_webhook("orders/edited", {"order_edit": {"order_id": 1}}) is None
    assert map_webhook("app/uninstalled", {}) is None
