"""Shopify Payments payouts and Amazon V2 settlement reports mapped to settlements."""

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from omni_connector_base.canonical.money import COMMA
from omni_connector_base.canonical.settlement import check_balance, totals_by_kind
from omni_connector_shopify.lib.payouts import classify, settlement_from_shopify
from omni_reconciliation.lib.amazon_settlement import classify_row, parse_amazon_datetime, parse_settlement_v2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
UTC = timezone.utc


def assert_decimal_and_utc(settlement):
    assert isinstance(settlement.expected_amount, Decimal)
    for line in settlement.lines:
        for value in (
            line.gross,
            line.fee,
            line.net,
            *line.fee_breakdown.values(),
            *line.components.values(),
        ):
            assert isinstance(value, Decimal), line.external_id
        if line.occurred_at is not None:
            assert line.occurred_at.utcoffset() == timedelta(0)


# -- Shopify Payments -------------------------------------------------------------


@pytest.fixture
def shopify_payout():
    payout = json.loads((FIXTURES / "shopify" / "payout.json").read_text())
    transactions = json.loads((FIXTURES / "shopify" / "payout_balance_transactions.json").read_text())
    return payout, transactions


def test_shopify_fixture_payout_adds_up(shopify_payout):
    payout, transactions = shopify_payout
    settlement = settlement_from_shopify(payout, transactions["transactions"])
    assert settlement.source == "shopify_payments"
    assert settlement.external_id == "623721858"
    assert settlement.currency == "EUR"
    assert settlement.expected_amount == Decimal("156.87")
    assert settlement.payout_date == date(2026, 11, 25)
    assert settlement.status == "paid"
    assert check_balance(settlement).ok
    assert_decimal_and_utc(settlement)
    assert [line.kind for line in settlement.lines] == ["sale", "sale", "refund", "adjustment"]
    totals = totals_by_kind(settlement)
    assert totals == {"sale": Decimal("184.47"), "refund": Decimal("-26.10"), "adjustment": Decimal("-1.50")}
    # the payout's summary agrees: charges 190.60 - fees 6.13
    sales = [line for line in settlement.lines if line.kind == "sale"]
    assert sum(line.gross for line in sales) == Decimal(payout["payout"]["summary"]["charges_gross_amount"])
    assert sum(line.fee for line in sales) == Decimal(payout["payout"]["summary"]["charges_fee_amount"])

    first = settlement.lines[0]
    assert first.order_ref == "5829417091234"  # order #1042
    assert first.transaction_ref == "7301000001"
    assert first.fee_breakdown == {"shopify_payments_fee": Decimal("2.35")}
    assert first.occurred_at == datetime(2026, 11, 20, 9, 14, 4, tzinfo=UTC)
    refund = settlement.lines[2]
    assert (refund.order_ref, refund.refund_ref, refund.transaction_ref) == (
        "5829417091234",
        "7301000002",
        "7301000002",
    )
    assert refund.net == Decimal("-26.10")
    adjustment = settlement.lines[3]
    assert adjustment.order_ref is None and adjustment.transaction_ref is None
    assert settlement.period_start == datetime(2026, 11, 20, 9, 14, 4, tzinfo=UTC)
    assert settlement.period_end == datetime(2026, 11, 24, 22, 0, tzinfo=UTC)


def test_shopify_accepts_wrapped_body_graphql_casing_and_money_objects(shopify_payout):
    payout, transactions = shopify_payout
    settlement = settlement_from_shopify(payout["payout"], transactions)  # REST body as is
    assert check_balance(settlement).ok
    graphql_like = [
        {**t, "type": t["type"].upper(), "amount": {"amount": t["amount"], "currencyCode": "EUR"}}
        for t in transactions["transactions"]
    ]
    assert check_balance(settlement_from_shopify(payout, graphql_like)).ok


def test_shopify_dispute_fee_becomes_its_own_line():
    payout = {"id": 1, "status": "paid", "date": "2026-12-01", "currency": "EUR", "amount": "-65.00"}
    dispute = {
        "id": 9,
        "type": "dispute",
        "payout_id": 1,
        "currency": "EUR",
        "amount": "-50.00",
        "fee": "15.00",
        "net": "-65.00",
        "source_id": 77,
        "source_type": "dispute",
        "source_order_id": 5829417095555,
        "source_order_transaction_id": None,
        "processed_at": "2026-11-30T12:00:00-05:00",
    }
    settlement = settlement_from_shopify(payout, [dispute])
    assert [(line.kind, line.net) for line in settlement.lines] == [
        ("chargeback", Decimal("-50.00")),
        ("dispute_fee", Decimal("-15.00")),
    ]
    assert all(line.dispute_ref == "77" and line.order_ref == "5829417095555" for line in settlement.lines)
    assert settlement.lines[0].occurred_at == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert check_balance(settlement).ok


