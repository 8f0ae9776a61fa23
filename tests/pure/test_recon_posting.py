"""The settlement entry computed without Odoo: signs, conversion, rounding, aggregation, chunks."""

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from omni_connector_base.canonical.settlement import SettlementData, SettlementLineData, settlement_digest
from omni_connector_shopify.lib.payouts import settlement_from_shopify
from omni_reconciliation.lib.posting import Part, build_entry, convert, split_clearing, split_fee

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def shopify_parts():
    """The Shopify payout 156.87 as the Odoo side would hand it over (accounts are plain names)."""
    return [
        Part(1, "outstanding_receipts", D("70.60"), label="charge 1", reconcile="pay_1042", group="sales"),
        Part(1, "fees", D("-2.35"), group="fees"),
        Part(2, "outstanding_receipts", D("120.00"), label="charge 2", reconcile="pay_1043", group="sales"),
        Part(2, "fees", D("-3.78"), group="fees"),
        Part(3, "outstanding_payments", D("-26.10"), reconcile="refund_1042", group="refunds"),
        Part(4, "adjustments", D("-1.50"), group="adjustments"),
    ]


def test_summary_entry_balances_and_signs():
    entry = build_entry(shopify_parts(), settlement_currency="EUR", company_currency="EUR", rate=D(1),
                        net_account="transit", deposit=D("156.87"))
    by_account = {line.account: line for line in entry.lines}
    assert by_account["outstanding_receipts"].balance == D("-190.60")  # sales are credits
    assert by_account["outstanding_receipts"].reconcile == ["pay_1042", "pay_1043"]
    assert by_account["fees"].balance == D("6.13")  # fees are debits
    assert by_account["outstanding_payments"].balance == D("26.10")
    assert by_account["adjustments"].balance == D("1.50")
    assert entry.net_line.account == "transit"
    assert entry.net_line.balance == D("156.87") == entry.net_line.amount_currency
    assert entry.total_balance() == 0
    assert len(entry.lines) == 5


def test_detailed_entry_keeps_one_line_per_part():
    entry = build_entry(shopify_parts(), settlement_currency="EUR", company_currency="EUR", rate=D(1),
                        net_account="transit", deposit=D("156.87"), detailed=True)
    assert len(entry.lines) == 7
    assert [line.line_ids for line in entry.lines[:-1]] == [[1], [1], [2], [2], [3], [4]]
    assert entry.total_balance() == 0


def test_parts_missing_the_deposit_are_refused_with_both_numbers():
    with pytest.raises(ValueError, match=r"add up to 158\.37 EUR but the deposit is 156\.87"):
        build_entry(shopify_parts()[:-1], settlement_currency="EUR", company_currency="EUR", rate=D(1),
                    net_account="transit", deposit=D("156.87"))


def test_conversion_rounding_never_unbalances_the_entry():
    # three thirds of a cent each: every conversion rounds, the net line absorbs the rounding
    parts = [Part(i, "clearing", D("0.01"), reconcile=f"p{i}") for i in range(3)]
    parts.append(Part(9, "fees", D("-0.02")))
    entry = build_entry(parts, settlement_currency="EUR", company_currency="USD", rate=D("1.3333"),
                        net_account="transit", deposit=D("0.01"), detailed=True)
    assert entry.total_balance() == 0
    assert [line.balance for line in entry.lines[:3]] == [D("-0.01")] * 3
    assert entry.net_line.amount_currency == D("0.01")
    # fees: 0.02 EUR * 1.3333 = 0.026666 -> 0.03 USD; three sales of -0.01: the net takes what is left
    assert entry.net_line.balance == D("0.00")


def test_foreign_original_currency_keeps_its_amount_and_the_settlement_conversion():
    parts = [
        Part(1, "clearing", D("110.00"), currency="eur", amount_currency=D("100.00"), reconcile="pay_eur"),
        Part(1, "fees", D("-3.50")),
    ]
    entry = build_entry(parts, settlement_currency="USD", company_currency="USD", rate=D(1),
                        net_account="transit", deposit=D("106.50"))
    clearing = entry.lines[0]
    assert (clearing.currency, clearing.amount_currency, clearing.balance) == ("EUR", D("-100.00"), D("-110.00"))
    assert entry.total_balance() == 0


