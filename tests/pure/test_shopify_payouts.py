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
)
from omni_connector_shopify.lib.errors import ShopifyThrottled
from omni_connector_shopify.lib.graphql import legacy_id
from omni_connector_shopify.lib.mapper_graphql import graphql_balance_lines, settlement_from_graphql
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


def lid(node_or_gid):
    """The legacy id (text) of a GraphQL node or gid: what the client's nodes are known by."""
    value = node_or_gid.get("legacyResourceId") or node_or_gid["id"] if isinstance(node_or_gid, dict) else node_or_gid
    return str(legacy_id(value))


def payout_of(txn):
    return lid(txn["associatedPayout"]["id"])


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


def test_payout_node_to_canonical():
    payout = settlement_from_graphql(PAYOUT_NODE, [])
    assert payout.external_id == "623721858"
    assert payout.status == "paid"
    assert str(payout.payout_date) == "2026-11-25"
    assert (payout.currency, payout.expected_amount) == ("EUR", Decimal("156.87"))
    assert payout.raw["summary"]["chargesGross"]["amount"] == "190.6"  # exact, as Shopify wrote it
    json.dumps(payout.raw)  # a plain JSON document (the settlement keeps it as its raw payload)


def test_withdrawal_payout_is_negative_whatever_the_sign_shopify_sends():
    for amount in ("12.50", "-12.50"):
        node = dict(PAYOUT_NODE, transactionType="WITHDRAWAL", net={"amount": amount, "currencyCode": "EUR"})
        assert settlement_from_graphql(node, []).expected_amount == Decimal("-12.50")