def test_shopify_rejects_foreign_transactions_and_bad_nets(shopify_payout):
    payout, transactions = shopify_payout
    stray = dict(transactions["transactions"][0], payout_id=999)
    with pytest.raises(ValueError, match="belongs to payout 999"):
        settlement_from_shopify(payout, [stray])
    broken = dict(transactions["transactions"][0], net="1.00")
    with pytest.raises(ValueError, match="net"):
        settlement_from_shopify(payout, [broken])


@pytest.mark.parametrize(
    ("txn", "kind"),
    [
        ({"type": "charge"}, "sale"),
        ({"type": "REFUND"}, "refund"),
        ({"type": "dispute", "amount": "-10.00"}, "chargeback"),
        ({"type": "dispute", "amount": "10.00"}, "chargeback_reversal"),
        ({"type": "reserve"}, "reserve"),
        ({"type": "adjustment"}, "adjustment"),
        ({"type": "payout_failure"}, "payout_failure"),
        ({"type": "refund_failure"}, "refund_failure"),
        ({"type": "shipping_label"}, "shipping"),
        ({"type": "something_new"}, "other"),
        ({"type": "payout", "source_id": 1}, None),
    ],
)
def test_shopify_classify(txn, kind):
    assert classify(txn, payout_id="1") == kind


# -- Amazon V2 settlement report ------------------------------------------------------

AMAZON_TEXT = (FIXTURES / "amazon" / "settlement_v2.tsv").read_text()


def test_amazon_fixture_settlement_adds_up():
    settlement = parse_settlement_v2(AMAZON_TEXT)
    assert settlement.source == "amazon"
    assert settlement.external_id == "11223344556"
    assert settlement.currency == "USD"
    assert settlement.expected_amount == Decimal("25.73")
    assert settlement.payout_date == date(2026, 11, 24)
    assert settlement.period_start == datetime(2026, 11, 8, tzinfo=UTC)
    assert settlement.period_end == datetime(2026, 11, 22, tzinfo=UTC)
    assert settlement.account_ref == "Amazon.com"
    result = check_balance(settlement)
    assert result.ok, str(result)
    assert_decimal_and_utc(settlement)
    assert totals_by_kind(settlement) == {
        "sale": Decimal("132.01"),
        "commission": Decimal("-14.22"),
        "fee": Decimal("-53.29"),
        "withheld_tax": Decimal("-6.48"),
        "shipping": Decimal("-0.75"),
        "refund": Decimal("-31.54"),
    }

    lines = settlement.lines
    tshirt_sale = next(line for line in lines if line.kind == "sale" and line.sku == "TSHIRT-BLK-M")
    assert tshirt_sale.order_ref == "114-1234567-1234567"
    assert tshirt_sale.gross == Decimal("63.08")
    assert tshirt_sale.components == {"Principal": Decimal("58.00"), "Tax": Decimal("5.08")}
    assert tshirt_sale.quantity == 2
    assert tshirt_sale.occurred_at == datetime(2026, 11, 10, 14, 22, 5, tzinfo=UTC)
    mug_sale = next(line for line in lines if line.kind == "sale" and line.sku == "MUG-CLASSIC")
    assert mug_sale.components == {"Principal": Decimal("15.00"), "Shipping": Decimal("4.99")}

    refund = next(line for line in lines if line.kind == "refund")
    assert (refund.order_ref, refund.refund_ref, refund.gross) == (
        "114-1234567-1234567",
        "amzn1.adj.7711",
        Decimal("-31.54"),
    )
    refund_commission = next(
        line for line in lines if line.kind == "commission" and line.external_id.startswith("Refund")
    )
    assert refund_commission.components == {
        "Commission": Decimal("4.35"),
        "RefundCommission": Decimal("-0.87"),
    }
    assert refund_commission.net == Decimal("3.48")
    subscription = next(line for line in lines if line.order_ref is None)
    assert (subscription.kind, subscription.net) == ("fee", Decimal("-39.99"))
    assert len({line.external_id for line in lines}) == len(lines) == 15
    # every order-level line can be found by its Amazon order id
    assert {line.order_ref for line in lines if line.kind != "fee" or line.sku} == {
        "114-1234567-1234567",
        "114-7654321-7654321",
        "114-5550001-5550001",
    }


