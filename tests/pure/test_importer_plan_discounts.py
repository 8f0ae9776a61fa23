"""Line discounts the Discount precision cannot hold (issue 10, item 9), property-tested.

Odoo keeps a sale line's discount with 2 decimals by default: 7.77 off a 1,000.00 line is
0.777 %, stored as 0.78 %, which charges 992.20 instead of 992.23. The plan must never ask
Odoo for a value it cannot store: whatever it plans, recomputed the way Odoo computes a line
(unit price x quantity x (1 - stored discount / 100), rounded to the currency's minor unit),
must give the channel's line totals to the cent.
"""

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from omni_connector_base.canonical import Line, Order, ShippingLine, TaxLine
from omni_connector_base.canonical.money import quantize
from omni_connector_base.importer.plan import plan_order_lines, storable_discount_percent

UTC = timezone.utc
CENT = Decimal("0.01")


def odoo_net(planned, currency, digits=2):
    """A planned line's subtotal as Odoo computes it from what it stores."""
    stored = planned.discount_percent.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    assert stored == planned.discount_percent, "the plan asks for a discount Odoo cannot store"
    return quantize(planned.quantity * planned.price_unit * (1 - stored / 100), currency)


def make_order(lines, shipping, taxes_included, currency="EUR"):
    return Order(
        external_id="1", name="#1", currency=currency, taxes_included=taxes_included,
        created_at=datetime(2026, 11, 20, tzinfo=UTC), updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        lines=lines, shipping_lines=shipping,
    )


cents = st.integers(min_value=1, max_value=500_000).map(lambda n: Decimal(n) * CENT)


@st.composite
def channel_lines(draw):
    quantity = Decimal(draw(st.integers(min_value=1, max_value=250)))
    price = draw(cents)
    gross = quantity * price
    discount = draw(st.integers(min_value=0, max_value=int(gross / CENT)).map(lambda n: Decimal(n) * CENT))
    return quantity, price, discount


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(channel_lines(), min_size=1, max_size=4),
    shipping=st.tuples(cents, st.integers(min_value=0, max_value=100)),
    taxes_included=st.booleans(),
    mode=st.sampled_from(["line", "product"]),
)
@example(lines=[(Decimal(1), Decimal("1000.00"), Decimal("7.77"))], shipping=(Decimal("4.90"), 0),
         taxes_included=False, mode="line")
@example(lines=[(Decimal(3), Decimal("9.99"), Decimal("1.00"))], shipping=(Decimal("4.90"), 50),
         taxes_included=True, mode="line")
def test_planned_lines_reproduce_the_channel_line_totals_to_the_cent(lines, shipping, taxes_included, mode):
    channel = [
        Line(external_id=str(index), name=f"Item {index}", quantity=quantity, unit_price=price,
             discount_amount=discount, tax_lines=[TaxLine(Decimal("0.19"), Decimal(0))])
        for index, (quantity, price, discount) in enumerate(lines)
    ]
    ship_price, ship_discount_percent = shipping
    ship_discount = quantize(ship_price * ship_discount_percent / 100, "EUR")
    ship = ShippingLine(external_id="s", code="DHL", title="DHL", price=ship_price, discount_amount=ship_discount)
    order = make_order(channel, [ship], taxes_included)
    planned = plan_order_lines(order, mode)
    for line in channel:
        own = [p for p in planned if p.external_id in (line.external_id, f"{line.external_id}:discount")]
        expected = quantize(line.quantity * line.unit_price - line.discount_amount, "EUR")
        assert sum(odoo_net(p, "EUR") for p in own) == expected
        if mode == "product" and line.discount_amount:
            assert len(own) == 2, "product mode always shows the discount as a line"
        # a discount line carries its line's taxes, whatever the tax-included flag
        assert {key for p in own for key in p.tax_keys} == {key for key in own[0].tax_keys}
        assert all(key.included is taxes_included for p in own for key in p.tax_keys)
    ship_lines = [p for p in planned if p.external_id.startswith("shipping:")]
    assert sum(odoo_net(p, "EUR") for p in ship_lines) == ship_price - ship_discount
    # the order as a whole: what Odoo will charge before taxes are the channel's nets
    assert sum(odoo_net(p, "EUR") for p in planned) == sum(
        quantize(item.net, "EUR") for item in [*channel, ship]
    )


def test_the_issue_example_becomes_a_discount_line_in_line_mode():
    line = Line(external_id="1", name="Bike", quantity=Decimal(1), unit_price=Decimal("1000.00"),
                discount_amount=Decimal("7.77"))
    bike, discount = plan_order_lines(make_order([line], [], False), "line")
    assert (bike.price_unit, bike.discount_percent) == (Decimal("1000.00"), 0)
    assert (discount.kind, discount.external_id, discount.price_unit) == ("discount", "1:discount", Decimal("-7.77"))
    assert storable_discount_percent(Decimal("7.77"), Decimal(1), Decimal("1000.00"), "EUR") is None


def test_an_exact_percentage_stays_on_the_line():
    assert storable_discount_percent(Decimal("5.80"), Decimal(2), Decimal("29.00"), "EUR") == Decimal("10.00")
    # 1.00 off 3 x 9.99 is 3.3367 %: stored as 3.34 % it still charges 28.97
    assert storable_discount_percent(Decimal("1.00"), Decimal(3), Decimal("9.99"), "EUR") == Decimal("3.34")
    # more Discount digits in Odoo keep more discounts on the line
    assert storable_discount_percent(Decimal("7.77"), Decimal(1), Decimal("1000.00"), "EUR", 3) == Decimal("0.777")


def test_a_zero_decimal_currency_is_checked_in_its_own_minor_unit():
    # 333 off 3 x 1,000 JPY is 11.1 %: stored as 11.10 % it charges 2,667 JPY, exact to the yen
    assert storable_discount_percent(Decimal(333), Decimal(3), Decimal(1000), "JPY") == Decimal("11.10")
    # 7 off 999 JPY is 0.7007 %: 0.70 % charges 992.007 -> 992 JPY, the channel's 992
    assert storable_discount_percent(Decimal(7), Decimal(1), Decimal(999), "JPY") == Decimal("0.70")


def test_a_discount_on_a_free_line_is_kept_as_a_line():
    line = Line(external_id="1", name="Free", quantity=Decimal(1), unit_price=Decimal(0),
                discount_amount=Decimal("5.00"))
    planned = plan_order_lines(make_order([line], [], True), "line")
    assert [p.kind for p in planned] == ["product", "discount"]
