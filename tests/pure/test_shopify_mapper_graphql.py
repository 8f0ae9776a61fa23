"""The GraphQL mappers (``lib/mapper_graphql.py``) give the canonical records the old path gave.

The old path converted every GraphQL node to the REST shape and ran the REST mapper; it is kept
frozen in ``legacy_rest_shapes.py`` as the oracle. Orders come from the webhook fixture and
variants of it, turned into the node Shopify answers by the simulator (``graphql_order_from_rest``);
payouts from the simulator's Shopify Payments data.
"""

import copy
import dataclasses
import json
from decimal import Decimal

import pytest
from conftest import FIXTURES
from legacy_rest_shapes import (
    rest_balance_transaction_from_graphql,
    rest_order_from_graphql,
    rest_payout_from_graphql,
    rest_transactions_from_graphql,
)

from omni_connector_base.canonical import order_to_dict
from omni_connector_base.canonical.model import ValidationError
from omni_connector_shopify.lib.client import ShopifyClient
from omni_connector_shopify.lib.mapper import load_payload, map_fulfillment, map_order, map_refund
from omni_connector_shopify.lib.mapper_graphql import (
    map_graphql_fulfillment,
    map_graphql_order,
    map_graphql_refund,
    map_graphql_transactions,
    settlement_from_graphql,
)
from omni_connector_shopify.lib.payouts import settlement_from_shopify
from tests.simulators.shopify_sim import (
    FakeClock,
    ShopifySimulator,
    graphql_fulfillment_from_rest,
    graphql_order_from_rest,
    graphql_refund_from_rest,
)

TOKEN = "shpat_graphql_mapper_test"
ORDER = load_payload((FIXTURES / "shopify" / "orders_create.json").read_bytes())


def node_of(rest):
    """The GraphQL node of a REST order, through JSON as the client receives it."""
    return json.loads(json.dumps(graphql_order_from_rest(rest), default=str), parse_float=Decimal)


def tx(tx_id, amount, kind="sale", status="success", gateway="shopify_payments", **extra):
    return dict(id=tx_id, kind=kind, status=status, gateway=gateway, amount=amount, currency="EUR", **extra)


def variant(**changes):
    rest = copy.deepcopy(ORDER)
    for key, value in changes.items():
        if callable(value):
            value(rest)
        else:
            rest[key] = value
    return rest


def _zero_line(rest):
    line = copy.deepcopy(rest["line_items"][0])
    line.update(id=14417899999, quantity=0, admin_graphql_api_id="gid://shopify/LineItem/14417899999")
    rest["line_items"].append(line)


def _removed_shipping(rest):
    if rest.get("shipping_lines"):
        extra = copy.deepcopy(rest["shipping_lines"][0])
        extra.update(id=99, is_removed=True)
        rest["shipping_lines"].append(extra)


VARIANTS = {
    "fixture": variant(),
    "guest": variant(customer=None),
    "transactions": variant(transactions=[tx(7301000001, "70.60", authorization="ch_1",
                                             processed_at="2026-11-20T10:14:04+01:00")]),
    "refund_with_parent": variant(transactions=[tx(1, "70.60"), tx(2, "10.00", kind="refund", parent_id=1)]),
    "authorized": variant(financial_status="authorized"),
    "partially_paid": variant(financial_status="partially_paid", total_outstanding="20.60"),
    "two_gateways": variant(payment_gateway_names=["shopify_payments", "gift_card"]),
    "cancelled_test": variant(cancelled_at="2026-11-21T10:00:00+01:00", cancel_reason="fraud", test=True),
    "quantity_zero_line": variant(_zero=_zero_line),
    "removed_shipping": variant(_removed=_removed_shipping),
    "no_tags": variant(tags=""),
    "unfulfilled": variant(fulfillment_status=None),
    "partial": variant(fulfillment_status="partial"),
}


