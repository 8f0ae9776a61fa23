"""Matching settlement lines to Odoo records, and payouts to bank statement lines.

Linear by construction: every index is a dict built once from the candidates,
every line does a bounded number of dict probes (hash join), so 100k lines and
100k candidates take two passes over each, never lines times candidates.

Candidate amounts follow the settlement sign convention: what the record did to
the merchant's money, so an inbound payment or an invoice is positive, an
outbound (refund) payment or a credit note negative. A line only matches a
candidate of the same sign (an ``order`` is sign-less), which keeps a refund
that references its charge from grabbing the charge's payment.

Passes:

1. **reference** — the line's own ids (charge, refund, dispute, PaymentIntent)
   against candidate references; payments first, then credit notes, invoices.
2. **order** — still unmatched: a payment/invoice carrying the order reference
   *and* the same amount, else the order itself (orders can take several
   lines: the sale and its refund both point to order 727).
3. **amount_date** — still unmatched sale/refund lines get *suggestions*, never
   confirmations: unused candidates with the same currency and amount (±
   ``amount_tolerance``) dated within ``date_window_days`` (inclusive).

A non-order candidate is matched by at most one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

try:
    from odoo.addons.omni_connector_base.canonical.money import minor_unit, normalize_currency
    from odoo.addons.omni_connector_base.canonical.settlement import SettlementLineData
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.money import minor_unit, normalize_currency
    from omni_connector_base.canonical.settlement import SettlementLineData

CANDIDATE_KINDS = ("payment", "credit_note", "invoice", "order")  # also the reference priority
MATCHABLE_KINDS = frozenset({"sale", "refund", "chargeback", "chargeback_reversal", "refund_failure"})
# Kinds reversing an earlier movement, matched with their amount negated (see ``match_amount``).
REVERSING_KINDS = frozenset({"refund_failure"})
SUGGESTABLE_KINDS = frozenset({"sale", "refund"})
MAX_SUGGESTIONS = 5
MAX_AMOUNT_STEPS = 1000  # tolerance / minor unit; bounds the probes per line

_REF_FIELDS = {
    "sale": ("transaction_ref",),
    "refund": ("refund_ref", "transaction_ref"),
    "refund_failure": ("refund_ref", "transaction_ref"),
    "chargeback": ("dispute_ref", "transaction_ref"),
    "chargeback_reversal": ("dispute_ref", "transaction_ref"),
}


@dataclass(frozen=True)
class Candidate:
    """An Odoo record a line may belong to (built by the Odoo side, no ORM here)."""

    kind: str
    record_id: int
    references: tuple[str, ...]
    amount: Decimal
    currency: str
    date: date
    partner: int | str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CANDIDATE_KINDS:
            raise ValueError(f"unknown candidate kind {self.kind!r}")
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"candidate amount must be a Decimal, got {self.amount!r}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        if isinstance(self.references, str):
            raise TypeError("references must be a tuple of strings, not one string")
        object.__setattr__(self, "references", tuple(self.references))
        if isinstance(self.date, datetime):
            object.__setattr__(self, "date", self.date.date())

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.record_id


@dataclass
class MatchResult:
    """Outcome for one line; ``difference`` = line amount - candidate amount (same currency)."""

    line_index: int
    state: str  # matched | suggested | unmatched | not_applicable
    method: str | None = None  # reference | order | amount_date
    candidate: Candidate | None = None
    suggestions: list[Candidate] = field(default_factory=list)
    difference: Decimal | None = None


@dataclass
class MatchStats:
    """Work counters, so tests can prove the matcher is linear without timing it."""

    lookups: int = 0  # dict probes
    examined: int = 0  # candidates looked at (taken, skipped as used, or suggested)


class _Bucket:
    """Candidates under one key, in priority order; used ones are skipped once, lazily."""

    __slots__ = ("head", "items")

    def __init__(self) -> None:
        self.items: list[Candidate] = []
        self.head = 0

    def take(self, used: set[tuple[str, int]], stats: MatchStats) -> Candidate | None:
        while self.head < len(self.items):
            candidate = self.items[self.head]
            stats.examined += 1
            if candidate.key not in used:
                return candidate
            self.head += 1  # each candidate is skipped at most once per bucket
        return None


def match_amount(line: SettlementLineData) -> tuple[str, Decimal]:
    """(currency, amount) a line is matched on, signed like its candidates: the line's
    ``match_amount``, negated for a kind that reverses an earlier movement (a failed refund brings
    the refund's money back, +, and belongs to the refund's outbound payment, -)."""
    currency, amount = line.match_amount
    return (currency, -amount) if line.kind in REVERSING_KINDS else (currency, amount)


def _sign(amount: Decimal) -> int:
    return -1 if amount < 0 else 1


def _clean(ref: object) -> str | None:
    if ref is None:
        return None
    text = str(ref).strip()
    return text or None


def _line_refs(line: SettlementLineData) -> list[str]:
    refs = [getattr(line, name) for name in _REF_FIELDS.get(line.kind, ())]
    refs.extend(line.extra_refs)
    cleaned = [_clean(ref) for ref in refs]
    return [ref for ref in dict.fromkeys(cleaned) if ref]


def _line_date(line: SettlementLineData) -> date | None:
    return line.occurred_at.date() if line.occurred_at is not None else None


def _difference(line: SettlementLineData, candidate: Candidate) -> Decimal | None:
    currency, amount = match_amount(line)
    if candidate.kind == "order" or currency != candidate.currency:
        return None
    return amount - candidate.amount


def match_lines(
    lines: Sequence[SettlementLineData],
    candidates: Iterable[Candidate],
    date_window_days: int = 5,
    amount_tolerance: Decimal = Decimal("0"),
    *,
    max_suggestions: int = MAX_SUGGESTIONS,
    stats: MatchStats | None = None,
) -> list[MatchResult]:
    """Match every line (results in line order, one per line); see the module doc."""
    if date_window_days < 0:
        raise ValueError("date_window_days must be >= 0")
    if not isinstance(amount_tolerance, Decimal) or amount_tolerance < 0:
        raise ValueError("amount_tolerance must be a non-negative Decimal")
    stats = stats if stats is not None else MatchStats()
    candidates = list(candidates)

    # -- indexes, built once ------------------------------------------------
    by_kind: dict[str, list[Candidate]] = {kind: [] for kind in CANDIDATE_KINDS}
    for candidate in candidates:
        by_kind[candidate.kind].append(candidate)
    ref_index: dict[tuple[str, int], _Bucket] = {}
    ref_amount_index: dict[tuple[str, int, str, Decimal], _Bucket] = {}
    order_index: dict[str, Candidate] = {}
    for kind in CANDIDATE_KINDS:  # priority order: payment, credit note, invoice, order
        for candidate in by_kind[kind]:
            sign = _sign(candidate.amount)
            for raw_ref in dict.fromkeys(candidate.references):
                ref = _clean(raw_ref)
                if ref is None:
                    continue
                if kind == "order":
                    order_index.setdefault(ref, candidate)
                    continue
                ref_index.setdefault((ref, sign), _Bucket()).items.append(candidate)
                key = (ref, sign, candidate.currency, candidate.amount)
                ref_amount_index.setdefault(key, _Bucket()).items.append(candidate)

    results = [
        MatchResult(index, "unmatched" if line.kind in MATCHABLE_KINDS else "not_applicable")
        for index, line in enumerate(lines)
    ]
    used: set[tuple[str, int]] = set()

    def confirm(result: MatchResult, candidate: Candidate, method: str) -> None:
        result.state, result.method, result.candidate = "matched", method, candidate
        result.difference = _difference(lines[result.line_index], candidate)
        if candidate.kind != "order":
            used.add(candidate.key)

    # -- pass 1: the line's own references ----------------------------------
    for result in results:
        if result.state != "unmatched":
            continue
        line = lines[result.line_index]
        sign = _sign(match_amount(line)[1])
        for ref in _line_refs(line):
            stats.lookups += 1
            bucket = ref_index.get((ref, sign))
            candidate = bucket.take(used, stats) if bucket else None
            if candidate is not None:
                confirm(result, candidate, "reference")
                break

    # -- pass 2: the order reference ------------------------------------------
    for result in results:
        if result.state != "unmatched":
            continue
        line = lines[result.line_index]
        currency, amount = match_amount(line)
        order_ref = _clean(line.order_ref)
        if order_ref:
            stats.lookups += 1
            bucket = ref_amount_index.get((order_ref, _sign(amount), currency, amount))
            candidate = bucket.take(used, stats) if bucket else None
            if candidate is not None:
                confirm(result, candidate, "order")
                continue
        for ref, method in [(order_ref, "order")] + [(ref, "reference") for ref in _line_refs(line)]:
            if not ref:
                continue
            stats.lookups += 1
            candidate = order_index.get(ref)
            if candidate is not None:
                stats.examined += 1
                confirm(result, candidate, method)
                break

    # -- pass 3: suggestions by amount and date ------------------------------
    pending = [
        result
        for result in results
        if result.state == "unmatched" and lines[result.line_index].kind in SUGGESTABLE_KINDS
    ]
    if not pending:
        return results
    date_index: dict[tuple[str, Decimal, date], list[Candidate]] = {}
    for kind in CANDIDATE_KINDS:
        for candidate in by_kind[kind]:
            if candidate.key not in used:
                date_index.setdefault((candidate.currency, candidate.amount, candidate.date), []).append(
                    candidate
                )
    day_offsets = [0]
    for days in range(1, date_window_days + 1):
        day_offsets += [-days, days]
    for result in pending:
        line = lines[result.line_index]
        line_date = _line_date(line)
        if line_date is None:
            continue
        currency, amount = match_amount(line)
        unit = minor_unit(currency)
        steps = int(amount_tolerance / unit)
        if steps > MAX_AMOUNT_STEPS:
            raise ValueError(f"amount_tolerance {amount_tolerance} is too wide for {currency}")
        amounts = [amount]
        for step in range(1, steps + 1):
            amounts += [amount - step * unit, amount + step * unit]
        suggestions: list[Candidate] = []
        for offset in day_offsets:
            day = line_date + timedelta(days=offset)
            for probe in amounts:
                stats.lookups += 1
                for candidate in date_index.get((currency, probe, day), ()):
                    stats.examined += 1
                    suggestions.append(candidate)
                    if len(suggestions) >= max_suggestions:
                        break
                if len(suggestions) >= max_suggestions:
                    break
            if len(suggestions) >= max_suggestions:
                break
        if suggestions:
            result.state, result.method, result.suggestions = "suggested", "amount_date", suggestions
    return results


# -- bank statement ------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """A bank statement line as the Odoo side hands it over (amount signed, deposit > 0)."""

    id: int | str
    amount: Decimal
    date: date
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"statement amount must be a Decimal, got {self.amount!r}")


@dataclass(frozen=True)
class BankMatch:
    line: StatementLine
    method: str  # label | amount_date
    difference: Decimal  # statement amount - payout amount
    days: int  # statement date - payout date


MIN_LABEL_REF_LENGTH = 6  # shorter ids ('12') would be found in unrelated labels


def bank_match(
    payout_amount: Decimal,
    payout_date: date,
    payout_ref: str | None,
    statement_lines: Iterable[StatementLine],
    window_days: int = 3,
) -> BankMatch | None:
    """The statement line that received the payout, or ``None``.

    A line whose label contains the payout id wins (equal amount first, then
    nearest date); otherwise the line with exactly the payout amount nearest in
    date, a deposit on/after the payout date beating one before it at equal
    distance. Nothing outside ``window_days`` is taken, not even by label.
    """
    if not isinstance(payout_amount, Decimal):
        raise TypeError("payout_amount must be a Decimal")
    if isinstance(payout_date, datetime):
        payout_date = payout_date.date()
    ref = (payout_ref or "").strip().casefold()
    use_label = len(ref) >= MIN_LABEL_REF_LENGTH
    best_label: tuple[tuple[int, int, int, int], StatementLine] | None = None
    best_amount: tuple[tuple[int, int, int], StatementLine] | None = None
    for position, line in enumerate(statement_lines):
        line_date = line.date.date() if isinstance(line.date, datetime) else line.date
        days = (line_date - payout_date).days
        if abs(days) > window_days:
            continue
        # rank: nearer first, then on/after the payout date, then statement order
        rank = (abs(days), 0 if days >= 0 else 1, position)
        if use_label and ref in (line.label or "").casefold():
            label_rank = (0 if line.amount == payout_amount else 1, *rank)
            if best_label is None or label_rank < best_label[0]:
                best_label = (label_rank, line)
        elif line.amount == payout_amount and (best_amount is None or rank < best_amount[0]):
            best_amount = (rank, line)
    if best_label is not None:
        return _bank_result(best_label[1], "label", payout_amount, payout_date)
    if best_amount is not None:
        return _bank_result(best_amount[1], "amount_date", payout_amount, payout_date)
    return None


def _bank_result(line: StatementLine, method: str, payout_amount: Decimal, payout_date: date) -> BankMatch:
    line_date = line.date.date() if isinstance(line.date, datetime) else line.date
    return BankMatch(line, method, line.amount - payout_amount, (line_date - payout_date).days)
