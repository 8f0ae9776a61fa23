"""eBay Finances payouts and transactions -> canonical settlements."""

import json
from decimal import Decimal

from conftest import FIXTURES

from omni_connector_base.canonical.settlement import check_balance, totals_by_kind
from omni_connector_marketplace.lib import ebay_payouts as p
from omni_connector_marketplace.lib.ebay_mapper import COLLECTED_KEEP

PAYOUT = json.loads((FIXTURES / "ebay" / "payout.json").read_text())["payouts"][0]
TRANSACTIONS = json.loads((FIXTURES / "ebay" / "transactions.json").read_text())["transactions"]


def test_fixture_payout_adds_up():
    settlement = p.settlement_from_ebay(PAYOUT, TRANSACTIONS)
    assert check_balance(settlement).ok
    assert settlement.external_id == "6612458093" and settlement.expected_amount == Decimal("86.10")
    assert settlement.status == "paid" and str(settlement.payout_date) == "2026-11-17"
    assert [line.kind for line in settlement.lines] == ["refund", "sale", "shipping", "fee", "sale"]


def test_sale_gross_fee_and_final_value_fee_breakdown():
    sale = p.transaction_lines(TRANSACTIONS[1])[0]
    assert (sale.gross, sale.fee, sale.net) == (Decimal("69.98"), Decimal("10.26"), Decimal("59.72"))
    assert sale.fee_breakdown == {"final_value_fee_fixed_per_order": Decimal("0.40"),
                                  "final_value_fee": Decimal("9.86")}
    assert sale.order_ref == sale.transaction_ref == "09-13021-48877"


def test_collected_tax_kept_comes_back_out_as_withheld_tax():
    settlement = p.settlement_from_ebay(PAYOUT, TRANSACTIONS, collected_tax_mode=COLLECTED_KEEP)
    assert check_balance(settlement).ok
    assert totals_by_kind(settlement)["withheld_tax"] == Decimal("-2.52")
    assert settlement.lines[1].gross == Decimal("72.50")


def test_refund_gives_the_fee_back():
    refund = p.transaction_lines(TRANSACTIONS[0])[0]
    assert (refund.gross, refund.fee, refund.net) == (Decimal("-19.99"), Decimal("-2.72"), Decimal("-17.27"))
    assert refund.refund_ref == "5096254401"


def test_every_transaction_type_has_a_kind():
    base = {"transactionId": "1", "amount": {"value": "5.00", "currency": "USD"}, "bookingEntry": "DEBIT"}
    kinds = {t: p.transaction_lines(dict(base, transactionType=t))[0].kind for t in p.KIND_BY_TYPE}
    assert kinds["DISPUTE"] == "chargeback" and kinds["SHIPPING_LABEL"] == "shipping"
    assert kinds["NON_SALE_CHARGE"] == "fee" and kinds["TRANSFER"] == "adjustment" and kinds["CREDIT"] == "adjustment"
    won = p.transaction_lines(dict(base, transactionType="DISPUTE", bookingEntry="CREDIT", references=[
        {"referenceType": "PAYMENT_DISPUTE_ID", "referenceId": "5555"}]))[0]
    assert won.kind == "chargeback_reversal" and won.dispute_ref == "5555" and won.gross == Decimal("5.00")
    ad = p.transaction_lines(TRANSACTIONS[3])[0]
    assert ad.kind == "fee" and "AD_FEE" in ad.description and ad.gross == Decimal("-2.25")
    assert p.transaction_lines(dict(base, transactionType="WITHDRAWAL")) == []
