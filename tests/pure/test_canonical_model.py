"""Canonical records: JSON round trip, validation (all errors in one pass), properties."""

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from omni_connector_base.canonical import (
    FINANCIAL_STATUSES,
    Address,
    Customer,
    Line,
    Order,
    Payment,
    Shipment,
    ShipmentLine,
    TaxLine,
    ValidationError,
    order_from_dict,
    order_to_dict,
    record_digest,
    refund_from_dict,
    refund_to_dict,
    validate,
    validation_errors,
)

UTC = timezone.utc


def full_order_dict():
    """A canonical order using every field (values in canonical form, as order_to_dict writes)."""
    return {
        "external_id": "5829417091234",
        "name": "#1042",
        "currency": "EUR",
        "taxes_included": True,
        "lines": [
            {
                "external_id": "14417890001", "sku": "TSHIRT-BLK-M", "name": "Organic T-Shirt - Black / M",
                "quantity": "2", "unit_price": "29.00", "discount_amount": "5.80",
                "tax_lines": [{"rate": "0.19", "amount": "8.33", "title": "DE MwSt"}],
                "product_external_id": "8812000001", "variant_external_id": "45110000011",
                "barcode": "4006381333931", "requires_shipping": True, "is_gift_card": False,
            },
            {
                "external_id": "14417890002", "sku": "MUG-CLASSIC", "name": "Classic Mug",
                "quantity": "1", "unit_price": "15.00", "discount_amount": "1.50",
                "tax_lines": [{"rate": "0.19", "amount": "2.16", "title": "DE MwSt"}],
                "product_external_id": "8812000002", "variant_external_id": "45110000021",
                "barcode": None, "requires_shipping": True, "is_gift_card": False,
            },
        ],
        "created_at": "2026-11-20T09:14:03Z",
        "updated_at": "2026-11-20T09:14:05.250000Z",
        "shipping_lines": [{
            "external_id": "4946484101420", "code": "DHL Paket", "title": "DHL Paket", "price": "4.90",
            "discount_amount": "0", "tax_lines": [{"rate": "0.19", "amount": "0.78", "title": "DE MwSt"}],
        }],
        "fee_lines": [{"external_id": "f1", "name": "Gift wrap", "amount": "0.00", "tax_lines": []}],
        "discounts": [
            {"code": "WELCOME10", "amount": "7.30", "kind": "percentage", "description": "10 % off"},
        ],
        "customer": {
            "external_id": "7012345678901", "email": "Jane.Doe@Example.com", "first_name": "Jane",
            "last_name": "Doe", "phone": "+49 30 1234567", "company": None, "vat": None,
        },
        "billing_address": {
            "first_name": "Jane", "last_name": "Doe", "company": None, "street": "Hauptstr. 1",
            "street2": "2. OG", "city": "Berlin", "zip": "10115", "state_code": None, "country_code": "DE",
            "phone": "+49 30 1234567", "email": None,
        },
        "shipping_address": {
            "first_name": "Max", "last_name": "Doe", "company": None, "street": "Gartenweg 7",
            "street2": None, "city": "Potsdam", "zip": "14467", "state_code": "BB", "country_code": "DE",
            "phone": None, "email": None,
        },
        "payments": [{
            "gateway": "shopify_payments", "transaction_id": "7301000001", "amount": "70.60",
            "currency": "EUR", "kind": "sale", "status": "success", "method": "card",
            "processed_at": "2026-11-20T09:14:02Z", "is_gift_card": False,
            "gateway_reference": "ch_3SShopifyPayCharge01", "parent_transaction_id": None,
        }],
        "financial_status": "paid",
        "fulfillment_status": "unfulfilled",
        "note": "Please gift wrap",
        "note_attributes": {"gift_message": "Happy birthday!"},
        "cancelled_at": None,
        "cancel_reason": None,
        "total_untaxed": "59.33",
        "total_tax": "11.27",
        "total": "70.60",
        "is_test": False,
        "source_name": "web",
        "tags": ["vip", "gift"],
        "presentment_currency": "EUR",
        "risk_level": "high",
        "location_external_id": "65544149001",
    }


