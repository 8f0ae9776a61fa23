"""Shopify Payments payouts through the GraphQL client: conversion to the REST shape the
reconciliation mapper reads, and pagination / filters / cost throttle against the simulator."""

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_base.pipeline.errors import BusinessError, TransientError
from omni_connector_shopify.lib.client import (
    ShopifyApiError,
    ShopifyClient,
    ShopifyTransientError,
    rest_balance_transaction_from_graphql,
    rest_payout_from_graphql,
)
from omni_connector_shopify.lib.payouts import settlement_from_shopify
from tests.simulators.shopify_sim import FakeClock, ShopifySimulator

TOKEN = "shpat_payouts_test_token"
PAYOUT_JSON = FIXTURES / "shopify" / "payout.json"
TRANSACTIONS_JSON = FIXTURES / "shopify" / "payout_balance_transactions.json"
PAYOUT_ID = "623721858"


def fixture(path):
    return json.loads(path.read_text(), parse_float=Decimal)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim(clock):
    simulator = ShopifySimulator(access_token=TOKEN, clock=clock)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def client(sim, clock):
    shopify = ShopifyClient(sim.shop_domain, access_token=TOKEN, base_url=sim.base_url, sleep=clock.sleep, clock=clock)
    yield shopify
    shopify.close()


def seed_copies(sim, count, first_id=700000001, status="paid"):
    """``count`` copies of the fixture payout, issued on consecutive days from 2026-12-01."""
    payout, transactions = fixture(PAYOUT_JSON), fixture(TRANSACTIONS_JSON)
    for n in range(count):
        day = f"2026-12-{n + 1:02d}"
        sim.add_payout_from_rest(payout, transactions, payout_id=first_id + n, status=status, date=day)


def payout_pages(sim):
    return [r for r in sim.requests if (r.get("search") or "").startswith("issued_at:")]


def transaction_pages(sim, payout_id=None):
    prefix = f"payments_transfer_id:{payout_id}" if payout_id else "payments_transfer_id:"
    return [r for r in sim.requests if (r.get("search") or "").startswith(prefix)]


# -------------------------------------------------------------------- conversion
PAYOUT_NODE = {
    "id": "gid://shopify/ShopifyPaymentsPayout/623721858",
    "legacyResourceId": "623721858",
    "issuedAt": "2026-11-25T05:00:00Z",
    "status": "PAID",
    "transactionType": "DEPOSIT",
    "net": {"amount": "156.87", "currencyCode": "EUR"},
    "summary": {
        "chargesGross": {"amount": "190.6", "currencyCode": "EUR"},
        "chargesFee": {"amount": "6.13", "currencyCode": "EUR"},
        "refundsFeeGross": {"amount": "-26.10", "currencyCode": "EUR"},
    },
}


def test_payout_node_to_rest_shape():
    payout = rest_payout_from_graphql(PAYOUT_NODE)
    assert payout["id"] == "623721858"
    assert payout["admin_graphql_api_id"] == PAYOUT_NODE["id"]
    assert (payout["status"], payout["transaction_type"]) == ("paid", "deposit")
    assert (payout["date"], payout["issued_at"]) == ("2026-11-25", "2026-11-25T05:00:00Z")
    assert (payout["currency"], payout["amount"]) == ("EUR", "156.87")
    assert payout["summary"]["charges_gross_amount"] == "190.6"  # exact, as Shopify wrote it
    assert payout["summary"]["refunds_gross_amount"] == "-26.10"
    assert payout["summary"]["reserved_funds_fee_amount"] == "0.00"  # absent from the selection
    assert all(isinstance(value, str) for value in payout["summary"].values())
    json.dumps(payout)  # a plain JSON document (the settlement keeps it as its raw payload)


def test_withdrawal_payout_is_negative_whatever_the_sign_shopify_sends():
    for amount in ("12.50", "-12.50"):
        node = dict(PAYOUT_NODE, transactionType="WITHDRAWAL", net={"amount": amount, "currencyCode": "EUR"})
        assert rest_payout_from_graphql(node)["amount"] == "-12.50"


