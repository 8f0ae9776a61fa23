"""Amazon refunds from the settlement report's Refund transactions -> canonical refunds (one per
adjustment), by the marketplace's tax settings."""

from decimal import Decimal as D

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import ValidationError
from omni_connector_marketplace.lib.amazon_mapper import map_settlement_refund, settlement_refunds
from omni_reconciliation.lib.amazon_settlement import parse_settlement_v2

REPORT = (FIXTURES / "amazon" / "settlement_v2.tsv").read_text()
ITEM = "61482910330001"


def refunds_of(text=REPORT):
    return settlement_refunds(parse_settlement_v2(text).lines)


def test_refund_rows_are_one_payload_per_adjustment():
    (refund,) = refunds_of()
    assert refund["adjustmentId"] == "amzn1.adj.7711" and refund["orderId"] == "114-1234567-1234567"
    assert refund["currency"] == "USD" and refund["postedAt"] == "2026-11-18T11:11:11Z"
    (item,) = refund["items"]
    assert item["orderItemId"] == ITEM and item["sku"] == "TSHIRT-BLK-M"
    assert {k: D(v) for k, v in item["price"].items()} == {"Principal": D("-29.00"), "Tax": D("-2.54")}
    assert D(item["withheldTax"]) == D("2.54")
    # fees given back and charged (Commission, RefundCommission) are the settlement's business, not the buyer's
    assert "Commission" not in item["price"]


def test_tax_excluded_marketplace_refunds_price_and_tax():
    refund = map_settlement_refund(refunds_of()[0])
    assert refund.external_id == "amzn1.adj.7711" and refund.order_external_id == "114-1234567-1234567"
    (line,) = refund.lines
    assert (line.order_line_external_id, line.amount, line.tax_amount) == (ITEM, D("29.00"), D("2.54"))
    assert line.quantity == 0 and not line.restock, "half of the item: money only, nothing comes back here"
    assert refund.amount == D("31.54") and refund.adjustment_amount == 0
    (payment,) = refund.transactions
    assert (payment.gateway, payment.transaction_id, payment.kind, payment.amount) == (
        "amazon", "amzn1.adj.7711", "refund", D("31.54"))


def test_whole_item_refund_credits_its_quantity():
    refund = map_settlement_refund(refunds_of()[0], order_lines={ITEM: (1, "31.54")})
    assert refund.lines[0].quantity == 1
    partial = map_settlement_refund(refunds_of()[0], order_lines={ITEM: (2, "63.08")})
    assert partial.lines[0].quantity == 0


def test_excluded_collected_tax_and_tax_included_prices_leave_the_tax_out():
    excluded = map_settlement_refund(refunds_of()[0], exclude_collected_tax=True)
    assert excluded.amount == D("29.00") and excluded.lines[0].tax_amount == 0
    included = map_settlement_refund(refunds_of()[0], prices_include_tax=True)
    assert included.amount == D("29.00"), "the price already holds the VAT: not added again"


def test_shipping_promotion_and_other_components():
    text = REPORT.replace("\tPrincipal\t-29.00\t", "\tPrincipal\t-40.00\t")
    extra = [
        "11223344556\t\t\t\t\t\tRefund\t114-1234567-1234567\t\tamzn1.adj.7711\t\tAmazon.com\tItemPrice\tShipping\t-4.99"
        f"\tAFN\t2026-11-18\t2026-11-18 11:11:11 UTC\t{ITEM}\t\t\tTSHIRT-BLK-M\t\t",
        "11223344556\t\t\t\t\t\tRefund\t114-1234567-1234567\t\tamzn1.adj.7711\t\tAmazon.com\tPromotion\tPrincipal\t5.00"
        f"\tAFN\t2026-11-18\t2026-11-18 11:11:11 UTC\t{ITEM}\t\t\tTSHIRT-BLK-M\t\tPROMO-1",
        "11223344556\t\t\t\t\t\tRefund\t114-1234567-1234567\t\tamzn1.adj.7711\t\tAmazon.com\tItemPrice\tRestockingFee"
        f"\t1.50\tAFN\t2026-11-18\t2026-11-18 11:11:11 UTC\t{ITEM}\t\t\tTSHIRT-BLK-M\t\t",
    ]
    refund = map_settlement_refund(refunds_of(text + "\n".join(extra) + "\n")[0])
    assert refund.lines[0].amount == D("35.00"), "40.00 less the 5.00 promotion"
    assert refund.shipping_amount == D("4.99")
    assert refund.adjustment_amount == D("-1.50"), "the restocking fee the buyer was charged"
    assert refund.amount == D("35.00") + D("2.54") + D("4.99") - D("1.50")


def test_unreadable_payloads_name_the_field():
    with pytest.raises(ValidationError) as caught:
        map_settlement_refund({"orderId": "1", "items": []})
    assert "adjustmentId" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        map_settlement_refund({"adjustmentId": "a", "orderId": "1", "currency": "USD",
                               "items": [{"orderItemId": "x", "price": {"Principal": "12,x"}}]})
    assert "items[0].price" in str(caught.value) and "12,x" not in str(caught.value)