def minimal_order_dict(**changes):
    data = {
        "external_id": "A-1",
        "name": "A-1",
        "currency": "EUR",
        "taxes_included": False,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "lines": [{"external_id": "L1", "name": "Widget", "quantity": "1", "unit_price": "10.00"}],
    }
    data.update(changes)
    return data


def minimal_line(**changes):
    return {"external_id": "L1", "name": "Widget", "quantity": "1", "unit_price": "10.00", **changes}


def errors_of(data):
    with pytest.raises(ValidationError) as info:
        order_from_dict(data)
    return {error.field: error.message for error in info.value.errors}


# --- round trip -------------------------------------------------------------------------


def test_full_order_round_trip_is_exact():
    data = full_order_dict()
    order = order_from_dict(data)
    assert order_to_dict(order) == data
    assert order_from_dict(order_to_dict(order)) == order


def test_to_dict_is_json_serialisable_and_uses_strings_for_decimals():
    out = order_to_dict(order_from_dict(full_order_dict()))
    text = json.dumps(out)
    assert json.loads(text) == out
    assert out["lines"][0]["unit_price"] == "29.00"
    assert out["total"] == "70.60"


def test_parsed_values_have_the_model_types():
    order = order_from_dict(full_order_dict())
    assert order.lines[0].unit_price == D("29.00") and isinstance(order.lines[0].quantity, D)
    assert order.lines[0].tax_lines[0] == TaxLine(D("0.19"), D("8.33"), "DE MwSt")
    assert order.created_at == datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)
    assert order.updated_at.microsecond == 250000
    assert isinstance(order.customer, Customer) and isinstance(order.shipping_address, Address)


def test_minimal_order_takes_defaults():
    order = order_from_dict(minimal_order_dict())
    assert order.shipping_lines == [] and order.payments == [] and order.tags == []
    assert order.financial_status == "pending" and order.fulfillment_status == "unfulfilled"
    assert order.lines[0].discount_amount == 0 and order.lines[0].requires_shipping is True
    assert order.total is None and order.customer is None
    assert order_from_dict(order_to_dict(order)) == order


def test_integers_are_accepted_for_quantities_money_and_identifiers():
    data = minimal_order_dict(external_id=727, lines=[minimal_line(external_id=315, quantity=2, unit_price=45,
                                                                   product_external_id=93)])
    order = order_from_dict(data)
    assert order.external_id == "727"
    assert order.lines[0].external_id == "315" and order.lines[0].product_external_id == "93"
    assert order.lines[0].quantity == D(2) and order.lines[0].unit_price == D(45)
    assert order_to_dict(order)["lines"][0]["quantity"] == "2"


def test_offsets_are_converted_to_utc_and_written_with_z():
    order = order_from_dict(minimal_order_dict(created_at="2026-11-20T10:14:03+01:00",
                                               updated_at="2026-11-20T04:14:03.5-05:00"))
    assert order.created_at == datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)
    assert order.created_at.utcoffset() == timedelta(0)
    out = order_to_dict(order)
    assert out["created_at"] == "2026-11-20T09:14:03Z"
    assert out["updated_at"] == "2026-11-20T09:14:03.500000Z"


def test_unknown_keys_are_ignored():
    data = minimal_order_dict(channel_specific={"x": 1}, total_price="70.60")
    data["lines"][0]["vendor"] = "Acme"
    assert order_from_dict(data) == order_from_dict(minimal_order_dict())


def test_decimal_text_is_written_without_exponent():
    order = order_from_dict(minimal_order_dict())
    order.lines[0].unit_price = D("1E+2")
    order.lines[0].discount_amount = D("0.0000001")
    line = order_to_dict(order)["lines"][0]
    assert (line["unit_price"], line["discount_amount"]) == ("100", "0.0000001")