def test_balance_transaction_node_to_rest_shape():
    charge = rest_balance_transaction_from_graphql(
        {
            "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/746296001",
            "type": "CHARGE",
            "test": False,
            "transactionDate": "2026-11-20T09:14:04Z",
            "adjustmentReason": None,
            "sourceId": "7301000001",
            "sourceType": "CHARGE",
            "sourceOrderTransactionId": "7301000001",
            "amount": {"amount": "70.6", "currencyCode": "EUR"},
            "fee": {"amount": "2.35", "currencyCode": "EUR"},
            "net": {"amount": "68.25", "currencyCode": "EUR"},
            "associatedOrder": {"id": "gid://shopify/Order/5829417091234"},
            "associatedPayout": {"id": "gid://shopify/ShopifyPaymentsPayout/623721858", "status": "PAID"},
        }
    )
    assert charge == {
        "id": "746296001",
        "admin_graphql_api_id": "gid://shopify/ShopifyPaymentsBalanceTransaction/746296001",
        "type": "charge",
        "test": False,
        "payout_id": "623721858",
        "payout_status": "paid",
        "currency": "EUR",
        "amount": "70.6",
        "fee": "2.35",
        "net": "68.25",
        "source_id": "7301000001",
        "source_type": "charge",
        "source_order_id": "5829417091234",
        "source_order_transaction_id": "7301000001",
        "processed_at": "2026-11-20T09:14:04Z",
        "adjustment_reason": None,
    }
    transfer = rest_balance_transaction_from_graphql(
        {
            "id": "gid://shopify/ShopifyPaymentsBalanceTransaction/44598600",
            "type": "TRANSFER",
            "sourceType": "TRANSFER",
            "sourceId": "623721858",
            "amount": {"amount": "-156.87", "currencyCode": "EUR"},
            "fee": {"amount": "0.0", "currencyCode": "EUR"},
            "net": {"amount": "-156.87", "currencyCode": "EUR"},
            "associatedOrder": None,
            "associatedPayout": {"id": "gid://shopify/ShopifyPaymentsPayout/623721858", "status": "PAID"},
        }
    )
    # the payout's own transfer is REST's "payout": the mapper leaves it out of the lines
    assert (transfer["type"], transfer["source_type"], transfer["source_id"]) == ("payout", "payout", "623721858")
    assert (transfer["source_order_id"], transfer["source_order_transaction_id"]) == (None, None)
    assert rest_balance_transaction_from_graphql({"id": "gid://x/1", "type": "TRANSFER_FAILURE"})["type"] == (
        "payout_failure"
    )
    assert rest_balance_transaction_from_graphql({"id": "gid://x/2", "type": "DISPUTE_WITHDRAWAL"})["type"] == (
        "dispute_withdrawal"
    )


def test_decimal_scalars_stay_exact():
    node = {"id": "gid://x/3", "type": "CHARGE", "amount": {"amount": Decimal("0.1")}, "fee": {"amount": "0.20"},
            "net": {"amount": Decimal("-0.1")}}
    txn = rest_balance_transaction_from_graphql(node)
    assert (txn["amount"], txn["fee"], txn["net"]) == ("0.1", "0.20", "-0.1")


# ------------------------------------------------------ the fixture, end to end
def test_fixture_payout_through_graphql_maps_like_the_rest_fixture(sim, client):
    sim.load_payout_fixture(PAYOUT_JSON, TRANSACTIONS_JSON)
    (payout,) = client.iter_payouts("2026-11-01")
    transactions = list(client.iter_balance_transactions(payout["id"]))
    assert len(transactions) == 5
    assert all(t["payout_id"] == PAYOUT_ID and t["payout_status"] == "paid" for t in transactions)
    assert all(isinstance(t[key], str) for t in transactions for key in ("amount", "fee", "net"))

    fetched = settlement_from_shopify(payout, transactions)
    direct = settlement_from_shopify(fixture(PAYOUT_JSON), fixture(TRANSACTIONS_JSON))
    assert (fetched.external_id, fetched.currency, fetched.status) == (PAYOUT_ID, "EUR", "paid")
    assert fetched.expected_amount == Decimal("156.87")
    assert str(fetched.payout_date) == "2026-11-25"
    assert sum(line.net for line in fetched.lines) == Decimal("156.87")
    assert len(fetched.lines) == 4  # the payout's own transfer is not a line

    def key(line):
        return (line.external_id, line.kind, line.gross, line.fee, line.net, line.transaction_ref, line.order_ref,
                line.refund_ref, line.occurred_at)

    assert sorted(map(key, fetched.lines)) == sorted(map(key, direct.lines))


def test_the_gid_of_a_payout_works_as_well_as_its_id(sim, client):
    sim.load_payout_fixture(PAYOUT_JSON, TRANSACTIONS_JSON)
    by_gid = list(client.iter_balance_transactions(f"gid://shopify/ShopifyPaymentsPayout/{PAYOUT_ID}"))
    assert [t["id"] for t in by_gid] == [t["id"] for t in client.iter_balance_transactions(int(PAYOUT_ID))]
    with pytest.raises(ValueError):
        list(client.iter_balance_transactions("po_not_a_shopify_id"))


# ----------------------------------------------------------- pagination, filters
def test_payouts_paginate_oldest_first_and_filter_by_issue_day(sim, client):
    seed_copies(sim, 7)
    payouts = list(client.iter_payouts("2026-12-03", page_size=2))
    assert [p["date"] for p in payouts] == [f"2026-12-{day:02d}" for day in range(3, 8)]
    assert [p["id"] for p in payouts] == [str(700000001 + n) for n in range(2, 7)]
    assert len(payout_pages(sim)) == 3  # 5 payouts, 2 per page
    assert {r["search"] for r in payout_pages(sim)} == {"issued_at:>=2026-12-03"}
    assert sim.throttled_requests == 0


