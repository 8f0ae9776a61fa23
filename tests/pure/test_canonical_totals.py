"""Totals of canonical orders: the fixtures' numbers to the cent, and the edge cases.

The two fixture orders are rebuilt by hand, field by field, from
``tests/fixtures/shopify/orders_create.json`` and ``tests/fixtures/woocommerce/order.json``
(what the channel mappers must produce), so these tests pin the totals semantics that the
importer relies on independently of any mapper.
"""

import json
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import (
    Discount,
    FeeLine,
    Line,
    Order,
    Payment,
    ShippingLine,
    TaxLine,
    Totals,
    channel_totals,
    check_totals,
    compare_totals,
    compute_totals,
    validate,
)
from omni_connector_base.canonical.totals import currency_tolerance, minor_units_tolerance

UTC = timezone.utc


def vat19(amount):
    return [TaxLine(D("0.19"), D(amount), "DE MwSt")]


def ca_tax(amount):
    return [TaxLine(D("0.0875"), D(amount), "CA State Tax")]


def shopify_order_1042():
    """Shopify order #1042: EUR, taxes included at 19 %, WELCOME10 allocated per line."""
    return Order(
        external_id="5829417091234",
        name="#1042",
        currency="EUR",
        taxes_included=True,
        created_at=datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC),
        updated_at=datetime(2026, 11, 20, 9, 14, 5, tzinfo=UTC),
        lines=[
            Line(
                external_id="14417890001", sku="TSHIRT-BLK-M", name="Organic T-Shirt - Black / M",
                quantity=D(2), unit_price=D("29.00"), discount_amount=D("5.80"), tax_lines=vat19("8.33"),
                product_external_id="8812000001", variant_external_id="45110000011",
            ),
            Line(
                external_id="14417890002", sku="MUG-CLASSIC", name="Classic Mug",
                quantity=D(1), unit_price=D("15.00"), discount_amount=D("1.50"), tax_lines=vat19("2.16"),
                product_external_id="8812000002", variant_external_id="45110000021",
            ),
        ],
        shipping_lines=[
            ShippingLine(external_id="4946484101420", code="DHL Paket", title="DHL Paket", price=D("4.90"),
                         tax_lines=vat19("0.78")),
        ],
        discounts=[Discount(code="WELCOME10", amount=D("7.30"), kind="percentage")],
        payments=[
            Payment(gateway="shopify_payments", transaction_id="7301000001", amount=D("70.60"),
                    currency="EUR", gateway_reference="ch_3SShopifyPayCharge01"),
        ],
        financial_status="paid",
        total_tax=D("11.27"),
        total=D("70.60"),
    )


def woocommerce_order_727(line_taxes=("7.09", "1.58"), shipping_tax="0.70", fee_tax="0.26"):
    """WooCommerce order 727: USD, taxes excluded at 8.75 %, coupon winter10, gift-wrap fee."""
    return Order(
        external_id="727",
        name="727",
        currency="USD",
        taxes_included=False,
        created_at=datetime(2026, 11, 21, 17, 28, 2, tzinfo=UTC),
        updated_at=datetime(2026, 11, 21, 17, 28, 9, tzinfo=UTC),
        lines=[
            # subtotal 90.00 for 2, total 81.00: the coupon took 9.00 off the line.
            Line(external_id="315", sku="HOODIE-BLU-L", name="Hoodie - Blue, L", quantity=D(2),
                 unit_price=D("45.00"), discount_amount=D("9.00"), tax_lines=ca_tax(line_taxes[0]),
                 product_external_id="93", variant_external_id="95"),
            Line(external_id="316", sku="BEANIE-GRY", name="Beanie", quantity=D(1),
                 unit_price=D("20.00"), discount_amount=D("2.00"), tax_lines=ca_tax(line_taxes[1]),
                 product_external_id="101"),
        ],
        shipping_lines=[
            ShippingLine(external_id="317", code="flat_rate", title="Flat rate", price=D("8.00"),
                         tax_lines=ca_tax(shipping_tax)),
        ],
        fee_lines=[FeeLine(external_id="319", name="Gift wrap", amount=D("3.00"), tax_lines=ca_tax(fee_tax))],
        discounts=[Discount(code="winter10", amount=D("11.00"), kind="fixed")],
        payments=[
            Payment(gateway="stripe", transaction_id="ch_3QWooStripe00727", amount=D("119.63"),
                    currency="USD"),
        ],
        financial_status="paid",
        total_tax=D("9.63"),
        total=D("119.63"),
    )