def test_refund_round_trip():
    data = {
        "external_id": "96040001", "order_external_id": "5829417091234", "created_at": "2026-11-24T14:02:11Z",
        "currency": "EUR",
        "lines": [{"order_line_external_id": "14417890001", "quantity": "1", "restock": True,
                   "amount": "26.10", "tax_amount": "4.17"}],
        "shipping_amount": "0", "shipping_tax": "0", "adjustment_amount": "-0.50", "amount": "26.10",
        "transactions": [{
            "gateway": "shopify_payments", "transaction_id": "7301000002", "amount": "26.10",
            "currency": "EUR", "kind": "refund", "status": "success", "method": None, "processed_at": None,
            "is_gift_card": False,
            "gateway_reference": "ch_3SShopifyPayCharge01", "parent_transaction_id": "7301000001",
        }],
        "note": "Wrong size",
    }
    refund = refund_from_dict(data)
    assert refund.lines[0].restock is True and refund.adjustment_amount == D("-0.50")
    assert refund_to_dict(refund) == data


# --- validation: one pass, every error --------------------------------------------------


def test_all_errors_are_collected_in_one_pass():
    data = minimal_order_dict(
        currency="eur",
        created_at="2026-11-20T10:14:03",
        lines=[
            minimal_line(quantity="0", unit_price=12.5),
            "not an object",
            minimal_line(external_id="L3", quantity="-1", unit_price="-1"),
        ],
        customer={"email": "jane.doe(at)example.com"},
    )
    del data["name"]
    with pytest.raises(ValidationError) as info:
        order_from_dict(data)
    assert [error.field for error in info.value.errors] == [  # in the canonical field order
        "name", "currency", "lines[0].quantity", "lines[0].unit_price", "lines[1]",
        "lines[2].quantity", "lines[2].unit_price", "created_at", "customer.email",
    ]
    assert errors_of(data) == {
        "name": "is required",
        "currency": "must be an ISO 4217 currency code (3 upper-case letters)",
        "created_at": "must include a time zone offset (Z or +hh:mm)",
        "lines[0].quantity": "must be greater than 0",
        "lines[0].unit_price": 'must be a decimal string such as "12.50", not a float (floats lose cents)',
        "lines[1]": "must be an object",
        "lines[2].quantity": "must be greater than 0",
        "lines[2].unit_price": "must not be negative",
        "customer.email": "is not a valid email address",
    }


def test_validation_error_as_api_body():
    with pytest.raises(ValidationError) as info:
        order_from_dict(minimal_order_dict(lines=[minimal_line(quantity="0")]))
    assert info.value.as_dict() == {
        "error": "validation",
        "fields": [{"field": "lines[0].quantity", "message": "must be greater than 0"}],
    }
    assert isinstance(info.value, ValueError)
    assert "lines[0].quantity: must be greater than 0" in str(info.value)


@pytest.mark.parametrize("required", ["external_id", "name", "currency", "taxes_included", "lines",
                                      "created_at", "updated_at"])
def test_required_order_fields(required):
    data = minimal_order_dict()
    del data[required]
    assert errors_of(data) == {required: "is required"}


@pytest.mark.parametrize("required", ["external_id", "name", "quantity", "unit_price"])
def test_required_line_fields(required):
    line = minimal_line()
    del line[required]
    assert errors_of(minimal_order_dict(lines=[line])) == {f"lines[0].{required}": "is required"}


def test_null_is_refused_where_a_value_is_required():
    assert errors_of(minimal_order_dict(name=None, tags=None)) == {
        "name": "must not be null", "tags": "must not be null",
    }


def test_lines_must_not_be_empty():
    assert errors_of(minimal_order_dict(lines=[])) == {"lines": "must contain at least one entry"}
    assert errors_of(minimal_order_dict(lines={"a": 1})) == {"lines": "must be a list"}


@pytest.mark.parametrize("bad", [12.5, "NaN", "Infinity", "-Infinity", "1e3", "1E+2", "12,50", " 12.50",
                                 "12.", ".5", "+1", "0x1F", "", "1" * 31, True, None, [], {}])
def test_bad_decimals_are_rejected(bad):
    errors = errors_of(minimal_order_dict(lines=[minimal_line(unit_price=bad)]))
    assert list(errors) == ["lines[0].unit_price"]


