"""The shared marketplace-collected tax treatment (Amazon facilitator tax, eBay collect and remit)."""

from datetime import datetime, timezone
from decimal import Decimal as D

from omni_connector_base.canonical import Line, Order, Payment, ShippingLine, TaxLine
from omni_connector_marketplace.lib.collected_tax import (
    ALL,
    MIXED,
    NONE,
    collected_taxes,
    collection_scope,
    exclude_collected,
    infer_rate,
    memo,
)

UTC = timezone.utc


def _order(included=False):
    tax = [TaxLine(D("0.0875"), D("5.08"), "facilitator")]
    return Order(
        external_id="114-1", name="114-1", currency="USD", taxes_included=included,
        created_at=datetime(2026, 11, 8, tzinfo=UTC), updated_at=datetime(2026, 11, 8, tzinfo=UTC),
        lines=[
            Line(external_id="i1", sku="A", name="A", quantity=D(2), unit_price=D("29.00"), tax_lines=tax),
            Line(external_id="i2", sku="B", name="B", quantity=D(1), unit_price=D("10.00")),
        ],
        shipping_lines=[ShippingLine(external_id="s1", title="Ship", price=D("4.99"),
                                     tax_lines=[TaxLine(D("0.0875"), D("0.44"))])],
        payments=[Payment(gateway="amazon", amount=D("78.51"), currency="USD")],
        total=D("78.51"), total_tax=D("5.52"), financial_status="paid",
    )


def test_scope_all_none_mixed():
    order = _order()
    assert collection_scope(order, ["i1", "s1"]) == ALL
    assert collection_scope(order, ["i1"]) == MIXED
    assert collection_scope(order, []) == NONE
    assert collection_scope(order, ["i2"]) == NONE  # i2 has no tax


def test_collected_taxes_per_line():
    taxes = collected_taxes(_order(), ["i1", "s1"])
    assert [(t.line_external_id, t.line_kind, t.amount) for t in taxes] == [
        ("i1", "product", D("5.08")), ("s1", "shipping", D("0.44"))]


def test_exclude_lowers_total_payment_and_writes_memo():
    order, taxes, text = exclude_collected(_order(), ["i1", "s1"], party="Amazon Services, Inc.")
    assert order.total == D("72.99") and order.total_tax == D(0)
    assert order.payments[0].amount == D("72.99")
    assert order.lines[0].tax_lines == [] and order.shipping_lines[0].tax_lines == []
    assert order.lines[0].unit_price == D("29.00")  # prices exclude the tax: unchanged
    assert "5.52 USD" in text and "Amazon Services, Inc." in text and "i1: 5.08 USD" in text
    assert order.note == text
    assert len(taxes) == 2


def test_exclude_with_tax_included_prices_lowers_the_price():
    order, _taxes, _text = exclude_collected(_order(included=True), ["i1", "s1"])
    assert order.lines[0].unit_price == D("26.46")
    assert order.shipping_lines[0].price == D("4.55")


def test_nothing_collected_is_unchanged():
    original = _order()
    order, taxes, text = exclude_collected(original, [])
    assert order is original and taxes == [] and text == ""
    assert memo([], "USD") == ""


def test_infer_rate_finds_the_simplest_rate():
    assert infer_rate(D("58.00"), D("5.08")) == D("0.0875")
    assert infer_rate(D("45.00"), D("3.94")) == D("0.0875")
    assert infer_rate(D("100.00"), D("19.00")) == D("0.19")
    assert infer_rate(D("0"), D("1")) == D(0)