def simple_order(lines, *, currency="EUR", taxes_included=False, shipping_lines=(), fee_lines=(), **declared):
    return Order(
        external_id="1", name="#1", currency=currency, taxes_included=taxes_included, lines=list(lines),
        shipping_lines=list(shipping_lines), fee_lines=list(fee_lines),
        created_at=datetime(2026, 1, 1, tzinfo=UTC), updated_at=datetime(2026, 1, 1, tzinfo=UTC), **declared,
    )


def line(external_id, quantity, unit_price, discount="0", taxes=()):
    return Line(external_id=external_id, name=f"Item {external_id}", quantity=D(quantity),
                unit_price=D(unit_price), discount_amount=D(discount), tax_lines=list(taxes))


# --- the fixtures -----------------------------------------------------------------------


def test_hand_built_fixture_orders_are_valid():
    validate(shopify_order_1042())
    validate(woocommerce_order_727())


def test_shopify_fixture_tax_included_totals():
    totals = compute_totals(shopify_order_1042())
    # 73.00 - 7.30 + 4.90 = 70.60; tax 8.33 + 2.16 + 0.78 = 11.27
    assert totals == Totals(untaxed=D("59.33"), tax=D("11.27"), total=D("70.60"))
    assert str(totals.total) == "70.60"


def test_shopify_fixture_matches_the_payload_it_mirrors():
    payload = json.loads((FIXTURES / "shopify" / "orders_create.json").read_text())
    order = shopify_order_1042()
    assert compute_totals(order).total == D(payload["total_price"])
    assert compute_totals(order).tax == D(payload["total_tax"])
    assert sum(line.discount_amount for line in order.lines) == D(payload["total_discounts"])
    assert sum(line.subtotal for line in order.lines) == D(payload["total_line_items_price"])


def test_shopify_fixture_check_totals_ok():
    check = check_totals(shopify_order_1042())
    assert check.ok
    assert check.difference == 0
    assert check.differences == {"total": D(0), "tax": D(0)}  # untaxed not declared by Shopify
    assert check.declared.untaxed is None


def test_woocommerce_fixture_tax_excluded_totals():
    totals = compute_totals(woocommerce_order_727())
    # nets 81.00 + 18.00 + 8.00 + 3.00 = 110.00; tax 7.09 + 1.58 + 0.70 + 0.26 = 9.63
    assert totals == Totals(untaxed=D("110.00"), tax=D("9.63"), total=D("119.63"))
    assert str(totals.total) == "119.63"


def test_woocommerce_fixture_matches_the_payload_it_mirrors():
    payload = json.loads((FIXTURES / "woocommerce" / "order.json").read_text())
    totals = compute_totals(woocommerce_order_727())
    assert totals.total == D(payload["total"])
    assert totals.tax == D(payload["total_tax"])
    line_totals = sum(D(item["total"]) for item in payload["line_items"])
    assert sum(line.net for line in woocommerce_order_727().lines) == line_totals


def test_woocommerce_unrounded_tax_amounts_are_rounded_per_tax_line():
    # WooCommerce's "taxes" arrays carry 4 decimals (7.0875, 1.575, 0.7, 0.2625).
    order = woocommerce_order_727(line_taxes=("7.0875", "1.575"), shipping_tax="0.7", fee_tax="0.2625")
    assert compute_totals(order) == Totals(untaxed=D("110.00"), tax=D("9.63"), total=D("119.63"))


