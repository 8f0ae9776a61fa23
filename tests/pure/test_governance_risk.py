"""Governance, risky orders (pure): channel risk values -> the canonical level; Shopify's
``Order.risk`` read by both mappers and by the client (risk with the transactions, one request;
``orderCancel`` against the simulator)."""

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical import order_from_dict, order_to_dict, record_digest
from omni_connector_base.canonical.digest import order_update_digest
from omni_connector_base.canonical.model import ValidationError
from omni_connector_base.canonical.risk import highest_risk, normalize_risk_level, risk_at_least
from omni_connector_shopify.lib.client import ShopifyApiError, ShopifyClient
from omni_connector_shopify.lib.mapper import load_payload, map_order
from omni_connector_shopify.lib.mapper_common import shopify_risk_level
from omni_connector_shopify.lib.mapper_graphql import map_graphql_order
from tests.simulators.shopify_sim import FakeClock, ShopifySimulator, graphql_order_from_rest

TOKEN = "shpat_test_token_governance"
ORDER = load_payload((FIXTURES / "shopify" / "orders_create.json").read_bytes())


@pytest.mark.parametrize(("value", "level"), [
    ("HIGH", "high"), ("Medium", "medium"), ("low", "low"), ("NONE", "low"), ("investigate", "medium"),
    ("cancel", "high"), (" very high ", "high"), (85, "high"), ("42", "medium"), (Decimal("12.5"), "low"),
    (None, None), ("", None), ("PENDING", None), ("nonsense", None), (True, None), (-3, None), ("NaN", None),
])
def test_channel_values_normalize(value, level):
    assert normalize_risk_level(value) == level


def test_highest_and_threshold():
    assert highest_risk(["LOW", "HIGH", "medium"]) == "high"
    assert highest_risk(["PENDING", None]) is None
    assert risk_at_least("high", "medium") and risk_at_least("medium", "medium")
    assert not risk_at_least("low", "medium") and not risk_at_least(None, "low")


def test_shopify_risk_summary():
    assert shopify_risk_level({"recommendation": "CANCEL", "assessments": [{"riskLevel": "HIGH"}]}) == "high"
    assert shopify_risk_level({"recommendation": "ACCEPT", "assessments": [{"riskLevel": "NONE"},
                                                                          {"riskLevel": "MEDIUM"}]}) == "medium"
    assert shopify_risk_level({"recommendation": "INVESTIGATE", "assessments": [{"riskLevel": "PENDING"}]}) == \
        "medium", "no assessed level yet: the recommendation"
    assert shopify_risk_level({"recommendation": "NONE", "assessments": []}) is None
    assert shopify_risk_level(None) is None and shopify_risk_level("HIGH") is None
    assert shopify_risk_level({"assessments": "odd"}) is None


def test_mappers_carry_the_risk():
    node = json.loads(json.dumps(graphql_order_from_rest(ORDER), default=str), parse_float=Decimal)
    assert map_graphql_order(node).risk_level is None
    node["risk"] = {"recommendation": "CANCEL", "assessments": [{"riskLevel": "HIGH"}]}
    assert map_graphql_order(node).risk_level == "high"
    assert map_order(ORDER).risk_level is None, "a webhook body has no risk"
    assert map_order(ORDER, risk_level="medium").risk_level == "medium"


def test_risk_in_the_canonical_json_and_digests():
    order = map_order(ORDER)
    data = order_to_dict(order)
    assert data["risk_level"] is None
    assert order_from_dict(dict(data, risk_level="high")).risk_level == "high"
    with pytest.raises(ValidationError) as info:
        order_from_dict(dict(data, risk_level="extreme"))
    assert [error.field for error in info.value.errors] == ["risk_level"]
    # Unset, it leaves the digests as they were before the field existed; set, it is a change.
    without_field = dict(data)
    del without_field["risk_level"]
    risky = map_order(ORDER, risk_level="high")
    assert record_digest(order) != record_digest(risky)
    assert order_update_digest(order) != order_update_digest(risky)
    assert "risk_level" not in json.dumps(without_field)


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
    shopify = ShopifyClient(sim.shop_domain, access_token=TOKEN, base_url=sim.base_url,
                            sleep=sim.clock_for_tests.sleep, clock=sim.clock_for_tests)
    yield shopify
    shopify.close()


@pytest.mark.slow
def test_client_reads_risk_with_transactions_and_cancels(sim, client):
    sim.add_order_from_rest(json.loads(json.dumps(ORDER, default=str)))
    node = client.get_order_transactions_and_risk(ORDER["id"])
    assert shopify_risk_level(node["risk"]) is None
    sim.set_order_risk(f"gid://shopify/Order/{ORDER['id']}", "HIGH")
    node = client.get_order_transactions_and_risk(ORDER["id"])
    assert shopify_risk_level(node["risk"]) == "high"
    assert len([r for r in sim.requests if r.get("operation") == "order"]) == 2, "one request each"
    job = client.cancel_order(ORDER["id"], reason="FRAUD", staff_note="held, then cancelled", idempotency_key="k1")
    assert job["id"].startswith("gid://shopify/Job/")
    (cancel,) = sim.cancellations
    assert (cancel["reason"], cancel["refund"], cancel["restock"], cancel["staffNote"]) == (
        "FRAUD", True, True, "held, then cancelled")
    again = client.cancel_order(ORDER["id"], reason="FRAUD", staff_note="held, then cancelled", idempotency_key="k1")
    assert again == job, "a retry with the key is a replay"
    assert len(sim.cancellations) == 1
    with pytest.raises(ShopifyApiError):
        client.cancel_order(ORDER["id"], idempotency_key="k2")  # already cancelled
    assert client.get_order_transactions_and_risk("gid://shopify/Order/1") is None
