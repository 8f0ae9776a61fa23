"""The suite's one money module: exact decimals, ISO 4217 minor units, number formats.

Why: a float cannot hold 0.10 exactly, so one float on the way from a channel to a sale
order is enough for totals to drift by a cent. Every amount in the canonical model (orders
and payouts) is a ``Decimal``; this module is the single gate through which raw values
become one, for every addon.

What is ISO and what is a source's own representation are kept apart: the table below is
ISO 4217's; a source that writes some currency differently (Stripe sends ISK and UGX with
two decimals although ISO gives them none, and MGA with none although ISO gives it two)
declares that in its own code and passes the exponent it uses to :func:`from_minor_units`.
Likewise text amounts are parsed in the number format the source declares
(:class:`NumberFormat`), never guessed.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .model import FieldError, ValidationError

# Decimal text as the canonical JSON writes it: optional minus, digits, optional fraction.
# No exponent ("1e3"), no "NaN"/"Infinity", no blanks, no thousands separators.
DECIMAL_PATTERN = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)  # ASCII: "١٢" is not money
# Longest accepted decimal text; 30 characters keep values within Decimal's 28-digit
# default precision, so arithmetic on them stays exact (the schema says the same).
MAX_DECIMAL_LENGTH = 30

# ISO 4217 currencies whose minor unit is not 1/100 (ISO 4217 list one, "minor unit" column).
# Checked against the two tables the suite used to have: MGA is 2 in ISO 4217 (the ariary's
# fifth, the iraimbilanja, is not a decimal unit; Stripe treats MGA as zero-decimal, see its
# importer), UYI (Uruguay peso en unidades indexadas) 0, CLF (Unidad de Fomento) 4, UYW (unidad
# previsional) 4.
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

    Unknown codes get 2, the overwhelmingly common case; an empty code raises ``ValueError``.
    This is the ISO view; a payment processor may differ for a few currencies (Stripe: ISK,
    UGX, MGA), which that processor's importer declares itself.
    """
    return _EXPONENTS.get(normalize_currency(code), 2)


def minor_unit(currency):
    """Smallest amount of ``currency`` as a Decimal (``Decimal('0.01')`` for EUR, ``1`` for JPY)."""
    return Decimal((0, (1,), -currency_exponent(currency)))


_unit = minor_unit


def from_minor_units(amount, currency, *, exponent=None):
    """Integer minor units to major units: ``(8749, 'USD') -> Decimal('87.49')``, exactly.

    ``exponent`` overrides ISO 4217 for a source that represents ``currency`` with another
    number of decimals (Stripe's ISK and UGX: two).
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("minor units must be an int")
    if exponent is None:
        exponent = currency_exponent(currency)
    sign, digits, _exponent = Decimal(amount).as_tuple()
    return Decimal((sign, digits, -exponent))


def quantize(amount, currency):
    """Round ``amount`` to ``currency``'s minor unit, half away from zero (ROUND_HALF_UP).

    Half-up is what shops print on receipts and what Odoo's currency rounding does.
    """
    return to_decimal(amount, "amount").quantize(_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NumberFormat:
    """How a source writes amounts as text: its decimal separator and thousands separator.

    A source declares it (Amazon: by the marketplace's locale); :func:`parse_decimal` never
    guesses, because "1.234" is 1.234 in one locale and 1234 in another.
    """

    name: str
    decimal: str
    group: str | None = None  # thousands separator, None: none allowed

    def __str__(self):
        example = f"1{self.group}234{self.decimal}56" if self.group else f"1234{self.decimal}56"
        return f"{self.name} ({example})"


POINT = NumberFormat("decimal point", ".", ",")  # 1,234.56 (en-US, en-GB, ja-JP...)
COMMA = NumberFormat("decimal comma", ",", ".")  # 1.234,56 (de-DE, it-IT, es-ES...)
SPACE_COMMA = NumberFormat("decimal comma, space grouping", ",", " ")  # 1 234,56 (fr-FR, sv-SE, pl-PL)
PLAIN = NumberFormat("plain decimal", ".")  # 1234.56: JSON-like text, no grouping


def _digits_pattern(number_format):
    group = number_format.group
    integer = r"\d+" if group is None else rf"(?:\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d+)"
    return re.compile(rf"-?{integer}(?:{re.escape(number_format.decimal)}\d+)?", re.ASCII)


def _parse_in(raw, number_format):
    if not _digits_pattern(number_format).fullmatch(raw):
        return None
    if number_format.group:
        raw = raw.replace(number_format.group, "")
    return Decimal(raw.replace(number_format.decimal, "."))


def parse_decimal(text, number_format):
    """A money text written in the source's ``number_format`` → ``Decimal``; ``None``/empty → ``None``.

    ``number_format`` is a :class:`NumberFormat`, or a tuple of the formats a source may use
    when it does not say which one (then every format that reads the text must give the same
    value: "58,00" is 58.00 in any, "1.234" is refused as ambiguous). Thousands separators are
    accepted only in groups of three; floats are refused (they cannot carry money exactly).
    Errors are ``ValueError`` naming the format expected.
    """
    if text is None:
        return None
    if isinstance(text, (bool, float)):
        raise TypeError(f"refusing {type(text).__name__} for money: {text!r}")
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise ValueError(f"not a finite amount: {text!r}")
        return text
    if isinstance(text, int):
        return Decimal(text)
    if not isinstance(text, str):
        raise TypeError(f"money text expected, got {type(text).__name__}")
    formats = number_format if isinstance(number_format, tuple) else (number_format,)
    if not formats or not all(isinstance(one, NumberFormat) for one in formats):
        raise TypeError("declare the source's number format (a NumberFormat)")
    raw = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if not raw:
        return None
    if len(raw) > MAX_DECIMAL_LENGTH:
        raise ValueError(f"amount text too long (at most {MAX_DECIMAL_LENGTH} characters)")
    try:
        values = {one: _parse_in(raw, one) for one in formats}
    except InvalidOperation:  # pragma: no cover - the patterns only let digits through
        values = {}
    found = {value for value in values.values() if value is not None}
    if not found:
        expected = " or ".join(str(one) for one in formats)
        raise ValueError(f"not an amount in {expected}: {text!r}")
    if len(found) > 1:
        readings = ", ".join(f"{value} in {one.name}" for one, value in values.items() if value is not None)
        raise ValueError(f"ambiguous amount {text!r} ({readings}): declare the source's number format")
    return found.pop()