def test_woocommerce_fixture_check_totals_ok_with_declared_untaxed():
    order = woocommerce_order_727()
    order.total_untaxed = D("110.00")
    check = check_totals(order)
    assert check.ok
    assert set(check.differences) == {"total", "tax", "untaxed"}


def test_order_discounts_are_informative_only():
    order = shopify_order_1042()
    order.discounts.append(Discount(code="EXTRA", amount=D("50.00")))
    assert compute_totals(order).total == D("70.60")


# --- edge cases -------------------------------------------------------------------------


def test_full_discount_line_costs_nothing():
    order = simple_order([line("1", "1", "10.00", discount="10.00"), line("2", "1", "5.00")])
    validate(order)
    assert compute_totals(order) == Totals(untaxed=D("5.00"), tax=D("0.00"), total=D("5.00"))


def test_zero_priced_line():
    order = simple_order([line("1", "1", "0"), line("2", "2", "7.50", taxes=[TaxLine(D("0.2"), D("3.00"))])])
    validate(order)
    assert compute_totals(order) == Totals(untaxed=D("15.00"), tax=D("3.00"), total=D("18.00"))


def test_quantity_above_one_with_discount():
    # 3 x 9.99 = 29.97, minus 3.00 for the whole line = 26.97; 19 % = 5.1243 -> 5.12
    order = simple_order([line("1", "3", "9.99", discount="3.00", taxes=[TaxLine(D("0.19"), D("5.12"))])])
    assert compute_totals(order) == Totals(untaxed=D("26.97"), tax=D("5.12"), total=D("32.09"))


def test_two_tax_lines_on_one_line():
    # Canadian GST 5 % + PST 7 % on 100.00
    taxes = [TaxLine(D("0.05"), D("5.00"), "GST"), TaxLine(D("0.07"), D("7.00"), "PST")]
    order = simple_order([line("1", "1", "100.00", taxes=taxes)], currency="CAD")
    assert compute_totals(order) == Totals(untaxed=D("100.00"), tax=D("12.00"), total=D("112.00"))
    assert order.lines[0].tax_amount == D("12.00")


def test_two_tax_lines_tax_included():
    # 112.00 including GST 5.00 and PST 7.00
    taxes = [TaxLine(D("0.05"), D("5.00"), "GST"), TaxLine(D("0.07"), D("7.00"), "PST")]
    order = simple_order([line("1", "1", "112.00", taxes=taxes)], currency="CAD", taxes_included=True)
    assert compute_totals(order) == Totals(untaxed=D("100.00"), tax=D("12.00"), total=D("112.00"))


def test_jpy_has_no_decimals():
    # 2 x 1980 - 198 = 3762 incl. 10 % (342); shipping 500 incl. 45
    order = simple_order(
        [line("1", "2", "1980", discount="198", taxes=[TaxLine(D("0.10"), D("342"))])],
        shipping_lines=[ShippingLine(external_id="s", title="Yamato", price=D("500"),
                                     tax_lines=[TaxLine(D("0.10"), D("45"))])],
        currency="JPY", taxes_included=True, total=D("4262"), total_tax=D("387"),
    )
    totals = compute_totals(order)
    assert totals == Totals(untaxed=D("3875"), tax=D("387"), total=D("4262"))
    assert (str(totals.untaxed), str(totals.tax), str(totals.total)) == ("3875", "387", "4262")
    assert check_totals(order).ok


def test_three_decimal_currency():
    order = simple_order([line("1", "3", "1.125", taxes=[TaxLine(D("0.10"), D("0.338"))])], currency="KWD")
    assert compute_totals(order) == Totals(untaxed=D("3.375"), tax=D("0.338"), total=D("3.713"))


