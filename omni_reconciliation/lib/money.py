"""Money helpers: ISO 4217 minor units and decimal parsing, never through float.

Processors send money either as integer minor units (Stripe: 8749 = 87.49 USD,
but 5000 = 5000 JPY) or as decimal strings (Shopify, Amazon). Everything in the
reconciliation core is ``decimal.Decimal`` so a settlement adds up to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currencies without a minor unit (ISO 4217 exponent 0).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Currencies with three decimals (ISO 4217 exponent 3).
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def normalize_currency(currency: str) -> str:
    """Upper-case ISO code: Stripe sends ``usd``, Shopify and Amazon ``USD``."""
    if not isinstance(currency, str) or not currency.strip():
        raise ValueError(f"currency code expected, got {currency!r}")
    return currency.strip().upper()


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (ISO 4217)."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minor_unit(currency: str) -> Decimal:
    """Smallest amount of the currency, e.g. ``Decimal('0.01')`` for EUR."""
    return Decimal(1).scaleb(-exponent(currency))


def from_minor(amount: int, currency: str) -> Decimal:
    """Integer minor units to a Decimal in major units (``8749, 'usd'`` → ``87.49``)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"minor units must be an int, got {type(amount).__name__}: {amount!r}")
    return Decimal(amount).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units to integer minor units; refuses to round silently.

    An amount with more decimals than the currency has (``1.005 USD``) is a data
    error upstream, so it raises instead of losing money quietly.
    """
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"Decimal expected, got {type(amount).__name__}: {amount!r}")
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {normalize_currency(currency)} allows")
    return int(scaled)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's precision (for computed values such as FX)."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def parse_decimal(text: str | int | Decimal | None) -> Decimal | None:
    """Parse a money string as channels write it; ``None``/empty → ``None``.

    Accepts ``"58.00"``, ``"-8,70"`` (Amazon EU reports use a decimal comma),
    ``"1,234.56"`` and ``"1.234,56"``: the right-most separator is the decimal one.
    Floats are refused: they cannot carry money exactly.
    """
    if text is None:
        return None
    if isinstance(text, bool) or isinstance(text, float):
        raise TypeError(f"refusing {type(text).__name__} for money: {text!r}")
    if isinstance(text, Decimal):
        return text
    if isinstance(text, int):
        return Decimal(text)
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        return None
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        # several commas can only be thousands separators; a single one is a
        # decimal comma (money columns never carry thousands without decimals)
        raw = raw.replace(",", "") if raw.count(",") > 1 else raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    return value