@pytest.mark.parametrize("good", ["0", "0.00", "10", "10.5", "1234567.8901", 7])
def test_good_unit_prices(good):
    order = order_from_dict(minimal_order_dict(lines=[minimal_line(unit_price=good)]))
    assert order.lines[0].unit_price == D(str(good))


def test_zero_price_and_full_discount_are_valid():
    order = order_from_dict(minimal_order_dict(lines=[
        minimal_line(external_id="free", unit_price="0"),
        minimal_line(external_id="gift", quantity="2", unit_price="5.00", discount_amount="10.00"),
    ]))
    assert order.lines[1].net == 0


def test_discount_above_line_subtotal_is_rejected():
    line = minimal_line(quantity="2", unit_price="5.00", discount_amount="10.01")
    assert errors_of(minimal_order_dict(lines=[line])) == {
        "lines[0].discount_amount": "must not exceed quantity * unit_price",
    }


def test_shipping_discount_above_price_is_rejected():
    shipping = {"external_id": "s", "title": "Express", "price": "5.00", "discount_amount": "6.00"}
    assert errors_of(minimal_order_dict(shipping_lines=[shipping])) == {
        "shipping_lines[0].discount_amount": "must not exceed price",
    }


@pytest.mark.parametrize(("rate", "ok"), [("0", True), ("0.19", True), ("1", True), ("1.0", True),
                                          ("1.19", False), ("19", False), ("-0.1", False)])
def test_tax_rate_is_a_fraction(rate, ok):
    data = minimal_order_dict(lines=[minimal_line(tax_lines=[{"rate": rate, "amount": "1.90"}])])
    if ok:
        assert order_from_dict(data).lines[0].tax_lines[0].rate == D(rate)
    else:
        assert list(errors_of(data)) == ["lines[0].tax_lines[0].rate"]


@pytest.mark.parametrize("code", ["DEU", "de", "D", "1A"])
def test_country_codes_are_two_upper_case_letters(code):
    data = minimal_order_dict(shipping_address={"country_code": code})
    assert list(errors_of(data)) == ["shipping_address.country_code"]


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", ""])
def test_currency_codes(currency):
    assert list(errors_of(minimal_order_dict(currency=currency))) == ["currency"]


@pytest.mark.parametrize(("email", "ok"), [
    ("jane@example.com", True), ("Jane.Doe+shop@mail.example.co.uk", True), ("", True),
    ("jane", False), ("jane@example", False), ("jane@@example.com", False), ("jane doe@example.com", False),
    ("@example.com", False),
])
def test_email_shape_is_checked_loosely(email, ok):
    data = minimal_order_dict(customer={"email": email}, billing_address={"email": email})
    if ok:
        assert order_from_dict(data).customer.email == email
    else:
        assert errors_of(data) == {
            "customer.email": "is not a valid email address",
            "billing_address.email": "is not a valid email address",
        }


@pytest.mark.parametrize("value", [
    "2026-11-20T10:14:03",  # naive
    "2026-11-20",
    "20.11.2026 10:14",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-20T25:00:00Z",
    "2026-11-20T09:14:03+24:00",
    "\u0662\u0660\u0662\u0666-11-20T09:14:03Z",  # Arabic-Indic digits
    1732097643,
])
def test_bad_datetimes(value):
    assert list(errors_of(minimal_order_dict(created_at=value))) == ["created_at"]


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-20T09:14:03Z", datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)),
    ("2026-11-20t09:14:03z", datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)),
    ("2026-11-20 09:14:03+00:00", datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)),
    ("2026-11-20T00:30:00+05:30", datetime(2026, 11, 19, 19, 0, tzinfo=UTC)),
    ("2026-11-20T09:14:03.123456789012Z", datetime(2026, 11, 20, 9, 14, 3, 123456, tzinfo=UTC)),
])
def test_good_datetimes(value, expected):
    assert order_from_dict(minimal_order_dict(created_at=value)).created_at == expected