def test_payouts_since_accepts_dates_and_datetimes(sim, client):
    from datetime import date, datetime, timezone  # noqa: PLC0415

    seed_copies(sim, 3)
    assert len(list(client.iter_payouts(date(2026, 12, 2)))) == 2
    assert len(list(client.iter_payouts(datetime(2026, 12, 3, 23, 59, tzinfo=timezone.utc)))) == 1
    assert payout_pages(sim)[-1]["search"] == "issued_at:>=2026-12-03"


def test_status_filter_is_sent_to_shopify(sim, client):
    seed_copies(sim, 2)
    seed_copies(sim, 2, first_id=800000001, status="scheduled")
    assert {p["status"] for p in client.iter_payouts("2026-01-01")} == {"paid", "scheduled"}
    paid = list(client.iter_payouts("2026-01-01", status="paid"))
    assert {p["id"] for p in paid} == {"700000001", "700000002"}
    assert payout_pages(sim)[-1]["search"] == "issued_at:>=2026-01-01 status:paid"


def test_balance_transactions_paginate_and_stay_within_their_payout(sim, client):
    seed_copies(sim, 3)
    transactions = list(client.iter_balance_transactions("700000002", page_size=2))
    assert [t["id"] for t in transactions] == [f"700000002{n:03d}" for n in range(1, 6)]
    assert {t["payout_id"] for t in transactions} == {"700000002"}
    assert len(transaction_pages(sim, "700000002")) == 3  # 5 transactions, 2 per page
    settlement = settlement_from_shopify(next(p for p in client.iter_payouts("2026-01-01") if p["id"] == "700000002"),
                                         transactions)
    assert settlement.expected_amount == sum(line.net for line in settlement.lines) == Decimal("156.87")
    assert sim.throttled_requests == 0


def test_a_filter_shopify_ignored_would_be_caught_by_the_mapper(sim, client):
    """Shopify ignores a search field it does not know and answers with every row: the mapper then
    refuses transactions of another payout instead of booking them."""
    seed_copies(sim, 2)
    account = client.graphql(
        "query OmniWrongFilter($first: Int!, $query: String!) { shopifyPaymentsAccount { id "
        "balanceTransactions(first: $first, query: $query) { pageInfo { hasNextPage endCursor } nodes { id type "
        "sourceId sourceType amount { amount currencyCode } fee { amount currencyCode } net { amount currencyCode } "
        "associatedPayout { id status } } } } }",
        {"first": 50, "query": "payout_id:700000001"},
    )["shopifyPaymentsAccount"]
    rows = [rest_balance_transaction_from_graphql(n) for n in account["balanceTransactions"]["nodes"]]
    assert {t["payout_id"] for t in rows} == {"700000001", "700000002"}
    payout = next(p for p in client.iter_payouts("2026-01-01") if p["id"] == "700000001")
    with pytest.raises(ValueError, match="belongs to payout 700000002"):
        settlement_from_shopify(payout, rows)


# ------------------------------------------------------------ throttle & errors
def test_cost_budget_is_respected_over_many_pages(sim, client, clock):
    seed_copies(sim, 30)
    sim.drain_bucket(700)  # another worker used most of the bucket
    payouts = list(client.iter_payouts("2026-01-01", page_size=10))
    for payout in payouts:
        list(client.iter_balance_transactions(payout["id"], page_size=2))
    assert len(payouts) == 30
    requests = [r for r in sim.requests if r.get("operation") == "shopifyPaymentsAccount"]
    assert len(requests) == 3 + 30 * 3
    assert sim.throttled_requests == 0  # no page was ever sent into a bucket that could not pay for it
    assert clock.sleeps  # the client waited for the bucket to refill instead of being refused again


def test_throttled_page_is_waited_out_and_retried(sim, client, clock):
    seed_copies(sim, 3)
    client.shop_info()  # the client believes the bucket is full...
    sim.drain_bucket(0)  # ...but another worker emptied it
    assert len(list(client.iter_payouts("2026-01-01"))) == 3
    assert sim.throttled_requests == 1
    assert sum(clock.sleeps) > 0


def test_shop_without_shopify_payments_is_an_api_error(sim, client):
    sim.payments_account_active = False
    with pytest.raises(ShopifyApiError, match="Shopify Payments is not active") as exc_info:
        list(client.iter_payouts("2026-01-01"))
    assert isinstance(exc_info.value, BusinessError)
    with pytest.raises(ShopifyApiError):
        list(client.iter_balance_transactions(PAYOUT_ID))


def test_server_errors_on_a_page_are_transient(sim, client):
    seed_copies(sim, 3)
    sim.inject_fault("503")
    with pytest.raises(ShopifyTransientError) as exc_info:
        list(client.iter_payouts("2026-01-01"))
    assert isinstance(exc_info.value, TransientError)
    assert len(list(client.iter_payouts("2026-01-01"))) == 3
    sim.inject_fault("502", search="payments_transfer_id:")  # the list passes, the transactions do not
    assert len(list(client.iter_payouts("2026-01-01"))) == 3
    with pytest.raises(ShopifyTransientError):
        list(client.iter_balance_transactions("700000001"))
    assert len(list(client.iter_balance_transactions("700000001"))) == 5