def test_amazon_tolerates_bom_crlf_eu_dates_and_decimal_commas():
    text = AMAZON_TEXT
    for old, new in (
        ("2026-11-08 00:00:00 UTC", "08.11.2026 00:00:00 UTC"),
        ("2026-11-10 14:22:05 UTC", "10.11.2026 14:22:05 UTC"),
        ("2026-11-10\t", "10.11.2026\t"),
    ):
        text = text.replace(old, new)
    header, *rows = text.splitlines()
    # an Amazon.de report: Amazon writes its amounts with the marketplace's decimal comma
    rows = [re.sub(r"\t(-?\d+)\.(\d+)(?=\t|$)", r"\t\1,\2", row.replace("Amazon.com", "Amazon.de")) for row in rows]
    assert "\t58,00\t" in rows[1] and "\t25,73\t" in rows[0]
    converted = "\ufeff" + "\r\n".join([header, *rows, "", ""])  # BOM, CRLF, trailing blank lines
    settlement = parse_settlement_v2(converted.encode("utf-8"))
    assert check_balance(settlement).ok
    assert settlement.expected_amount == Decimal("25.73")
    assert settlement.period_start == datetime(2026, 11, 8, tzinfo=UTC)
    tshirt = next(line for line in settlement.lines if line.kind == "sale" and line.sku == "TSHIRT-BLK-M")
    assert tshirt.occurred_at == datetime(2026, 11, 10, 14, 22, 5, tzinfo=UTC)
    assert tshirt.components["Principal"] == Decimal("58.00")


def _amazon_one_sale(marketplace, amount, total):
    header = AMAZON_TEXT.splitlines()[0]
    columns = header.split("\t")
    summary = dict.fromkeys(columns, "") | {
        "settlement-id": "77", "settlement-start-date": "2026-11-01 00:00:00 UTC", "deposit-date":
        "2026-11-16 00:00:00 UTC", "settlement-end-date": "2026-11-15 00:00:00 UTC", "total-amount": total,
        "currency": "EUR"}
    sale = dict.fromkeys(columns, "") | {
        "settlement-id": "77", "transaction-type": "Order", "order-id": "302-1111111-1111111",
        "marketplace-name": marketplace, "amount-type": "ItemPrice", "amount-description": "Principal",
        "amount": amount, "posted-date": "2026-11-10"}
    return "\n".join([header, *("\t".join(row[c] for c in columns) for row in (summary, sale))])


def test_amazon_amounts_are_read_in_the_marketplace_number_format():
    # "1.234,00" and "1.234" on Amazon.de are one thousand two hundred and thirty-four euros
    for amount in ("1.234,00", "1.234"):
        settlement = parse_settlement_v2(_amazon_one_sale("Amazon.de", amount, amount))
        assert settlement.expected_amount == Decimal("1234") and settlement.lines[0].gross == Decimal("1234")
        assert check_balance(settlement).ok
    # the same text on Amazon.co.uk (a decimal point) is 1.234
    settlement = parse_settlement_v2(_amazon_one_sale("Amazon.co.uk", "1.234", "1.234"))
    assert settlement.expected_amount == Decimal("1.234")
    # a decimal comma in a decimal-point report is refused, naming the format
    with pytest.raises(ValueError, match=r"amount of settlement 77: not an amount in decimal point"):
        parse_settlement_v2(_amazon_one_sale("Amazon.com", "58,00", "58.00"))
    # unknown marketplace: an amount that reads differently in the two formats is refused, never guessed
    with pytest.raises(ValueError, match=r"ambiguous amount '1\.234'"):
        parse_settlement_v2(_amazon_one_sale("Non-Amazon", "1.234", "1.234"))
    settlement = parse_settlement_v2(_amazon_one_sale("Non-Amazon", "58,00", "58,00"))  # reads one way only
    assert settlement.expected_amount == Decimal("58.00")
    # the caller may declare the format itself
    settlement = parse_settlement_v2(_amazon_one_sale("Non-Amazon", "1.234", "1.234"), number_format=COMMA)
    assert settlement.expected_amount == Decimal("1234")