def test_enumerations():
    errors = errors_of(minimal_order_dict(financial_status="settled", payments=[
        {"gateway": "stripe", "amount": "1.00", "currency": "USD", "kind": "charge", "status": "ok"},
    ]))
    assert errors["financial_status"] == "must be one of: " + ", ".join(FINANCIAL_STATUSES)
    assert set(errors) == {"financial_status", "payments[0].kind", "payments[0].status"}


def test_types_of_strings_booleans_lists_and_maps():
    errors = errors_of(minimal_order_dict(
        name=1042, taxes_included="true", tags="vip", note_attributes={"gift_message": 5}, external_id=1.5,
    ))
    assert errors == {
        "name": "must be a string",
        "taxes_included": "must be true or false",
        "tags": "must be a list",
        "note_attributes.gift_message": "must be a string",
        "external_id": "must be a string or an integer",
    }


def test_blank_identifiers_and_names_are_rejected():
    errors = errors_of(minimal_order_dict(external_id="  ", lines=[minimal_line(name="")]))
    assert errors == {"external_id": "must not be empty", "lines[0].name": "must not be empty"}


def test_duplicate_line_ids_are_rejected():
    errors = errors_of(minimal_order_dict(lines=[minimal_line(), minimal_line(name="Other")]))
    assert errors == {"lines[1].external_id": "duplicates an earlier external_id"}


def test_many_bad_lines_are_all_reported():
    # Speed is a benchmark's business (a wall-clock bound fails on a loaded machine); this
    # proves every bad field of a large order is named, each under its own line.
    lines = [minimal_line(external_id=str(index), quantity="x", unit_price="-1") for index in range(20000)]
    errors = errors_of(minimal_order_dict(lines=lines))
    assert len(errors) == 40000
    assert "lines[19999].quantity" in errors and "lines[19999].unit_price" in errors


def test_top_level_must_be_an_object():
    with pytest.raises(ValidationError) as info:
        order_from_dict(["not", "an", "order"])
    assert info.value.as_dict()["fields"] == [{"field": "$", "message": "must be a JSON object"}]


def test_messages_never_echo_personal_data():
    secrets = ["jane.secret", "Hauptgeheimstr", "Geheimhausen", "Janedoeson", "+49 555"]
    data = minimal_order_dict(
        customer={"email": "jane.secret(at)mail", "first_name": 12, "phone": ["+49 555"]},
        shipping_address={"street": 7, "city": "Geheimhausen", "country_code": "Hauptgeheimstr",
                          "last_name": "Janedoeson", "email": "Janedoeson@"},
    )
    with pytest.raises(ValidationError) as info:
        order_from_dict(data)
    text = json.dumps(info.value.as_dict()) + str(info.value)
    assert len(info.value.errors) == 6
    for secret in secrets:
        assert secret not in text


def test_refund_validation():
    with pytest.raises(ValidationError) as info:
        refund_from_dict({"order_external_id": "", "created_at": "2026-11-24T14:02:11Z", "currency": "EUR",
                          "lines": [{"order_line_external_id": "1", "quantity": "-1", "amount": "1"}]})
    assert {e.field: e.message for e in info.value.errors} == {
        "order_external_id": "must not be empty",
        "amount": "is required",
        "lines[0].quantity": "must not be negative",
    }


def test_shipment_validation():
    # Connectors build shipments by hand (there is no JSON form to read them from).
    with pytest.raises(ValidationError) as info:
        validate(Shipment(order_external_id="727", lines=[ShipmentLine(quantity=D(1))],
                          tracking_url="javascript:alert(1)"))
    assert {e.field: e.message for e in info.value.errors} == {
        "lines[0].order_line_external_id": "order_line_external_id or sku is required",
        "tracking_url": "must be an http(s) URL",
    }
    with pytest.raises(ValidationError):
        validate(Shipment(order_external_id="727", lines=[]))


# --- records built by hand (connectors) --------------------------------------------------


def hand_built_order(**changes):
    values = {
        "external_id": "1", "name": "#1", "currency": "EUR", "taxes_included": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        "lines": [Line(external_id="1", name="Widget", quantity=D(1), unit_price=D("9.99"))],
    }
    values.update(changes)
    return Order(**values)


