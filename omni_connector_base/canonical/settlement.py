"""Channel-neutral settlement data: what every payout importer produces.

Sign convention (all importers follow it, the posting code relies on it):

* Amounts are as seen by the merchant's balance at the processor/marketplace:
  money in is positive, money out is negative. A sale is ``+``, a refund, a
  chargeback, a commission or a subscription fee is ``-``; a won dispute, a
  returned commission or a released reserve is ``+``.
* ``net = gross - fee``. ``fee`` is what the processor deducted *from this
  line's gross* (Stripe's per-charge fee): positive when charged, negative
  when given back. ``fee_breakdown`` itemises ``fee`` (its values add up to it).
* A line that is itself a cost (kind ``fee``, ``commission``, ``dispute_fee``,
  ``withheld_tax``...) carries its amount in ``gross`` (negative) with ``fee``
  zero, so every line posts as "gross to the account of its kind, fee to the
  fee account" and the nets add up to the deposit.
* ``SettlementData.expected_amount`` is the deposit: positive when money goes
  to the bank, negative for a debit (Stripe can debit the bank account).
* Datetimes are timezone-aware UTC; currencies are upper-case ISO 4217 codes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .money import normalize_currency

LINE_KINDS = (
    "sale",
    "refund",
    "fee",
    "commission",
    "chargeback",
    "dispute_fee",
    "chargeback_reversal",
    "reserve",
    "adjustment",
    "withheld_tax",
    "shipping",
    "promotion",
    "payout_failure",
    "refund_failure",
    "other",
)
_LINE_KIND_SET = frozenset(LINE_KINDS)

ZERO = Decimal(0)


def _check_money(name: str, value: Any, *, optional: bool = False) -> None:
    """Refuse floats (and ints, which usually mean unconverted minor units)."""
    if value is None and optional:
        return
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}: {value!r}")
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")


def _check_utc(name: str, value: datetime | None) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a UTC-aware datetime, got {value!r}")


@dataclass
class SettlementLineData:
    """One economic event inside a payout (a charge, a refund, a fee...)."""

    external_id: str
    kind: str
    description: str = ""
    gross: Decimal = ZERO
    fee: Decimal = ZERO
    net: Decimal | None = None  # computed as gross - fee when omitted
    currency: str = ""
    exchange_rate: Decimal | None = None
    original_currency: str | None = None
    original_amount: Decimal | None = None
    transaction_ref: str | None = None
    order_ref: str | None = None
    refund_ref: str | None = None
    dispute_ref: str | None = None
    sku: str | None = None
    quantity: int | None = None
    occurred_at: datetime | None = None
    fee_breakdown: dict[str, Decimal] = field(default_factory=dict)
    # Signed amounts making up ``gross`` by the source's own label (Amazon's
    # Principal/Tax/Shipping...), so the posting can split tax from revenue.
    components: dict[str, Decimal] = field(default_factory=dict)
    # Further ids of the same money movement (Stripe PaymentIntent ``pi_...``),
    # tried by the matcher after the primary references.
    extra_refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _LINE_KIND_SET:
            raise ValueError(f"unknown settlement line kind {self.kind!r}")
        _check_money("gross", self.gross)
        _check_money("fee", self.fee)
        if self.net is None:
            self.net = self.gross - self.fee
        _check_money("net", self.net)
        if self.net != self.gross - self.fee:
            raise ValueError(
                f"line {self.external_id}: net {self.net} != gross {self.gross} - fee {self.fee}"
            )
        _check_money("exchange_rate", self.exchange_rate, optional=True)
        _check_money("original_amount", self.original_amount, optional=True)
        for key, value in self.fee_breakdown.items():
            _check_money(f"fee_breakdown[{key}]", value)
        for key, value in self.components.items():
            _check_money(f"components[{key}]", value)
        self.currency = normalize_currency(self.currency)
        if self.original_currency:
            self.original_currency = normalize_currency(self.original_currency)
        _check_utc("occurred_at", self.occurred_at)

    @property
    def match_amount(self) -> tuple[str, Decimal]:
        """(currency, amount) the customer-side record was made in.

        For a foreign-currency charge that is the original amount, not the
        converted gross, because the Odoo payment was registered at order time
        in the order's currency.
        """
        if self.original_currency and self.original_amount is not None:
            return self.original_currency, self.original_amount
        return self.currency, self.gross


@dataclass
class SettlementData:
    """A payout/settlement with all its lines, ready to be stored and checked."""

    source: str
    external_id: str
    currency: str
    expected_amount: Decimal
    account_ref: str | None = None
    payout_date: date | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    status: str = "paid"
    lines: list[SettlementLineData] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_money("expected_amount", self.expected_amount)
        self.currency = normalize_currency(self.currency)
        _check_utc("period_start", self.period_start)
        _check_utc("period_end", self.period_end)
        if isinstance(self.payout_date, datetime):
            raise TypeError("payout_date must be a date, not a datetime")


@dataclass(frozen=True)
class BalanceCheck:
    """Result of "do the lines add up to the deposit?"; both numbers are kept."""

    ok: bool
    lines_total: Decimal
    expected: Decimal
    difference: Decimal  # lines_total - expected

    def __str__(self) -> str:
        if self.ok:
            return f"lines add up to the payout {self.expected}"
        return (
            f"lines add up to {self.lines_total} but the payout is {self.expected} "
            f"(difference {self.difference})"
        )


def check_balance(settlement: SettlementData) -> BalanceCheck:
    """Sum of line nets must equal the deposit exactly (no tolerance: it is one ledger)."""
    total = sum((line.net for line in settlement.lines), ZERO)
    expected = settlement.expected_amount
    return BalanceCheck(
        ok=total == expected,
        lines_total=total,
        expected=expected,
        difference=total - expected,
    )


def totals_by_kind(settlement: SettlementData) -> dict[str, Decimal]:
    """Net total per line kind (only kinds present), e.g. for the settlement summary."""
    totals: dict[str, Decimal] = {}
    for line in settlement.lines:
        totals[line.kind] = totals.get(line.kind, ZERO) + line.net
    return totals


def utc_from_timestamp(value: int | None) -> datetime | None:
    """Unix seconds → aware UTC datetime (Stripe's ``created``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"unix timestamp must be an int, got {value!r}")
    return datetime.fromtimestamp(value, tz=timezone.utc)


def to_utc(value: datetime) -> datetime:
    """Aware datetime in any offset → the same instant in UTC; naive is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_iso_datetime(text: str | None) -> datetime | None:
    """ISO 8601 with offset or ``Z`` (Shopify's ``processed_at``) → UTC; empty → None."""
    if not text:
        return None
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    return to_utc(datetime.fromisoformat(raw))


def period_from_lines(lines: list[SettlementLineData]) -> tuple[datetime | None, datetime | None]:
    """Earliest and latest line time, for sources whose payouts carry no period."""
    times = [line.occurred_at for line in lines if line.occurred_at is not None]
    if not times:
        return None, None
    return min(times), max(times)


def settlement_digest(settlement: SettlementData) -> str:
    """SHA-256 of what a settlement says (deposit, lines, amounts, references).

    The same payout imported twice has the same digest, so a re-import is a no-op;
    a payout whose content changed (a corrected report) gets a new one.
    """
    lines = [
        [
            line.external_id,
            line.kind,
            str(line.gross),
            str(line.fee),
            str(line.net),
            line.currency,
            line.transaction_ref,
            line.order_ref,
            line.refund_ref,
            line.dispute_ref,
            line.original_currency,
            str(line.original_amount) if line.original_amount is not None else None,
            sorted((key, str(value)) for key, value in line.fee_breakdown.items()),
        ]
        for line in settlement.lines
    ]
    body = [
        settlement.source,
        settlement.external_id,
        settlement.currency,
        str(settlement.expected_amount),
        settlement.payout_date.isoformat() if settlement.payout_date else None,
        lines,
    ]
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode("utf-8")).hexdigest()
