"""The importer's line plan (``importer/plan.py``): every money decision, without Odoo."""

from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from omni_connector_base.canonical import FeeLine, Line, Order, ShippingLine, TaxLine
from omni_connector_base.importer.plan import (
    TaxKey,
    discount_percent,
    plan_order_lines,
    rounding_line_price,
    tax_keys_for,
)

UTC = timezone.utc


def order(**changes):
    """Shopify #1042 in short: taxes included at 19 %, a line discount, shipping and a fee."""
    values = {
        "external_id": "1042", "name": "#1042", "currency": "EUR", "taxes_included": True,
        "created_at": datetime(2026, 11, 20, tzinfo=UTC), "updated_at": datetime(2026, 11, 20, tzinfo=UTC),
        "lines": [
            Line(external_id="1", sku="TSHIRT", name="T-Shirt", quantity=D(2), unit_price=D("29.00"),
                 discount_amount=D("5.80"), tax_lines=[TaxLine(D("0.19"), D("8.33"))], variant_external_id="v1",
                 barcode="4006381333931"),
            Line(external_id="2", sku="MUG", name="Mug", quantity=D(1), unit_price=D("15.00"),
                 tax_lines=[TaxLine(D("0.19"), D("2.39"))]),
        ],
        "shipping_lines": [ShippingLine(external_id="s1", code="DHL", title="DHL Paket", price=D("4.90"),
                                        discount_amount=D("4.90"), tax_lines=[TaxLine(D("0.19"), D("0"))])],
        "fee_lines": [FeeLine(external_id="f1", name="Gift wrap", amount=D("2.38"),
                              tax_lines=[TaxLine(D("0.19"), D("0.38"))])],
    }
    values.update(changes)
    return Order(**values)


VAT19_INCL = TaxKey(percent=D(19), included=True)


def test_tax_keys_are_distinct_percentages_in_order():
    taxes = [TaxLine(D("0.05"), D("5")), TaxLine(D("0.070"), D("7")), TaxLine(D("0.05"), D("1"))]
    assert tax_keys_for(taxes, included=False) == (TaxKey(D(5), False), TaxKey(D(7), False))
    assert str(tax_keys_for([TaxLine(D("0.0875"), D(1))], included=False)[0].percent) == "8.75"
    assert tax_keys_for([], included=True) == ()


@pytest.mark.parametrize(("amount", "quantity", "price", "percent"), [
    ("5.80", "2", "29.00", "10.000000"),
    ("1", "3", "9.99", "3.336670"),  # rounded half up to the Discount precision
    ("0", "1", "10", "0"),
    ("5", "1", "0", "0"),  # nothing to discount
    ("12", "1", "10", "100.000000"),  # never beyond the whole price
])
def test_discount_percent(amount, quantity, price, percent):
    assert discount_percent(D(amount), D(quantity), D(price)) == D(percent)


def test_line_mode_keeps_discounts_on_the_lines():
    planned = plan_order_lines(order(), "line")
    assert [(p.kind, p.external_id) for p in planned] == [
        ("product", "1"), ("product", "2"), ("shipping", "shipping:s1"), ("fee", "fee:f1"),
    ]
    tshirt, mug, shipping, fee = planned
    assert (tshirt.quantity, tshirt.price_unit, tshirt.discount_percent) == (D(2), D("29.00"), D(10))
    assert tshirt.net == D("52.20")
    assert (tshirt.sku, tshirt.variant_external_id, tshirt.barcode) == ("TSHIRT", "v1", "4006381333931")
    assert tshirt.tax_keys == (VAT19_INCL,)
    assert mug.discount_percent == 0
    assert (shipping.shipping_code, shipping.name, shipping.discount_percent, shipping.net) == (
        "DHL", "DHL Paket", D(100), D(0))
    assert (fee.name, fee.quantity, fee.price_unit, fee.tax_keys) == ("Gift wrap", D(1), D("2.38"), (VAT19_INCL,))