# The webhook body states a code's amount itself; the node gives only allocations, which the old
# converter summed over every line, a removed one included. The direct mapper keeps that.
WEBHOOK_DIFFERS = {"quantity_zero_line"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_order_node_maps_as_the_old_converter_and_the_webhook_mapper(name):
    rest = {k: v for k, v in VARIANTS[name].items() if not k.startswith("_")}
    node = node_of(rest)
    direct = order_to_dict(map_graphql_order(node))
    assert direct == order_to_dict(map_order(rest_order_from_graphql(node)))
    if name not in WEBHOOK_DIFFERS:
        assert direct == order_to_dict(map_order(rest))


def test_transactions_map_as_the_old_converter():
    rest = VARIANTS["refund_with_parent"]
    nodes = node_of(rest)["transactions"]
    assert map_graphql_transactions(nodes, "EUR") == map_order(
        dict(ORDER, transactions=rest_transactions_from_graphql(nodes))).payments


def test_a_bad_node_is_refused_with_the_graphql_field_named():
    node = node_of(ORDER)
    del node["lineItems"]["nodes"][0]["originalUnitPriceSet"]
    node["currencyCode"] = None
    with pytest.raises(ValidationError) as exc_info:
        map_graphql_order(node)
    paths = {error.field for error in exc_info.value.errors}
    assert {"currencyCode", "lineItems[0].originalUnitPriceSet"} <= paths


@pytest.fixture
def client():
    clock = FakeClock()
    sim = ShopifySimulator(access_token=TOKEN, clock=clock)
    sim.start()
    shopify_fixtures = FIXTURES / "shopify"
    sim.load_payout_fixture(shopify_fixtures / "payout.json", shopify_fixtures / "payout_balance_transactions.json")
    shopify = ShopifyClient(sim.shop_domain, access_token=TOKEN, base_url=sim.base_url, sleep=clock.sleep, clock=clock)
    yield shopify
    shopify.close()
    sim.stop()


def test_payout_nodes_map_as_the_old_converter(client):
    (payout,) = client.iter_payouts("2026-11-01")
    transactions = list(client.iter_balance_transactions(payout["legacyResourceId"]))
    direct = settlement_from_graphql(payout, transactions)
    old = settlement_from_shopify(rest_payout_from_graphql(payout),
                                  [rest_balance_transaction_from_graphql(t) for t in transactions])
    assert direct.lines == old.lines
    assert (direct.external_id, direct.currency, direct.payout_date, direct.expected_amount, direct.status,
            direct.period_start, direct.period_end) == (
        old.external_id, old.currency, old.payout_date, old.expected_amount, old.status, old.period_start,
        old.period_end)


# ------------------------------------------------------- polled refunds and fulfillments
REFUND = load_payload((FIXTURES / "shopify" / "refunds_create.json").read_bytes())
FULFILLMENT = {
    "id": 4075788001,
    "order_id": 5829417091234,
    "status": "success",
    "created_at": "2026-11-21T09:00:00+01:00",
    "updated_at": "2026-11-21T10:00:00+01:00",
    "tracking_company": "DHL",
    "tracking_number": "00340434161234567890",
    "tracking_numbers": ["00340434161234567890"],
    "tracking_url": "https://www.dhl.de/track?piececode=00340434161234567890",
    "tracking_urls": ["https://www.dhl.de/track?piececode=00340434161234567890"],
    "line_items": [{"id": 14417890001, "quantity": 1, "sku": "TSHIRT-BLK-M"}],
}


def through_json(node):
    return json.loads(json.dumps(node, default=str), parse_float=Decimal)


def refund_variants():
    plain = copy.deepcopy(REFUND)
    shipping = copy.deepcopy(REFUND)
    shipping["refund_line_items"][0]["restock_type"] = "no_restock"
    shipping["order_adjustments"] = [
        {"kind": "shipping_refund", "amount": "-4.90", "tax_amount": "-0.78"},
        {"kind": "refund_discrepancy", "amount": "1.00", "tax_amount": "0.00"},
    ]
    shipping["transactions"][0]["amount"] = "30.00"
    return [plain, shipping]


@pytest.mark.parametrize("rest", refund_variants(), ids=["fixture", "shipping-and-discrepancy"])
def test_polled_refund_node_maps_like_the_webhook_body(rest):
    """The poll's ``Refund`` node (as the simulator answers it) and the ``refunds/create`` body of the
    same refund give one canonical refund: the poll repairs a lost webhook with the same credit note."""
    node = through_json(graphql_refund_from_rest(rest))
    polled = map_graphql_refund(node, "gid://shopify/Order/5829417091234", currency="EUR")
    assert polled == map_refund(rest, currency="EUR")
    assert map_graphql_refund(node, "5829417091234") == polled  # currency from the money bags


def test_polled_fulfillment_node_maps_like_the_webhook_body():
    node = through_json(graphql_fulfillment_from_rest(FULFILLMENT))
    polled = map_graphql_fulfillment(node, "gid://shopify/Order/5829417091234")
    webhook = map_fulfillment(FULFILLMENT)
    assert polled == dataclasses.replace(webhook, notify_customer=False)
    assert (polled.external_id, polled.status, polled.carrier) == ("4075788001", "success", "DHL")


def test_polled_refund_and_fulfillment_errors_name_the_graphql_field():
    node = through_json(graphql_refund_from_rest(REFUND))
    node["refundLineItems"]["nodes"][0]["lineItem"] = None
    node["refundLineItems"]["nodes"][0]["quantity"] = "x"
    with pytest.raises(ValidationError) as caught:
        map_graphql_refund(node, None)
    paths = {error.field for error in caught.value.errors}
    assert {"order.id", "refundLineItems[0].lineItem.id"} <= paths
    shipment = through_json(graphql_fulfillment_from_rest(FULFILLMENT))
    shipment["fulfillmentLineItems"]["nodes"][0]["quantity"] = None
    with pytest.raises(ValidationError) as caught:
        map_graphql_fulfillment(shipment, "5829417091234")
    assert [error.field for error in caught.value.errors] == ["fulfillmentLineItems[0].quantity"]