def test_zero_decimal_currency():
    parts = [Part(1, "clearing", D("5000"), reconcile="pay"), Part(1, "fees", D("-180"))]
    entry = build_entry(parts, settlement_currency="JPY", company_currency="USD", rate=D(1) / D(150),
                        net_account="transit", deposit=D("4820"))
    assert [line.amount_currency for line in entry.lines] == [D("-5000"), D("180"), D("4820")]
    assert [line.balance for line in entry.lines] == [D("-33.33"), D("1.20"), D("32.13")]


def test_reconcilable_groups_are_chunked_so_the_cost_per_item_is_constant():
    parts = [Part(i, "clearing", D("1.00"), reconcile=i, group="sales") for i in range(2500)]
    parts += [Part(i, "fees", D("-0.10"), group="fees") for i in range(2500)]
    entry = build_entry(parts, settlement_currency="USD", company_currency="USD", rate=D(1),
                        net_account="transit", deposit=D("2250.00"), chunk_size=1000)
    clearing = [line for line in entry.lines if line.account == "clearing"]
    assert [len(line.reconcile) for line in clearing] == [1000, 1000, 500]
    assert [line.balance for line in clearing] == [D("-1000.00"), D("-1000.00"), D("-500.00")]
    fees = [line for line in entry.lines if line.account == "fees"]
    assert len(fees) == 1 and fees[0].balance == D("250.00")
    assert entry.total_balance() == 0


def test_negative_deposit_credits_the_transit_account():
    parts = [Part(1, "chargebacks", D("-45.00")), Part(2, "fees", D("-15.00"))]
    entry = build_entry(parts, settlement_currency="USD", company_currency="USD", rate=D(1),
                        net_account="transit", deposit=D("-60.00"))
    assert entry.net_line.balance == D("-60.00")


def test_part_validation():
    with pytest.raises(TypeError):
        Part(1, "a", 1.0)
    with pytest.raises(ValueError):
        Part(1, "a", D(1), currency="EUR")
    with pytest.raises(ValueError):
        build_entry([], settlement_currency="USD", company_currency="USD", rate=D(0), net_account="t", deposit=D(0))
    assert convert(D("10.005"), D(1), "USD", "USD") == D("10.01")


def test_split_fee_adds_up():
    assert split_fee(D("3.77"), {"stripe_fee": D("3.77")}) == [("stripe_fee", D("3.77"))]
    assert split_fee(D("5.00"), {"stripe_fee": D("3.00")}) == [("stripe_fee", D("3.00")), ("fee", D("2.00"))]
    assert split_fee(D("0"), {"stripe_fee": D("1")}) == []
    assert split_fee(D("-1.00"), None) == [("fee", D("-1.00"))]


def test_digest_is_stable_and_content_sensitive():
    payout = json.loads((FIXTURES / "shopify" / "payout.json").read_text())
    txns = json.loads((FIXTURES / "shopify" / "payout_balance_transactions.json").read_text())
    first = settlement_from_shopify(payout, txns)
    again = settlement_from_shopify(payout, txns)
    assert settlement_digest(first) == settlement_digest(again)
    txns["transactions"][0]["fee"], txns["transactions"][0]["net"] = "2.36", "68.24"
    changed = settlement_from_shopify(payout, txns)
    assert settlement_digest(changed) != settlement_digest(first)


def test_digest_of_minimal_settlement():
    data = SettlementData(source="file", external_id="x", currency="usd", expected_amount=D("1.00"),
                          lines=[SettlementLineData(external_id="a", kind="sale", gross=D("1.00"), currency="USD")])
    assert len(settlement_digest(data)) == 64


