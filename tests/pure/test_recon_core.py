"""Money conversion and the settlement data contract (sign convention, balance check)."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from omni_connector_base.canonical.money import (
    COMMA,
    PLAIN,
    POINT,
    SPACE_COMMA,
    parse_decimal,
    quantize,
)
from omni_connector_base.canonical.money import currency_exponent as exponent
from omni_connector_base.canonical.money import from_minor_units as from_minor
from omni_connector_base.canonical.settlement import (
    BalanceCheck,
    SettlementData,
    SettlementLineData,
    check_balance,
    parse_iso_datetime,
    totals_by_kind,
)

UTC = timezone.utc


# -- money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (8749, "usd", Decimal("87.49")),
        (-2000, "USD", Decimal("-20.00")),
        (5000, "jpy", Decimal("5000")),
        (12345, "KWD", Decimal("12.345")),
        (1, "bhd", Decimal("0.001")),
        (0, "eur", Decimal("0.00")),
        (-99, "krw", Decimal("-99")),
    ],
)
def test_from_minor_uses_iso_exponent(minor, currency, expected):
    value = from_minor(minor, currency)
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)  # same scale: 87.49, not 87.490


def test_exponent_tables_cover_the_brief():
    # ISO 4217 minor units (one money module for the suite: base's ``canonical.money``)
    for code in ("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "KMF", "GNF", "PYG", "RWF", "VUV", "XPF",
                 "BIF", "DJF", "UYI"):
        assert exponent(code) == 0
        assert exponent(code.lower()) == 0
    for code in ("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"):
        assert exponent(code) == 3
    for code in ("CLF", "UYW"):
        assert exponent(code) == 4
    # MGA has two decimals in ISO 4217; Stripe's zero-decimal MGA is Stripe's (see test_recon_stripe)
    assert exponent("MGA") == 2
    assert exponent("EUR") == exponent("usd") == exponent("CHF") == 2


def test_money_refuses_float_and_silent_rounding():
    with pytest.raises(TypeError):
        from_minor(87.49, "USD")
    with pytest.raises(TypeError):
        from_minor(True, "USD")
    assert quantize(Decimal("1.005"), "USD") == Decimal("1.01")
    with pytest.raises(ValueError):
        exponent("")


@pytest.mark.parametrize(
    ("text", "number_format", "expected"),
    [
        ("58.00", POINT, Decimal("58.00")),
        ("-8,70", COMMA, Decimal("-8.70")),
        ("1,234.56", POINT, Decimal("1234.56")),
        ("1.234,56", COMMA, Decimal("1234.56")),
        ("1,234,567", POINT, Decimal("1234567")),
        ("1 234,56", SPACE_COMMA, Decimal("1234.56")),
        ("1\u00a0234,56", SPACE_COMMA, Decimal("1234.56")),
        (" 4.99 ", POINT, Decimal("4.99")),
        ("1.234", POINT, Decimal("1.234")),
        ("1.234", COMMA, Decimal("1234")),
        ("-8,70", (POINT, COMMA), Decimal("-8.70")),  # reads the same in both: accepted
        ("58.00", (POINT, COMMA), Decimal("58.00")),
        ("", POINT, None),
        (None, POINT, None),
        (7, POINT, Decimal(7)),
    ],
)
def test_parse_decimal(text, number_format, expected):
    assert parse_decimal(text, number_format) == expected


def test_parse_decimal_rejects_float_and_garbage():
    with pytest.raises(TypeError):
        parse_decimal(1.5, POINT)
    with pytest.raises(ValueError):
        parse_decimal("12abc", POINT)
    with pytest.raises(ValueError):
        parse_decimal("NaN", POINT)


@pytest.mark.parametrize(
    ("text", "number_format", "message"),
    [
        ("1.234", (POINT, COMMA), "ambiguous amount '1.234'"),  # 1.234 or 1234: never guessed
        ("1,234", (POINT, COMMA), "ambiguous amount '1,234'"),
        ("58,00", POINT, "not an amount in decimal point"),  # a decimal comma where a point is declared
        ("1.234,56", POINT, "not an amount in decimal point"),
        ("1,234.56", COMMA, "not an amount in decimal comma"),
        ("12,34,567.00", POINT, "not an amount"),  # groups of three only
        ("1,234.56", PLAIN, "not an amount in plain decimal"),
    ],
)
def test_parse_decimal_refuses_ambiguous_or_foreign_formats(text, number_format, message):
    with pytest.raises(ValueError, match=message):
        parse_decimal(text, number_format)


def test_parse_decimal_needs_a_declared_format():
    with pytest.raises(TypeError, match="number format"):
        parse_decimal("58.00", None)


# -- settlement contract -----------------------------------------------------------


def _line(external_id, kind, gross, fee="0", **kwargs):
    return SettlementLineData(
        external_id=external_id, kind=kind, gross=Decimal(gross), fee=Decimal(fee), currency="usd", **kwargs
    )


def test_line_net_is_gross_minus_fee_and_currency_is_normalised():
    line = _line("t1", "sale", "119.63", "3.77")
    assert line.net == Decimal("115.86")
    assert line.currency == "USD"
    with pytest.raises(ValueError, match="net"):
        SettlementLineData(
            external_id="t2",
            kind="sale",
            gross=Decimal("10"),
            fee=Decimal("1"),
            net=Decimal("10"),
            currency="USD",
        )


def test_line_refuses_floats_ints_unknown_kinds_and_naive_datetimes():
    with pytest.raises(TypeError):
        SettlementLineData(external_id="x", kind="sale", gross=10.0, currency="USD")
    with pytest.raises(TypeError):
        SettlementLineData(external_id="x", kind="sale", gross=1000, currency="USD")  # minor units slipped in
    with pytest.raises(TypeError):
        SettlementLineData(
            external_id="x", kind="sale", gross=Decimal(1), fee_breakdown={"f": 0.3}, currency="USD"
        )
    with pytest.raises(ValueError, match="kind"):
        _line("x", "salez", "1")
    with pytest.raises(ValueError, match="UTC"):
        _line("x", "sale", "1", occurred_at=datetime(2026, 1, 1, 12, 0))
    with pytest.raises(ValueError, match="UTC"):
        _line("x", "sale", "1", occurred_at=datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=1))))
    with pytest.raises(TypeError):
        SettlementData(source="stripe", external_id="po", currency="USD", expected_amount=87.49)


def test_check_balance_reports_both_numbers():
    lines = [_line("a", "sale", "100.00", "3.20"), _line("b", "refund", "-20.00"), _line("c", "fee", "-0.50")]
    good = SettlementData(
        source="stripe", external_id="po_1", currency="USD", expected_amount=Decimal("76.30"), lines=lines
    )
    assert check_balance(good) == BalanceCheck(True, Decimal("76.30"), Decimal("76.30"), Decimal("0.00"))
    bad = SettlementData(
        source="stripe", external_id="po_2", currency="USD", expected_amount=Decimal("80.00"), lines=lines
    )
    result = check_balance(bad)
    assert not result.ok
    assert result.lines_total == Decimal("76.30")
    assert result.expected == Decimal("80.00")
    assert result.difference == Decimal("-3.70")
    assert "76.30" in str(result) and "80.00" in str(result)


def test_totals_by_kind_sums_nets():
    settlement = SettlementData(
        source="amazon",
        external_id="s",
        currency="USD",
        expected_amount=Decimal("0"),
        lines=[
            _line("a", "sale", "10.00", "1.00"),
            _line("b", "sale", "5.00"),
            _line("c", "commission", "-1.50"),
        ],
    )
    assert totals_by_kind(settlement) == {"sale": Decimal("14.00"), "commission": Decimal("-1.50")}


def test_parse_iso_datetime_converts_offsets_to_utc():
    assert parse_iso_datetime("2026-11-20T10:14:04+01:00") == datetime(2026, 11, 20, 9, 14, 4, tzinfo=UTC)
    assert parse_iso_datetime("2026-11-20T10:14:04Z") == datetime(2026, 11, 20, 10, 14, 4, tzinfo=UTC)
    assert parse_iso_datetime("") is None
