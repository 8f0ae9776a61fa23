"""Money helpers: decimals without floats, ISO 4217 exponents, minor units, rounding."""

from decimal import Decimal as D

import pytest

from omni_connector_base.canonical import (
    ValidationError,
    currency_exponent,
    from_minor_units,
    quantize,
    to_decimal,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", D("12.50")), ("-3", D("-3")), ("0", D("0")), (7, D(7)), (D("1.005"), D("1.005")), (-2, D(-2)),
])
def test_to_decimal_accepts_text_int_and_decimal(value, expected):
    result = to_decimal(value, "price")
    assert result == expected and isinstance(result, D)
    assert str(result) == str(expected)  # the exponent is kept: "12.50" stays "12.50"


def test_to_decimal_rejects_float_naming_the_field():
    with pytest.raises(ValidationError) as info:
        to_decimal(19.99, "lines[0].unit_price")
    (error,) = info.value.errors
    assert error.field == "lines[0].unit_price"
    assert "float" in error.message
    assert "19.99" not in error.message


@pytest.mark.parametrize("value", [
    "NaN", "nan", "Infinity", "-inf", "1e3", "1E-2", "12,50", "1 000", "", " 1", "1.", ".1", "+1",
    "\u0661\u0662",  # Arabic-Indic digits: str.isdigit() says yes, money says no
    D("NaN"), D("Infinity"), True, None, b"1", [1], 10**40,
])
def test_to_decimal_rejects_everything_else(value):
    with pytest.raises(ValidationError) as info:
        to_decimal(value, "amount")
    assert [error.field for error in info.value.errors] == ["amount"]


@pytest.mark.parametrize(("code", "exponent"), [
    ("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("VND", 0), ("CLP", 0), ("ISK", 0),
    ("UGX", 0), ("XAF", 0), ("XOF", 0), ("BHD", 3), ("KWD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3),
    ("IQD", 3), ("LYD", 3), ("CLF", 4), ("jpy", 0), ("XYZ", 2),
])
def test_currency_exponent(code, exponent):
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize(("minor", "currency", "major"), [
    (8749, "USD", "87.49"), (5000, "JPY", "5000"), (12345, "KWD", "12.345"), (-2000, "USD", "-20.00"),
    (0, "EUR", "0.00"), (5, "EUR", "0.05"),
])
def test_minor_units_to_major(minor, currency, major):
    assert str(from_minor_units(minor, currency)) == major


def test_from_minor_units_wants_an_int():
    for value in (87.49, "8749", True, D(8749)):
        with pytest.raises(TypeError):
            from_minor_units(value, "USD")


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.675", "EUR", "2.68"), ("2.665", "EUR", "2.67"), ("-2.675", "EUR", "-2.68"), ("5.985", "USD", "5.99"),
    ("1234.5", "JPY", "1235"), ("1.0005", "KWD", "1.001"), ("3", "EUR", "3.00"),
])
def test_quantize_rounds_half_up(amount, currency, expected):
    assert str(quantize(D(amount), currency)) == expected


def test_iso_table_is_the_one_table_of_the_suite():
    # the reconciliation addon's former copy differed on these four; ISO 4217 says:
    assert [currency_exponent(code) for code in ("MGA", "UYI", "CLF", "UYW")] == [2, 0, 4, 4]
    with pytest.raises(ValueError):
        currency_exponent("")


def test_a_source_declares_its_own_exponent():
    from omni_connector_base.canonical.money import minor_unit  # noqa: PLC0415

    assert str(from_minor_units(500000, "ISK")) == "500000"  # ISO: no decimals
    assert str(from_minor_units(500000, "ISK", exponent=2)) == "5000.00"  # Stripe's representation
    assert minor_unit("KWD") == D("0.001") and minor_unit("jpy") == D("1")