def test_large_clearing_is_split_into_entries_that_still_hold_the_deposit():
    parts = [Part(i, "clearing", D("10.00"), reconcile=i, group="sales") for i in range(5)]
    parts.append(Part(99, "fees", D("-1.50"), group="fees"))
    entry = build_entry(parts, settlement_currency="EUR", company_currency="USD", rate=D("1.1"),
                        net_account="transit", deposit=D("48.50"), chunk_size=2)
    assert split_clearing(entry, "transit", max_items=5) == [entry], "small enough: one entry"
    main, *clearing = split_clearing(entry, "transit", max_items=2)
    assert len(clearing) == 3  # chunks of 2, 2 and 1 payments
    assert [len(one.lines[0].reconcile) for one in clearing] == [2, 2, 1]
    for one in [main, *clearing]:
        assert one.total_balance() == 0
    assert all(line.account != "clearing" for line in main.lines)
    transit = [line for one in [main, *clearing] for line in one.lines if line.account == "transit"]
    assert sum(line.amount_currency for line in transit) == D("48.50")
    assert sum(line.balance for line in transit) == D("53.35")  # 48.50 * 1.1
    assert main.net_line.amount_currency == D("-1.50")  # only the fees are left in the main entry


def test_split_keeps_original_currency_lines_balanced():
    parts = [Part(1, "clearing", D("110.00"), currency="EUR", amount_currency=D("100.00"), reconcile="a"),
             Part(2, "clearing", D("55.00"), currency="EUR", amount_currency=D("50.00"), reconcile="b")]
    entry = build_entry(parts, settlement_currency="USD", company_currency="USD", rate=D(1),
                        net_account="transit", deposit=D("165.00"), chunk_size=1)
    main, first, second = split_clearing(entry, "transit", max_items=1)
    assert (first.lines[0].currency, first.lines[0].amount_currency) == ("EUR", D("-100.00"))
    assert (first.lines[1].currency, first.lines[1].amount_currency, first.lines[1].balance) == (
        "USD", D("110.00"), D("110.00"))
    assert main.net_line.amount_currency == 0 and main.net_line.balance == 0
    assert first.total_balance() == second.total_balance() == 0


def test_a_line_in_the_company_currency_is_booked_at_its_own_amount():
    # a USD company paid out in EUR: the customer paid 54.00 USD; the settlement's conversion of its
    # 49.50 EUR gives 55.00 USD. The journal item in USD must say 54.00 both ways (amount_currency ==
    # balance); the 1.00 USD the conversion gives more is an exchange gain.
    parts = [
        Part(1, "outstanding_receipts", D("49.50"), currency="USD", amount_currency=D("54.00"),
             reconcile="pay_1", group="sales"),
        Part(1, "fees", D("-1.50"), group="fees"),
    ]
    entry = build_entry(parts, settlement_currency="EUR", company_currency="USD", rate=D("1.1111111111"),
                        net_account="transit", deposit=D("48.00"), exchange_accounts=("fx_gain", "fx_loss"))
    by_account = {line.account: line for line in entry.lines}
    sale = by_account["outstanding_receipts"]
    assert (sale.currency, sale.amount_currency, sale.balance) == ("USD", D("-54.00"), D("-54.00"))
    assert by_account["fx_gain"].balance == by_account["fx_gain"].amount_currency == D("-1.00")
    assert "fx_loss" not in by_account
    assert entry.net_line.balance == D("53.33")  # 48.00 EUR at the settlement's rate, untouched
    assert entry.total_balance() == 0
    # every journal item in the company currency has amount_currency == balance
    assert all(line.amount_currency == line.balance for line in entry.lines if line.currency == "USD")
    # without exchange accounts the net line takes the difference, the USD item stays right
    entry = build_entry(parts, settlement_currency="EUR", company_currency="USD", rate=D("1.1111111111"),
                        net_account="transit", deposit=D("48.00"))
    sale = next(line for line in entry.lines if line.account == "outstanding_receipts")
    assert sale.amount_currency == sale.balance == D("-54.00") and entry.total_balance() == 0