def test_fractional_quantity_is_rounded_per_line_half_up():
    # 1.5 kg x 3.99 = 5.985 -> 5.99; twice -> 11.98 (not round(11.97) of the raw sum)
    order = simple_order([line("1", "1.5", "3.99"), line("2", "1.5", "3.99")])
    assert compute_totals(order).total == D("11.98")


def test_tax_included_shipping_discount_and_fee():
    order = simple_order(
        [line("1", "1", "11.90", taxes=[TaxLine(D("0.19"), D("1.90"))])],
        shipping_lines=[ShippingLine(external_id="s", title="Free shipping", price=D("4.90"),
                                     discount_amount=D("4.90"))],
        fee_lines=[FeeLine(external_id="f", name="Gift wrap", amount=D("2.38"),
                           tax_lines=[TaxLine(D("0.19"), D("0.38"))])],
        taxes_included=True,
    )
    assert compute_totals(order) == Totals(untaxed=D("12.00"), tax=D("2.28"), total=D("14.28"))


def test_negative_fee_reduces_the_total():
    loyalty = FeeLine(external_id="f", name="Loyalty", amount=D("-2.50"))
    order = simple_order([line("1", "1", "20.00")], fee_lines=[loyalty])
    validate(order)
    assert compute_totals(order).total == D("17.50")


def test_empty_sums_keep_the_currency_exponent():
    order = simple_order([line("1", "1", "0")])
    totals = compute_totals(order)
    assert [str(totals.untaxed), str(totals.tax), str(totals.total)] == ["0.00", "0.00", "0.00"]


# --- tolerance ----------------------------------------------------------------------------


@pytest.mark.parametrize(("declared", "ok", "difference"), [
    ("70.60", True, "0.00"),
    ("70.61", True, "-0.01"),
    ("70.59", True, "0.01"),
    ("70.62", False, "-0.02"),
    ("70.58", False, "0.02"),
])
def test_tolerance_of_one_cent(declared, ok, difference):
    order = shopify_order_1042()
    order.total = D(declared)
    check = check_totals(order)
    assert check.ok is ok
    assert check.difference == D(difference)


def test_tolerance_is_configurable():
    order = shopify_order_1042()
    order.total = D("70.62")
    assert check_totals(order, tolerance=D("0.02")).ok
    assert not check_totals(order, tolerance=D("0")).ok



@pytest.mark.parametrize(("units", "exponent", "amount"), [
    (1, 2, "0.01"), (1, 0, "1"), (1, 3, "0.001"), (3, 2, "0.03"), (0, 3, "0.000"), (2, 4, "0.0002"),
])
def test_tolerance_in_minor_units(units, exponent, amount):
    assert str(minor_units_tolerance(units, exponent)) == amount


@pytest.mark.parametrize("units", [-1, 1.5, True, "1"])
def test_tolerance_in_minor_units_refuses_what_is_no_count(units):
    with pytest.raises(ValueError, match="minor units"):
        minor_units_tolerance(units, 2)


def test_default_tolerance_is_one_minor_unit_of_the_order_currency():
    jpy = _one_line_order("JPY", "3000")
    jpy.total = D(3001)
    assert check_totals(jpy).ok, "one yen, not a hundredth of one"
    jpy.total = D(3002)
    assert not check_totals(jpy).ok
    kwd = _one_line_order("KWD", "12.500")
    kwd.total = D("12.502")
    assert not check_totals(kwd).ok, "two fils are beyond one minor unit (an absolute 0.01 is ten fils)"
    kwd.total = D("12.501")
    assert check_totals(kwd).ok
    assert currency_tolerance("KWD", 5) == D("0.005") and currency_tolerance("eur") == D("0.01")


def _one_line_order(currency, price):
    return Order(
        external_id="1", name="#1", currency=currency, taxes_included=False,
        created_at=datetime(2026, 11, 20, tzinfo=UTC), updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        lines=[Line(external_id="1", name="Item", quantity=D(1), unit_price=D(price))],
    )