CHARGE_NODE = {
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


def test_balance_transaction_node_to_canonical():
    (charge,) = graphql_balance_lines(CHARGE_NODE, payout_id=PAYOUT_ID)
    assert (charge.external_id, charge.kind, charge.currency) == ("746296001", "sale", "EUR")
    assert (charge.gross, charge.fee, charge.net) == (Decimal("70.6"), Decimal("2.35"), Decimal("68.25"))
    assert (charge.transaction_ref, charge.order_ref) == ("7301000001", "5829417091234")
    assert charge.occurred_at.isoformat().startswith("2026-11-20T09:14:04")
    transfer = {
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
    # the payout's own transfer is REST's "payout": the mapper leaves it out of the lines
    assert graphql_balance_lines(transfer, payout_id=PAYOUT_ID) == []
    failure = {"id": "gid://x/1", "type": "TRANSFER_FAILURE", "amount": {"amount": "5"}}
    assert graphql_balance_lines(failure, default_currency="EUR")[0].kind == "payout_failure"
    dispute = {"id": "gid://x/2", "type": "DISPUTE_WITHDRAWAL", "amount": {"amount": "-5"}}
    assert graphql_balance_lines(dispute, default_currency="EUR")[0].description == "dispute_withdrawal"


def test_decimal_scalars_stay_exact():
    node = {"id": "gid://x/3", "type": "CHARGE", "amount": {"amount": Decimal("0.1")}, "fee": {"amount": "0.20"},
            "net": {"amount": Decimal("-0.1")}}
    (line,) = graphql_balance_lines(node, default_currency="EUR")
    assert (str(line.gross), str(line.fee), str(line.net)) == ("0.1", "0.20", "-0.1")


# ------------------------------------------------------ the fixture, end to end
def test_fixture_payout_through_graphql_maps_like_the_rest_fixture(sim, client):
    sim.load_payout_fixture(PAYOUT_JSON, TRANSACTIONS_JSON)
    (payout,) = client.iter_payouts("2026-11-01")
    transactions = list(client.iter_balance_transactions(lid(payout)))
    assert len(transactions) == 5
    assert all(payout_of(t) == PAYOUT_ID and t["associatedPayout"]["status"] == "PAID" for t in transactions)
    assert all(isinstance(t[key]["amount"], str) for t in transactions for key in ("amount", "fee", "net"))

    fetched = settlement_from_graphql(payout, transactions)
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
    assert [lid(t) for t in by_gid] == [lid(t) for t in client.iter_balance_transactions(int(PAYOUT_ID))]
    with pytest.raises(ValueError):
        list(client.iter_balance_transactions("po_not_a_shopify_id"))


# ----------------------------------------------------------- pagination, filters
def test_payouts_paginate_oldest_first_and_filter_by_issue_day(sim, client):
    seed_copies(sim, 7)
    payouts = list(client.iter_payouts("2026-12-03", page_size=2))
    assert [p["issuedAt"][:10] for p in payouts] == [f"2026-12-{day:02d}" for day in range(3, 8)]
    assert [lid(p) for p in payouts] == [str(700000001 + n) for n in range(2, 7)]
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
    assert {p["status"].lower() for p in client.iter_payouts("2026-01-01")} == {"paid", "scheduled"}
    paid = list(client.iter_payouts("2026-01-01", status="paid"))
    assert {lid(p) for p in paid} == {"700000001", "700000002"}
    assert payout_pages(sim)[-1]["search"] == "issued_at:>=2026-01-01 status:paid"


def test_balance_transactions_paginate_and_stay_within_their_payout(sim, client):
    seed_copies(sim, 3)
    transactions = list(client.iter_balance_transactions("700000002", page_size=2))
    assert [lid(t) for t in transactions] == [f"700000002{n:03d}" for n in range(1, 6)]
    assert {payout_of(t) for t in transactions} == {"700000002"}
    assert len(transaction_pages(sim, "700000002")) == 3  # 5 transactions, 2 per page
    settlement = settlement_from_graphql(next(p for p in client.iter_payouts("2026-01-01") if lid(p) == "700000002"),
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
    rows = account["balanceTransactions"]["nodes"]
    assert {payout_of(t) for t in rows} == {"700000001", "700000002"}
    payout = next(p for p in client.iter_payouts("2026-01-01") if lid(p) == "700000001")
    with pytest.raises(ValueError, match="belongs to payout 700000002"):
        settlement_from_graphql(payout, rows)


# ------------------------------------------------------------ throttle & errors
def test_cost_budget_is_respected_over_many_pages(sim, client, clock):
    seed_copies(sim, 30)
    sim.drain_bucket(700)  # another worker used most of the bucket
    payouts = list(client.iter_payouts("2026-01-01", page_size=10))
    for payout in payouts:
        list(client.iter_balance_transactions(lid(payout), page_size=2))
    assert len(payouts) == 30
    requests = [r for r in sim.requests if r.get("operation") == "shopifyPaymentsAccount"]
    assert len(requests) == 3 + 30 * 3
    assert sim.throttled_requests == 0  # no page was ever sent into a bucket that could not pay for it
    assert clock.sleeps  # the client waited for the bucket to refill instead of being refused again


def test_throttled_page_is_waited_out_and_retried(sim, client, clock):
    seed_copies(sim, 3)
    client.shop_info()  # the client believes the bucket is full...
    sim.drain_bucket(0)  # ...but another worker emptied it
    # pages of 10 (132 points, 1.3 s to restore): a wait the client may sleep (at most 2 s in a worker)
    assert len(list(client.iter_payouts("2026-01-01", page_size=10))) == 3
    assert sim.throttled_requests == 1
    assert 0 < sum(clock.sleeps) <= client.max_wait


def test_a_payout_fetch_may_wait_longer_than_a_queued_event(sim, client, clock):
    # The finance cron reads whole payouts (pages of about 650 points): a wait of several seconds
    # for the bucket is waited out when the caller allows it (models.shopify_payouts passes
    # BULK_IMPORT_MAX_WAIT), and raises with retry_after under the events' 2 s bound.
    seed_copies(sim, 3)
    client.shop_info()
    sim.drain_bucket(0)
    with pytest.raises(ShopifyThrottled) as exc_info:
        list(client.iter_payouts("2026-01-01"))
    assert exc_info.value.retry_after > client.max_wait
    client.shop_info()
    sim.drain_bucket(0)
    assert len(list(client.iter_payouts("2026-01-01", max_wait=60))) == 3
    assert sum(clock.sleeps) > client.max_wait
    sim.drain_bucket(0)
    client.shop_info()
    assert len(list(client.iter_balance_transactions("700000001", max_wait=60))) == 5


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
