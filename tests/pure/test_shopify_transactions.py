"""``ShopifyClient.get_order_transactions``: what a webhook body lacks, in one cheap request."""

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_shopify.lib.client import ShopifyClient
from omni_connector_shopify.lib.mapper import map_order
from omni_connector_shopify.lib.mapper_graphql import map_graphql_transactions
from tests.simulators.shopify_sim import FakeClock, ShopifySimulator

pytestmark = pytest.mark.slow

TOKEN = "shpat_test_token_transactions"
ORDER = json.loads((FIXTURES / "shopify" / "orders_create.json").read_text(), parse_float=Decimal)
SALE = {
    "id": 7301000001,
    "kind": "sale",
    "status": "success",
    "gateway": "shopify_payments",
    "amount": "70.60",
    "currency": "EUR",
    "authorization": "ch_3SShopifyPayCharge01",
    "processed_at": "2026-11-20T10:14:02+01:00",
}


@pytest.fixture
def sim():
    clock = FakeClock()
    simulator = ShopifySimulator(access_token=TOKEN, clock=clock)
    simulator.start()
    simulator.clock_for_tests = clock
    yield simulator
    simulator.stop()


@pytest.fixture
def client(sim):
    shopify = ShopifyClient(
        sim.shop_domain,
        access_token=TOKEN,
        base_url=sim.base_url,
        sleep=sim.clock_for_tests.sleep,
        clock=sim.clock_for_tests,
    )
    yield shopify
    shopify.close()


def test_transactions_complete_the_webhook_body(sim, client):
    sim.add_order_from_rest(dict(json.loads(json.dumps(ORDER, default=str)), transactions=[SALE]))
    transactions = client.get_order_transactions(ORDER["id"])
    (node,) = transactions  # the OrderTransaction node, as Shopify answered
    assert node["id"] == "gid://shopify/OrderTransaction/7301000001"
    # Mapped directly, it is the payment the REST transaction of the same sale gives.
    direct = map_graphql_transactions(transactions, "EUR")
    assert direct == map_order(dict(ORDER, transactions=[SALE])).payments
    assert [(p.transaction_id, p.kind, p.status, p.gateway, p.amount, p.currency, p.gateway_reference,
             p.parent_transaction_id) for p in direct] == [
        ("7301000001", "sale", "success", "shopify_payments", Decimal("70.60"), "EUR", "ch_3SShopifyPayCharge01",
         None)
    ]
    (request,) = [r for r in sim.requests if r.get("operation") == "order"]
    assert request["requested_cost"] < 50, "far cheaper than re-reading the whole order"
    payment = map_order(ORDER, payments=direct).payments[0]
    assert (payment.transaction_id, payment.amount, payment.gateway_reference) == (
        "7301000001",
        Decimal("70.60"),
        "ch_3SShopifyPayCharge01",
    )


def test_unknown_order_has_no_transactions(client):
    assert client.get_order_transactions("gid://shopify/Order/1") is None