def test_largest_difference_is_reported_and_described():
    order = shopify_order_1042()
    order.total_tax = D("11.20")
    check = check_totals(order)
    assert not check.ok
    assert check.difference == D("0.07")
    assert check.differences == {"total": D("0.00"), "tax": D("0.07")}
    assert "tax: computed 11.27, declared 11.20 (difference 0.07)" in check.describe()


def test_nothing_declared_is_nothing_to_contradict():
    order = shopify_order_1042()
    order.total = order.total_tax = None
    check = check_totals(order)
    assert check.ok
    assert check.difference == 0
    assert check.describe() == "the channel declared no totals"


# --- the importer's side: Odoo's totals against the channel's ------------------------------


def test_channel_totals_fill_what_the_channel_did_not_declare():
    # Shopify declares total and tax, not the untaxed amount: total - tax.
    assert channel_totals(shopify_order_1042()) == Totals(untaxed=D("59.33"), tax=D("11.27"), total=D("70.60"))
    # Nothing declared: the lines' totals.
    order = woocommerce_order_727()
    order.total = order.total_tax = None
    assert channel_totals(order) == compute_totals(order)
    # A declared part is kept even when the lines say otherwise.
    order.total, order.total_untaxed = D("120.00"), D("110.50")
    assert channel_totals(order) == Totals(untaxed=D("110.50"), tax=D("9.63"), total=D("120.00"))


def test_odoo_totals_within_tolerance_leave_a_rounding_gap():
    odoo = Totals(untaxed=D("59.33"), tax=D("11.27"), total=D("70.6"))  # Odoo's float, shortest repr
    check = compare_totals(odoo, channel_totals(shopify_order_1042()))
    assert check.ok
    assert check.total_gap == D("0.00")  # nothing to add: no rounding line
    order = shopify_order_1042()
    order.total, order.total_untaxed = D("70.61"), None
    check = compare_totals(odoo, channel_totals(order), D("0.02"))
    assert check.ok
    assert check.total_gap == D("0.01")  # the rounding line Odoo adds


def test_odoo_totals_beyond_tolerance_are_described_side_by_side():
    order = shopify_order_1042()
    order.total = D("71.60")
    odoo = Totals(untaxed=D("59.33"), tax=D("11.27"), total=D("70.6"))
    check = compare_totals(odoo, channel_totals(order), D("0.01"))
    assert not check.ok
    assert check.describe_sides("EUR", "Odoo", "channel") == (
        "Odoo: untaxed 59.33 + tax 11.27 = 70.6 EUR; channel: untaxed 60.33 + tax 11.27 = 71.60 EUR; "
        "difference 1.00 (tolerance 0.01)"
    )


def test_equal_totals_never_show_a_negative_zero():
    odoo = Totals(untaxed=D("10.00"), tax=D("1.00"), total=D("11.00"))
    check = compare_totals(odoo, Totals(untaxed=D("10.50"), tax=D("0.50"), total=D("11.00")))
    assert not check.ok
    assert str(check.total_gap) == "0.00"
    assert compare_totals(odoo, Totals(untaxed=None, tax=None, total=None)).total_gap == 0


def test_compare_totals_checks_each_part_against_the_tolerance_inclusively():
    declared = Totals(untaxed=D("10.00"), tax=D("1.90"), total=D("11.90"))
    within = compare_totals(Totals(untaxed=D("10.01"), tax=D("1.89"), total=D("11.90")), declared)
    assert within.ok and within.differences == {"total": D("0.00"), "tax": D("-0.01"), "untaxed": D("0.01")}
    beyond = compare_totals(Totals(untaxed=D("10.02"), tax=D("1.88"), total=D("11.90")), declared)
    assert not beyond.ok and beyond.difference == D("-0.02")  # the total alone would have passed
