"""The journal entry of a settlement, computed without Odoo: amounts, signs, rounding.

The Odoo side decides *where* each amount goes (it knows the accounts, the
payments' open items and the partners) and hands over one :class:`Part` per
amount; this module turns the parts into entry lines that balance exactly:

* a part is signed like the settlement (money received ``+``), so its entry
  line is the opposite: a sale is a credit, a fee a debit;
* every part is converted to the company currency at the settlement's rate
  (``rate`` = company currency units per settlement currency unit) and
  rounded half-up to the company currency's precision; a part in another
  currency (a Stripe charge made in EUR and settled in USD) keeps that amount
  as its ``amount_currency`` and the settlement's own conversion as balance,
  so reconciling it with the order-time payment books the exchange difference;
* the net line takes the deposit in the settlement currency and, in the
  company currency, exactly the opposite of all other lines: the rounding of
  the conversions never unbalances the entry;
* ``summary`` mode aggregates parts per account, currency and label, and
  splits reconcilable groups into chunks of ``chunk_size`` open items so the
  clearing reconciliation costs the same per item at any size; ``detailed``
  mode keeps one entry line per part.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

try:
    from odoo.addons.omni_connector_base.canonical.money import normalize_currency, quantize
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.money import normalize_currency, quantize

ZERO = Decimal(0)
DEFAULT_CHUNK_SIZE = 1000


@dataclass(frozen=True)
class Part:
    """One amount of one settlement line and where it goes.

    ``amount`` is in the settlement currency, signed from the merchant's point
    of view (``+`` money received). ``currency``/``amount_currency`` describe
    the same amount in the currency of the record it clears (same sign), when
    that is not the settlement currency. ``reconcile`` is the open item (an
    opaque id: the payment's clearing journal item) the entry line must be
    reconciled with.
    """

    line_id: int
    account: Hashable
    amount: Decimal
    label: str = ""
    partner: Hashable | None = None
    currency: str | None = None
    amount_currency: Decimal | None = None
    reconcile: Hashable | None = None
    group: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"part amount must be a Decimal, got {self.amount!r}")
        if (self.currency is None) != (self.amount_currency is None):
            raise ValueError("currency and amount_currency go together")
        if self.amount_currency is not None and not isinstance(self.amount_currency, Decimal):
            raise TypeError(f"amount_currency must be a Decimal, got {self.amount_currency!r}")
        if self.currency is not None:
            object.__setattr__(self, "currency", normalize_currency(self.currency))


@dataclass
class EntryLine:
    """One journal item: debit when ``balance > 0``, in ``currency`` for ``amount_currency``."""

    account: Hashable
    currency: str
    amount_currency: Decimal
    balance: Decimal
    label: str
    partner: Hashable | None = None
    reconcile: list[Hashable] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)
    is_net: bool = False
    # the same amount in the settlement currency (differs from amount_currency for original-currency lines)
    settlement_amount: Decimal = ZERO


@dataclass
class Entry:
    """The whole entry; ``lines[-1]`` is the net (deposit) line."""

    lines: list[EntryLine]
    settlement_currency: str
    company_currency: str

    @property
    def net_line(self) -> EntryLine:
        return self.lines[-1]

    def total_balance(self) -> Decimal:
        return sum((line.balance for line in self.lines), ZERO)


def convert(amount: Decimal, rate: Decimal, from_currency: str, to_currency: str) -> Decimal:
    """``amount`` of ``from_currency`` in ``to_currency`` at ``rate``, rounded half-up."""
    if normalize_currency(from_currency) == normalize_currency(to_currency):
        return quantize(amount, to_currency)
    return quantize(amount * rate, to_currency)


def build_entry(
    parts: Iterable[Part],
    *,
    settlement_currency: str,
    company_currency: str,
    rate: Decimal,
    net_account: Hashable,
    deposit: Decimal,
    detailed: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    net_label: str = "",
    exchange_accounts: tuple[Hashable, Hashable] | None = None,
    exchange_label: str = "",
) -> Entry:
    """Entry lines for ``parts`` plus the net line; raises when the parts miss the deposit.

    A part whose own currency is the company currency (a charge the customer paid in the company's
    currency, paid out in another) is booked at that amount: a journal item in the company currency has
    ``amount_currency == balance``. What the settlement's conversion gives more or less is an exchange
    difference, booked on ``exchange_accounts`` (gain, loss) when given, else left to the net line.
    """
    settlement_currency = normalize_currency(settlement_currency)
    company_currency = normalize_currency(company_currency)
    if not isinstance(rate, Decimal) or rate <= 0:
        raise ValueError(f"rate must be a positive Decimal, got {rate!r}")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    parts = list(parts)
    total = sum((part.amount for part in parts), ZERO)
    if total != deposit:
        raise ValueError(
            f"the amounts to book add up to {total} {settlement_currency} but the deposit is "
            f"{deposit} (difference {total - deposit})"
        )

    lines: list[EntryLine] = []
    exchange_difference = ZERO  # company currency, debit > 0
    groups: dict[tuple[Hashable, ...], EntryLine] = {}
    chunk_fill: dict[tuple[Hashable, ...], tuple[int, int]] = {}  # key -> (chunk index, items in it)
    for part in parts:
        balance = -convert(part.amount, rate, settlement_currency, company_currency)
        if part.currency is not None and part.currency != settlement_currency:
            currency, amount_currency = part.currency, -quantize(part.amount_currency, part.currency)
            if currency == company_currency:
                exchange_difference += balance - amount_currency
                balance = amount_currency
        else:
            currency, amount_currency = settlement_currency, -quantize(part.amount, settlement_currency)
        if not balance and not amount_currency and part.reconcile is None:
            continue
        if detailed:
            lines.append(
                EntryLine(
                    account=part.account,
                    currency=currency,
                    amount_currency=amount_currency,
                    balance=balance,
                    label=part.label,
                    partner=part.partner,
                    reconcile=[part.reconcile] if part.reconcile is not None else [],
                    line_ids=[part.line_id],
                    settlement_amount=-quantize(part.amount, settlement_currency),
                )
            )
            continue
        base_key = (part.account, currency, part.group or part.label, part.reconcile is not None)
        if part.reconcile is not None:
            index, filled = chunk_fill.get(base_key, (0, 0))
            if filled >= chunk_size:
                index, filled = index + 1, 0
            chunk_fill[base_key] = (index, filled + 1)
            key = (*base_key, index)
        else:
            key = (*base_key, 0)
        line = groups.get(key)
        if line is None:
            line = groups[key] = EntryLine(
                account=part.account,
                currency=currency,
                amount_currency=ZERO,
                balance=ZERO,
                label=part.group or part.label,
            )
            lines.append(line)
        line.amount_currency += amount_currency
        line.balance += balance
        line.settlement_amount -= quantize(part.amount, settlement_currency)
        if part.reconcile is not None:
            line.reconcile.append(part.reconcile)
        line.line_ids.append(part.line_id)

    lines = [line for line in lines if line.balance or line.amount_currency or line.reconcile]
    if exchange_difference and exchange_accounts is not None:
        gain, loss = exchange_accounts
        lines.append(EntryLine(account=gain if exchange_difference < 0 else loss, currency=company_currency,
                               amount_currency=exchange_difference, balance=exchange_difference,
                               label=exchange_label or "exchange difference"))
    net_balance = -sum((line.balance for line in lines), ZERO)
    lines.append(
        EntryLine(
            account=net_account,
            currency=settlement_currency,
            amount_currency=quantize(deposit, settlement_currency),
            balance=net_balance,
            label=net_label,
            is_net=True,
            settlement_amount=quantize(deposit, settlement_currency),
        )
    )
    return Entry(lines=lines, settlement_currency=settlement_currency, company_currency=company_currency)


def split_clearing(entry: Entry, transit_account: Hashable, max_items: int = DEFAULT_CHUNK_SIZE) -> list[Entry]:
    """Book the clearing of a large payout in entries of at most ``max_items`` open items.

    Odoo recomputes a journal entry's reconciliation state from *all* its partial
    reconciliations each time one of its lines is reconciled, so one entry clearing
    100,000 payments costs quadratically. When the entry clears more than ``max_items``
    items, each reconcilable line moves to an entry of its own, balanced by a line on the
    transit account; the main entry's net line shrinks by as much, so the transit lines
    together still hold exactly the deposit. Returns ``[main, *clearing entries]``
    (just ``[entry]`` when it is small enough).
    """
    reconcilable = [line for line in entry.lines if line.reconcile and not line.is_net]
    if sum(len(line.reconcile) for line in reconcilable) <= max_items:
        return [entry]
    main_lines = [line for line in entry.lines if not (line.reconcile and not line.is_net)]
    net = main_lines[-1]
    settlement_currency = entry.settlement_currency
    clearing_entries = []
    for line in reconcilable:
        transit = EntryLine(
            account=transit_account,
            currency=settlement_currency,
            amount_currency=-line.settlement_amount,
            balance=-line.balance,
            label=line.label,
            line_ids=[],
            is_net=True,
            settlement_amount=-line.settlement_amount,
        )
        clearing_entries.append(
            Entry(lines=[line, transit], settlement_currency=settlement_currency,
                  company_currency=entry.company_currency)
        )
        net.amount_currency += line.settlement_amount
        net.settlement_amount += line.settlement_amount
        net.balance += line.balance
    main = Entry(lines=main_lines, settlement_currency=settlement_currency, company_currency=entry.company_currency)
    return [main, *clearing_entries]


def split_fee(
    fee: Decimal, breakdown: dict[str, Decimal] | None, default_type: str = "fee"
) -> list[tuple[str, Decimal]]:
    """A line's fee as ``(fee type, amount)`` pairs that add up to ``fee`` exactly.

    The breakdown is trusted where it adds up; a remainder (a source that itemises
    only part of its fee) goes to ``default_type``.
    """
    if not fee:
        return []
    pairs = [(key, value) for key, value in (breakdown or {}).items() if value]
    remainder = fee - sum((value for _key, value in pairs), ZERO)
    if remainder:
        pairs.append((default_type, remainder))
    return pairs