def test_product_mode_adds_a_negative_line_per_discount_with_the_same_taxes():
    planned = plan_order_lines(order(), "product")
    assert [(p.kind, p.external_id) for p in planned] == [
        ("product", "1"), ("product", "2"), ("discount", "1:discount"), ("discount", "shipping:s1:discount"),
        ("shipping", "shipping:s1"), ("fee", "fee:f1"),
    ]
    tshirt, _mug, line_discount, shipping_discount, shipping, _fee = planned
    assert tshirt.discount_percent == 0 and shipping.discount_percent == 0
    assert (line_discount.name, line_discount.price_unit, line_discount.tax_keys) == (
        "Discount on T-Shirt", D("-5.80"), (VAT19_INCL,))
    assert (shipping_discount.name, shipping_discount.price_unit) == ("Discount on DHL Paket", D("-4.90"))
    # the plan charges what the channel charged, in either mode
    nets = {mode: sum((p.net for p in plan_order_lines(order(), mode)), D(0)) for mode in ("line", "product")}
    assert nets == {"line": D("69.58"), "product": D("69.58")}


def test_taxes_excluded_orders_plan_excluded_tax_keys():
    planned = plan_order_lines(order(taxes_included=False))
    assert {key for p in planned for key in p.tax_keys} == {TaxKey(D(19), False)}


def test_gift_cards_and_the_source_line_are_carried():
    card = Line(external_id="g", name="Gift card", quantity=D(1), unit_price=D("25.00"), is_gift_card=True)
    (planned,) = plan_order_lines(order(lines=[card], shipping_lines=[], fee_lines=[]))
    assert planned.is_gift_card and planned.source_line is card
    assert planned.tax_keys == ()


def test_product_mode_without_discounts_adds_no_discount_line():
    plain = order(lines=[order().lines[1]], shipping_lines=[], fee_lines=[])
    assert [p.kind for p in plan_order_lines(plain, "product")] == ["product"]


def test_a_discount_line_carries_every_tax_of_its_line_and_a_negative_fee_stays_negative():
    taxes = [TaxLine(D("0.05"), D("4.50")), TaxLine(D("0.07"), D("6.30"))]
    discounted = Line(external_id="1", name="Bike", quantity=D(1), unit_price=D("100.00"),
                      discount_amount=D("10.00"), tax_lines=taxes)
    loyalty = FeeLine(external_id="l", name="Loyalty", amount=D("-2.50"))
    planned = plan_order_lines(order(lines=[discounted], shipping_lines=[], fee_lines=[loyalty],
                                     taxes_included=False), "product")
    _bike, discount, fee = planned
    assert discount.tax_keys == (TaxKey(D(5), False), TaxKey(D(7), False))
    assert (fee.price_unit, fee.net, fee.tax_keys) == (D("-2.50"), D("-2.50"), ())


@pytest.mark.parametrize(("gap", "rates", "included", "currency", "price"), [
    ("0.05", ["0.19"], True, "EUR", "0.05"),  # tax included: the price is the gap (0.04 + 0.01 tax)
    ("0.01", ["0.0875"], False, "USD", "0.01"),  # 0.01 + 0.00 tax
    ("0.05", ["0.19"], False, "EUR", "0.04"),  # 0.04 + 0.01 tax
    ("-0.12", ["0.19"], False, "EUR", "-0.10"),  # -0.10 - 0.02 tax
    ("3", ["0.10"], False, "JPY", "3"),  # 3 + 0 (0.3 rounds to 0)
    ("0.12", ["0.05", "0.07"], False, "EUR", "0.10"),  # two taxes: 0.10 + 0.01 + 0.01
    ("0.02", [], False, "EUR", "0.02"),  # an untaxed order: untaxed line
])
def test_rounding_line_price_adds_exactly_the_gap(gap, rates, included, currency, price):
    result = rounding_line_price(D(gap), [D(rate) for rate in rates], included, currency)
    assert result == D(price)


def test_rounding_line_price_is_none_when_no_taxed_price_reaches_the_gap():
    # 0.03 at 50 %: 0.02 + 0.01; at 150 % no price p gives p + round(1.5 p) = 0.01
    assert rounding_line_price(D("0.03"), [D("0.5")], False, "EUR") == D("0.02")
    assert rounding_line_price(D("0.01"), [D("1.5")], False, "EUR") is None