def test_validate_catches_floats_and_naive_datetimes_in_hand_built_records():
    order = hand_built_order(created_at=datetime(2026, 1, 1),  # naive on purpose
                             lines=[Line(external_id="1", name="Widget", quantity=1, unit_price=9.99)])
    assert {e.field: e.message for e in validation_errors(order)} == {
        "created_at": "must be timezone-aware",
        "lines[0].quantity": "must be a Decimal",
        "lines[0].unit_price": "must be a Decimal, not a float",
    }
    with pytest.raises(ValidationError):
        validate(order)


def test_validate_returns_a_valid_record():
    order = hand_built_order()
    assert validate(order) is order


def test_to_dict_refuses_floats_and_naive_datetimes():
    with pytest.raises(TypeError, match=r"lines\[0\]\.unit_price"):
        order_to_dict(hand_built_order(lines=[Line(external_id="1", name="W", quantity=D(1),
                                                   unit_price=9.99)]))
    with pytest.raises(ValueError, match="updated_at"):
        order_to_dict(hand_built_order(updated_at=datetime(2026, 1, 1)))


def test_constructors_are_keyword_only_except_tax_line():
    assert TaxLine(D("0.19"), D("1.90")).title == ""
    with pytest.raises(TypeError):
        Line("1", None, "Widget", D(1), D(1))  # type: ignore[misc]


def test_shipment_line_defaults():
    assert ShipmentLine(sku="X", quantity=D(1)).order_line_external_id is None


# --- properties -------------------------------------------------------------------------


def test_payment_amounts():
    order = hand_built_order(payments=[
        Payment(gateway="gift_card", amount=D("10.00"), currency="EUR", is_gift_card=True),
        Payment(gateway="stripe", amount=D("50.00"), currency="EUR", kind="authorization"),
        Payment(gateway="stripe", amount=D("50.00"), currency="EUR", kind="capture"),
        Payment(gateway="stripe", amount=D("5.00"), currency="EUR", status="failure"),
        Payment(gateway="stripe", amount=D("60.00"), currency="USD"),  # presentment: not counted
        Payment(gateway="stripe", amount=D("7.00"), currency="EUR", kind="refund"),
    ])
    assert order.paid_amount == D("60.00")
    assert order.gift_card_amount == D("10.00")
    assert order.refunded_amount == D("7.00")
    assert hand_built_order().paid_amount == 0


def test_cancelled_and_names():
    assert not hand_built_order().cancelled
    assert hand_built_order(cancelled_at=datetime(2026, 1, 2, tzinfo=UTC)).cancelled
    assert Address(first_name=" Jane ", last_name="Doe").name == "Jane Doe"
    assert Address(company="ACME GmbH").name == "ACME GmbH"
    assert Customer(first_name="Jane").name == "Jane"
    assert Customer().name == ""


def test_line_amounts_and_lookup():
    line = Line(external_id="1", name="W", quantity=D(3), unit_price=D("9.99"), discount_amount=D("3.00"),
                tax_lines=[TaxLine(D("0.05"), D("1.35")), TaxLine(D("0.07"), D("1.89"))])
    assert (line.subtotal, line.net, line.tax_amount) == (D("29.97"), D("26.97"), D("3.24"))
    order = hand_built_order(lines=[line])
    assert order.line_by_external_id("1") is line
    assert order.line_by_external_id("2") is None


# --- digest -----------------------------------------------------------------------------


def test_digest_ignores_key_order_and_time_zone_but_not_content():
    data = full_order_dict()
    reordered = dict(reversed(list(copy.deepcopy(data).items())))
    reordered["created_at"] = "2026-11-20T10:14:03+01:00"
    assert record_digest(order_from_dict(reordered)) == record_digest(order_from_dict(data))
    changed = copy.deepcopy(data)
    changed["lines"][0]["quantity"] = "3"
    assert record_digest(order_from_dict(changed)) != record_digest(order_from_dict(data))
    assert len(record_digest(order_from_dict(data))) == 64