def test_amazon_short_rows_and_missing_summary():
    header = AMAZON_TEXT.splitlines()[0]
    short = "\n".join(
        [
            header,
            "99\t2026-01-01 00:00:00 UTC\t2026-01-15 00:00:00 UTC\t2026-01-17 00:00:00 UTC\t-10.00\tEUR",
            "99\t\t\t\t\t\tServiceFee\t\t\t\t\t\tother-transaction\tSubscription Fee\t-10.00",  # cut short
        ]
    )
    settlement = parse_settlement_v2(short)
    assert settlement.currency == "EUR" and check_balance(settlement).ok
    assert settlement.lines[0].kind == "fee" and settlement.lines[0].occurred_at is None
    with pytest.raises(ValueError, match="summary"):
        parse_settlement_v2("\n".join([header, AMAZON_TEXT.splitlines()[2]]))
    with pytest.raises(ValueError, match="missing columns"):
        parse_settlement_v2("a\tb\n1\t2")


def test_amazon_thousands_of_rows():
    header, summary = AMAZON_TEXT.splitlines()[:2]
    components = (
        ("ItemPrice", "Principal", "19.99"),
        ("ItemPrice", "Tax", "1.60"),
        ("ItemFees", "Commission", "-3.00"),
        ("ItemFees", "FBAPerUnitFulfillmentFee", "-3.22"),
    )
    rows = []
    total = Decimal(0)
    for n in range(3000):
        order = f"114-{n:07d}-0000001"
        for amount_type, description, amount in components:
            cells = ["11223344556", "", "", "", "", "", "Order", order, "", "", f"S{n}", "Amazon.com"]
            cells += [amount_type, description, amount, "AFN", "2026-11-10", "2026-11-10 14:22:05 UTC"]
            cells += [str(n), "", "", "SKU-1", "1", ""]
            rows.append("\t".join(cells))
            total += Decimal(amount)
    summary = summary.replace("\t25.73\t", f"\t{total}\t")
    settlement = parse_settlement_v2("\n".join([header, summary, *rows]))
    assert len(settlement.lines) == 9000  # sale, commission, fee per order
    assert check_balance(settlement).ok
    assert settlement.expected_amount == Decimal("46110.00")


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        (("Order", "ItemPrice", "Principal"), "sale"),
        (("Order", "ItemPrice", "ShippingTax"), "sale"),
        (("Order", "ItemPrice", "GiftWrap"), "sale"),
        (("Refund", "ItemPrice", "Principal"), "refund"),
        (("Chargeback Refund", "ItemPrice", "Principal"), "chargeback"),
        (("A-to-z Guarantee Claim", "ItemPrice", "Principal"), "chargeback"),
        (("Order", "ItemFees", "Commission"), "commission"),
        (("Refund", "ItemFees", "RefundCommission"), "commission"),
        (("Order", "ItemFees", "FBAPerUnitFulfillmentFee"), "fee"),
        (("Order", "ItemFees", "ShippingChargeback"), "shipping"),
        (("Order", "Promotion", "Shipping"), "promotion"),
        (("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping"), "withheld_tax"),
        (("other-transaction", "other-transaction", "Storage Fee"), "fee"),
        (("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"), "fee"),
        (("other-transaction", "other-transaction", "Previous Reserve Amount Balance"), "reserve"),
        (("other-transaction", "other-transaction", "Current Reserve Amount"), "reserve"),
        (("Adjustment", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE"), "adjustment"),
        (("other-transaction", "other-transaction", "Shipping label purchase"), "shipping"),
        (("Something", "Unknown", "Thing"), "other"),
    ],
)
def test_amazon_classify_row(row, kind):
    assert classify_row(*row) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-02 07:12:44 UTC", datetime(2026, 10, 2, 7, 12, 44, tzinfo=UTC)),
        ("02.10.2026 07:12:44 UTC", datetime(2026, 10, 2, 7, 12, 44, tzinfo=UTC)),
        ("2026-10-02T09:12:44+02:00", datetime(2026, 10, 2, 7, 12, 44, tzinfo=UTC)),
        ("2026-10-02T07:12:44Z", datetime(2026, 10, 2, 7, 12, 44, tzinfo=UTC)),
        ("2026-10-02T09:12:44+0200", datetime(2026, 10, 2, 7, 12, 44, tzinfo=UTC)),
        ("2026-10-02", datetime(2026, 10, 2, tzinfo=UTC)),
        ("", None),
    ],
)
def test_amazon_dates(text, expected):
    assert parse_amazon_datetime(text) == expected
