"""Money helpers for the canonical model: exact decimals, ISO 4217 minor units.

Why: a float cannot hold 0.10 exactly, so one float on the way from a channel to a sale
order is enough for totals to drift by a cent. Every amount in the canonical model is a
``Decimal``; this module is the single gate through which raw values become one.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from .model import FieldError, ValidationError

# Decimal text as the canonical JSON writes it: optional minus, digits, optional fraction.
# No exponent ("1e3"), no "NaN"/"Infinity", no blanks, no thousands separators.
DECIMAL_PATTERN = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)  # ASCII: "١٢" is not money
# Longest accepted decimal text; 30 characters keep values within Decimal's 28-digit
# default precision, so arithmetic on them stays exact (the schema says the same).
MAX_DECIMAL_LENGTH = 30

# ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENTS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
         "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def normalize_currency(currency):
    """Upper-case ISO 4217 code: Stripe sends ``usd``, Shopify and Amazon ``USD``."""
    if not isinstance(currency, str) or not currency.strip():
        raise ValueError(f"currency code expected, got {currency!r}")
    return currency.strip().upper()


def _invalid(field, message):
    return ValidationError([FieldError(field, message)])


def to_decimal(value, field="value"):
    """Return ``value`` as a finite ``Decimal``; raise ``ValidationError`` naming ``field``.

    Accepts ``str`` (plain decimal text such as ``"12.50"`` or ``"-3"``), ``int`` and finite
    ``Decimal``. Rejects ``float`` on purpose: the value has already lost precision, and the
    fix belongs in the caller (parse the channel's JSON with ``parse_float=Decimal`` or read
    the amount as text). The error message never contains the value itself.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _invalid(field, "must be a finite number")
        return value
    if isinstance(value, bool):
        raise _invalid(field, "must be a decimal string, not a boolean")
    if isinstance(value, int):
        value = str(value)  # and on to the length check: a 40-digit integer is no amount either
    if isinstance(value, float):
        raise _invalid(field, "must be a decimal string such as \"12.50\", not a float (floats lose cents)")
    if isinstance(value, str):
        if len(value) > MAX_DECIMAL_LENGTH:
            raise _invalid(field, f"is too long for a decimal (at most {MAX_DECIMAL_LENGTH} characters)")
        if not DECIMAL_PATTERN.fullmatch(value):
            raise _invalid(field, "is not a decimal string (digits, optional '.' and fraction)")
        return Decimal(value)
    raise _invalid(field, "must be a decimal string")


def currency_exponent(code):
    """Number of decimals of ``code``'s minor unit (ISO 4217): 0 for JPY, 3 for KWD, else 2.

    Unknown codes get 2, the overwhelmingly common case. This is the ISO view; a payment
    processor may differ for a few currencies (Stripe has special rules for ISK, HUF, TWD
    and UGX), which is that processor's importer's concern.
    """
    return _EXPONENTS.get(code.upper(), 2)


def _unit(currency):
    """Smallest amount of ``currency`` as a Decimal exponent template (``Decimal('0.01')``)."""
    return Decimal((0, (1,), -currency_exponent(currency)))


def from_minor_units(amount, currency):
    """Integer minor units to major units: ``(8749, 'USD') -> Decimal('87.49')``, exactly."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("minor units must be an int")
    sign, digits, _exponent = Decimal(amount).as_tuple()
    return Decimal((sign, digits, -currency_exponent(currency)))


def to_minor_units(amount, currency, *, rounding=None):
    """Major units to integer minor units: ``(Decimal('87.49'), 'USD') -> 8749``.

    An amount finer than the currency's minor unit (``Decimal('1.005')`` USD) raises
    ``ValueError`` rather than losing money quietly; pass ``rounding`` (e.g.
    ``decimal.ROUND_HALF_UP``) to round on purpose instead.
    """
    value = to_decimal(amount, "amount")
    unit = _unit(currency)
    if rounding is not None:
        value = value.quantize(unit, rounding=rounding)
    elif value != value.quantize(unit, rounding=ROUND_HALF_UP):
        raise ValueError(f"amount has more decimals than {currency.upper()} allows")
    return int(value.scaleb(currency_exponent(currency)).to_integral_value())


def quantize(amount, currency):
    """Round ``amount`` to ``currency``'s minor unit, half away from zero (ROUND_HALF_UP).

    Half-up is what shops print on receipts and what Odoo's currency rounding does.
    """
    return to_decimal(amount, "amount").quantize(_unit(currency), rounding=ROUND_HALF_UP)
