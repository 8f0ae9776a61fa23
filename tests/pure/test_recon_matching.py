"""The matching engine (reference, order, amount+date) and bank statement matching."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from omni_connector_base.canonical.settlement import SettlementLineData
from omni_reconciliation.lib.matching import (
    Candidate,
    MatchStats,
    StatementLine,
    bank_match,
    match_lines,
)

UTC = timezone.utc
DAY = date(2026, 11, 21)


def line(external_id, kind="sale", gross="119.63", *, day=DAY, currency="USD", **refs):
    occurred = datetime(day.year, day.month, day.day, 17, 28, tzinfo=UTC) if day else None
    return SettlementLineData(
        external_id=external_id,
        kind=kind,
        gross=Decimal(gross),
        currency=currency,
        occurred_at=occurred,
        **refs,
    )


def cand(record_id, amount, *refs, kind="payment", day=DAY, currency="USD"):
    return Candidate(
        kind=kind,
        record_id=record_id,
        references=tuple(refs),
        amount=Decimal(amount),
        currency=currency,
        date=day,
    )


def test_reference_match_on_the_charge_id():
    lines = [line("txn_727", transaction_ref="ch_3QWooStripe00727", order_ref="727")]
    payment = cand(1, "119.63", "ch_3QWooStripe00727", "WOO-727")
    order = cand(727, "119.63", "727", kind="order")
    [result] = match_lines(lines, [order, payment])
    assert (result.state, result.method, result.candidate) == ("matched", "reference", payment)
    assert result.difference == Decimal("0.00")
    assert result.suggestions == []


def test_reference_priority_payment_before_invoice_and_difference_reported():
    lines = [line("t", transaction_ref="ch_1", gross="100.00")]
    invoice = cand(5, "100.00", "ch_1", kind="invoice")
    payment = cand(6, "99.00", "ch_1")
    [result] = match_lines(lines, [invoice, payment])
    assert result.candidate is payment
    assert result.difference == Decimal("1.00")  # matched by reference, the gap is shown, not hidden


def test_refund_does_not_grab_the_sale_payment_of_its_charge():
    lines = [
        line("sale", transaction_ref="ch_1", gross="50.00"),
        line("refund", kind="refund", gross="-20.00", transaction_ref="ch_1", refund_ref="re_1"),
    ]
    inbound = cand(1, "50.00", "ch_1")
    outbound = cand(2, "-20.00", "re_1")
    results = match_lines(lines, [inbound, outbound])
    assert [r.candidate for r in results] == [inbound, outbound]
    assert [r.method for r in results] == ["reference", "reference"]


def test_order_reference_match_and_orders_take_several_lines():
    lines = [
        line("sale", order_ref="1042", transaction_ref="unknown"),
        line("refund", kind="refund", gross="-26.10", order_ref="1042"),
        line("fee", kind="fee", gross="-0.50", order_ref="1042"),
    ]
    order = cand(1042, "70.60", "1042", "#1042", kind="order")
    results = match_lines(lines, [order])
    assert [(r.state, r.method) for r in results] == [
        ("matched", "order"),
        ("matched", "order"),
        ("not_applicable", None),
    ]
    assert results[0].candidate is results[1].candidate is order
    assert results[0].difference is None  # an order is a target, not an amount


def test_order_reference_prefers_a_payment_of_the_same_amount():
    lines = [line("t", gross="54.00", order_ref="731")]
    other_payment = cand(1, "20.00", "731")
    payment = cand(2, "54.00", "731")
    order = cand(731, "74.00", "731", kind="order")
    [result] = match_lines(lines, [order, other_payment, payment])
    assert (result.method, result.candidate) == ("order", payment)


def test_amount_and_date_only_suggest():
    lines = [line("t", gross="54.00", day=DAY)]
    near = cand(1, "54.00", "nothing-shared", day=DAY + timedelta(days=2))
    same_day = cand(2, "54.00", day=DAY)
    wrong_amount = cand(3, "54.01", day=DAY)
    wrong_currency = cand(4, "54.00", day=DAY, currency="EUR")
    [result] = match_lines(lines, [near, same_day, wrong_amount, wrong_currency])
    assert (result.state, result.method, result.candidate) == ("suggested", "amount_date", None)
    assert result.suggestions == [same_day, near]  # nearest date first


def test_suggestions_do_not_consume_and_confirmed_candidates_are_not_suggested():
    lines = [
        line("a", gross="10.00", transaction_ref="ch_a"),
        line("b", gross="10.00"),
        line("c", gross="10.00"),
    ]
    taken = cand(1, "10.00", "ch_a")
    free = cand(2, "10.00")
    results = match_lines(lines, [taken, free])
    assert results[0].candidate is taken
    assert results[1].suggestions == [free] and results[2].suggestions == [free]


def test_a_candidate_is_matched_by_one_line_only():
    lines = [line("a", transaction_ref="ch_dup"), line("b", transaction_ref="ch_dup")]
    payment = cand(1, "119.63", "ch_dup")
    results = match_lines(lines, [payment])
    assert results[0].candidate is payment
    assert results[1].state == "unmatched" and results[1].candidate is None
    assert results[1].suggestions == []  # a used payment is not suggested again either


@pytest.mark.parametrize(
    ("offset", "state"),
    [(-5, "suggested"), (5, "suggested"), (-6, "unmatched"), (6, "unmatched"), (0, "suggested")],
)
def test_date_window_is_inclusive(offset, state):
    [result] = match_lines(
        [line("t", gross="54.00")], [cand(1, "54.00", day=DAY + timedelta(days=offset))], date_window_days=5
    )
    assert result.state == state


def test_window_zero_and_amount_tolerance():
    lines = [line("t", gross="54.00")]
    off_by_cent = cand(1, "54.01")
    assert match_lines(lines, [off_by_cent])[0].state == "unmatched"
    [result] = match_lines(lines, [off_by_cent], amount_tolerance=Decimal("0.01"))
    assert result.suggestions == [off_by_cent]
    next_day = cand(2, "54.00", day=DAY + timedelta(days=1))
    assert match_lines(lines, [next_day], date_window_days=0)[0].state == "unmatched"
    with pytest.raises(ValueError):
        match_lines(lines, [next_day], amount_tolerance=Decimal("-1"))


def test_not_applicable_kinds_and_lines_without_date():
    lines = [
        line("fee", kind="fee", gross="-0.50"),
        line("commission", kind="commission", gross="-8.70", order_ref="114-1"),
        line("dispute_fee", kind="dispute_fee", gross="-15.00", dispute_ref="dp_1"),
        line("nodate", gross="54.00", day=None),
    ]
    results = match_lines(lines, [cand(1, "54.00"), cand(2, "-8.70", "114-1"), cand(3, "-15.00", "dp_1")])
    assert [r.state for r in results] == ["not_applicable"] * 3 + ["unmatched"]


def test_chargeback_matches_by_dispute_or_order():
    lines = [
        line("cb", kind="chargeback", gross="-45.00", dispute_ref="dp_1", transaction_ref="ch_688"),
        line("cb2", kind="chargeback", gross="-45.00", transaction_ref="ch_689", order_ref="689"),
    ]
    sale_payment = cand(1, "45.00", "ch_688")  # positive: must not be taken by a chargeback
    order = cand(689, "45.00", "689", kind="order")
    results = match_lines(lines, [sale_payment, order])
    assert results[0].state == "unmatched"
    assert results[1].candidate is order


def test_foreign_currency_line_matches_on_its_original_amount():
    fx_line = SettlementLineData(
        external_id="t",
        kind="sale",
        gross=Decimal("54.00"),
        currency="USD",
        exchange_rate=Decimal("1.08"),
        original_currency="EUR",
        original_amount=Decimal("50.00"),
        occurred_at=datetime(2026, 11, 21, 9, tzinfo=UTC),
    )
    eur_payment = cand(1, "50.00", currency="EUR")
    [result] = match_lines([fx_line], [eur_payment, cand(2, "54.00")])
    assert result.suggestions == [eur_payment]


def test_extra_refs_are_tried_after_the_primary_reference():
    lines = [line("t", transaction_ref="ch_1", extra_refs=("pi_1",))]
    payment = cand(1, "119.63", "pi_1")
    assert match_lines(lines, [payment])[0].candidate is payment


def _generated(n):
    """n sale lines, half matchable by reference, a quarter by order, a quarter by amount/date."""
    lines, candidates = [], []
    for i in range(n):
        amount = Decimal(1000 + i) / 100
        day = DAY + timedelta(days=i % 30)
        group = i % 4
        if group < 2:
            lines.append(line(f"t{i}", gross=str(amount), day=day, transaction_ref=f"ch_{i}"))
            candidates.append(cand(i, str(amount), f"ch_{i}", day=day))
        elif group == 2:
            lines.append(line(f"t{i}", gross=str(amount), day=day, order_ref=f"SO{i}"))
            candidates.append(cand(i, str(amount), f"SO{i}", kind="order", day=day))
        else:
            lines.append(line(f"t{i}", gross=str(amount), day=day))
            candidates.append(cand(i, str(amount), day=day + timedelta(days=1)))
    return lines, candidates


def test_linear_on_100k_lines():
    n = 100_000
    lines, candidates = _generated(n)
    stats = MatchStats()
    results = match_lines(lines, candidates, stats=stats)
    states = [r.state for r in results]
    assert states.count("matched") == n * 3 // 4
    assert states.count("suggested") == n // 4
    for i in (0, 1, 2, 3, n - 1):
        result = results[i]
        if i % 4 < 2:
            assert (result.method, result.candidate.record_id) == ("reference", i)
        elif i % 4 == 2:
            assert (result.method, result.candidate.record_id) == ("order", i)
        else:
            assert result.suggestions[0].record_id == i
    # bounded work per line: a handful of dict probes, never a scan of the candidates
    assert stats.examined <= 2 * (len(lines) + len(candidates))
    assert stats.lookups <= 3 * len(lines) + 11 * (n // 4)  # pass 3 probes 2*5+1 days per line


def test_work_grows_linearly_even_with_one_shared_reference():
    """Adversarial: every candidate and every line carry the same reference and amount."""

    def run(n):
        lines = [line(f"t{i}", gross="10.00", transaction_ref="ch_same") for i in range(n)]
        candidates = [cand(i, "10.00", "ch_same") for i in range(n + 10)]
        stats = MatchStats()
        results = match_lines(lines, candidates, stats=stats)
        assert {r.candidate.record_id for r in results} == set(range(n))  # each used once
        return stats

    small, large = run(2_000), run(4_000)
    assert large.examined <= 2 * small.examined + 10
    assert large.lookups <= 2 * small.lookups + 10


def test_suggestion_work_is_bounded_when_many_candidates_share_amount_and_date():
    lines = [line(f"t{i}", gross="10.00") for i in range(5_000)]
    candidates = [cand(i, "10.00") for i in range(5_000)]
    stats = MatchStats()
    results = match_lines(lines, candidates, stats=stats, max_suggestions=3)
    assert all(len(r.suggestions) == 3 for r in results)
    assert stats.examined <= 3 * len(lines)


# -- bank matching ---------------------------------------------------------------------

PAYOUT_DAY = date(2024, 11, 25)


def st(line_id, amount, day_offset, label=""):
    return StatementLine(
        id=line_id, amount=Decimal(amount), date=PAYOUT_DAY + timedelta(days=day_offset), label=label
    )


def test_bank_match_prefers_the_label_with_the_payout_id():
    lines = [st(1, "87.49", 0, "STRIPE"), st(2, "87.49", 1, "STRIPE PAYOUT po_1QWooPayout1124")]
    match = bank_match(Decimal("87.49"), PAYOUT_DAY, "po_1QWooPayout1124", lines, window_days=3)
    assert (match.line.id, match.method, match.difference, match.days) == (2, "label", Decimal("0.00"), 1)


def test_bank_match_label_with_a_different_amount_reports_the_difference():
    lines = [st(1, "87.00", 0, "Payout PO_1QWOOPAYOUT1124 less bank charge")]
    match = bank_match(Decimal("87.49"), PAYOUT_DAY, "po_1QWooPayout1124", lines)
    assert (match.method, match.difference) == ("label", Decimal("-0.49"))


def test_bank_match_exact_amount_closest_in_date():
    lines = [st(1, "87.49", -2), st(2, "87.49", 1), st(3, "87.50", 0), st(4, "87.49", -1)]
    match = bank_match(Decimal("87.49"), PAYOUT_DAY, None, lines, window_days=3)
    assert (match.line.id, match.method) == (2, "amount_date")  # 1 day after beats 1 day before


def test_bank_match_window_boundaries():
    assert bank_match(Decimal("87.49"), PAYOUT_DAY, None, [st(1, "87.49", 3)], window_days=3).line.id == 1
    assert bank_match(Decimal("87.49"), PAYOUT_DAY, None, [st(1, "87.49", -3)], window_days=3).line.id == 1
    assert bank_match(Decimal("87.49"), PAYOUT_DAY, None, [st(1, "87.49", 4)], window_days=3) is None
    labelled_late = [st(1, "87.49", 10, "po_1QWooPayout1124")]
    assert (
        bank_match(Decimal("87.49"), PAYOUT_DAY, "po_1QWooPayout1124", labelled_late, window_days=3) is None
    )
    assert bank_match(Decimal("87.49"), PAYOUT_DAY, None, []) is None


def test_bank_match_ignores_too_short_references_and_refuses_floats():
    lines = [st(1, "10.00", 0, "invoice 12"), st(2, "87.49", 2)]
    assert bank_match(Decimal("87.49"), PAYOUT_DAY, "12", lines).line.id == 2
    with pytest.raises(TypeError):
        bank_match(87.49, PAYOUT_DAY, None, lines)


def test_matching_inputs_refuse_floats():
    with pytest.raises(TypeError):
        StatementLine(id=1, amount=87.49, date=PAYOUT_DAY)
    with pytest.raises(TypeError):
        Candidate(kind="payment", record_id=1, references=("x",), amount=87.49, currency="USD", date=DAY)
    with pytest.raises(TypeError):
        Candidate(kind="payment", record_id=1, references="ch_1", amount=Decimal(1), currency="USD", date=DAY)
    with pytest.raises(ValueError):
        Candidate(kind="receipt", record_id=1, references=(), amount=Decimal(1), currency="USD", date=DAY)


def test_refund_failure_matches_its_refund_payment_not_the_charge():
    # the failed refund brings the refund's 20.00 back (+20.00): it belongs to the refund's outbound
    # payment (-20.00), never to the charge's inbound payment of the same charge
    failure = line("fail", kind="refund_failure", gross="20.00", transaction_ref="ch_1", refund_ref="re_1")
    inbound = cand(1, "20.00", "ch_1")
    outbound = cand(2, "-20.00", "re_1")
    [result] = match_lines([failure], [inbound, outbound])
    assert (result.state, result.method, result.candidate) == ("matched", "reference", outbound)
    assert result.difference == Decimal("0.00")
