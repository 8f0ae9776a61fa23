"""Governance, exchanges (pure): a Shopify ``Return`` with exchange line items -> the canonical
``Exchange`` the base imports (what comes back, what goes out, the difference); the return webhooks'
keys; the channel location of a POS order."""

import json
from decimal import Decimal as D

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical.digest import order_update_digest
from omni_connector_base.canonical.exchange import exchange_from_dict, exchange_to_dict
from omni_connector_base.canonical.model import ValidationError
from omni_connector_shopify.lib.mapper import map_order
from omni_connector_shopify.lib.mapper_exchange import map_graphql_exchange
from omni_connector_shopify.lib.sync import RETURN_TOPICS, WEBHOOK_TOPICS, webhook_event_values

UNIT = {"14417890001": D("26.10"), "14417890002": D("13.50")}


def money(amount):
    return {"shopMoney": {"amount": amount, "currencyCode": "EUR"}}


def new_item(line_id, sku, price, tax, discount=None):
    return {"id": f"gid://shopify/LineItem/{line_id}", "sku": sku, "name": sku, "quantity": 1,
            "originalUnitPriceSet": money(price), "variant": {"id": "gid://shopify/ProductVariant/1"},
            "taxLines": [{"rate": 0.19, "title": "MwSt", "priceSet": money(tax)}],
            "discountAllocations": [{"allocatedAmountSet": money(discount)}] if discount else []}


def return_node(returned_line="14417890001", items=()):
    return {
        "id": "gid://shopify/Return/945000001", "name": "#1042-R1", "createdAt": "2026-11-26T10:00:00Z",
        "order": {"id": "gid://shopify/Order/5829417091234"},
        "returnLineItems": {"nodes": [{"id": "gid://shopify/ReturnLineItem/1", "quantity": 1,
                                       "fulfillmentLineItem": {"lineItem": {
                                           "id": f"gid://shopify/LineItem/{returned_line}"}}}]},
        "exchangeLineItems": {"nodes": [{"id": "gid://shopify/ExchangeLineItem/1", "lineItems": list(items)}]},
    }


def test_even_exchange():
    node = return_node(items=[new_item(99001, "TSHIRT-BLK-L", "29.00", "4.17", discount="2.90")])
    exchange = map_graphql_exchange(node, currency="EUR", taxes_included=True, unit_amounts=UNIT)
    assert (exchange.external_id, exchange.order_external_id) == ("945000001", "5829417091234")
    assert [(r.order_line_external_id, r.quantity, r.amount) for r in exchange.returned] == [
        ("14417890001", D(1), D("26.10"))]
    assert [(line.external_id, line.sku, line.net) for line in exchange.new_lines] == [
        ("99001", "TSHIRT-BLK-L", D("26.10"))]
    assert exchange.difference == 0
    assert exchange_from_dict(exchange_to_dict(exchange)) == exchange, "the custom API's shape"


def test_top_up_and_partial_refund_carry_the_difference_only():
    top_up = [{"id": "gid://shopify/OrderTransaction/7301000009", "kind": "SALE", "status": "SUCCESS",
               "gateway": "shopify_payments", "amountSet": money("15.50")}]
    node = return_node("14417890002", [new_item(99002, "HOODIE-GRY-L", "29.00", "4.63")])
    exchange = map_graphql_exchange(node, currency="EUR", taxes_included=True, unit_amounts=UNIT,
                                    transactions=top_up)
    assert exchange.difference == D("15.50")
    assert [(p.kind, p.amount, p.transaction_id) for p in exchange.transactions] == [("sale", D("15.50"),
                                                                                       "7301000009")]
    refund = [{"id": "gid://shopify/OrderTransaction/7301000010", "kind": "REFUND", "status": "SUCCESS",
               "gateway": "shopify_payments", "amountSet": money("12.60")}]
    node = return_node(items=[new_item(99003, "MUG-CLASSIC", "15.00", "2.16", discount="1.50")])
    exchange = map_graphql_exchange(node, currency="EUR", taxes_included=True, unit_amounts=UNIT,
                                    transactions=refund)
    assert exchange.difference == D("-12.60")
    assert exchange.transactions[0].kind == "refund"


def test_unknown_line_and_missing_ids_are_named():
    node = return_node("555")
    node["order"] = {}
    with pytest.raises(ValidationError) as info:
        map_graphql_exchange(node, currency="EUR", taxes_included=True, unit_amounts=UNIT)
    assert {error.field for error in info.value.errors} == {
        "order.id", "returnLineItems[0].fulfillmentLineItem.lineItem.id"}


def test_return_webhooks_are_keyed_on_their_order_like_refunds():
    assert set(RETURN_TOPICS) <= set(WEBHOOK_TOPICS), "registered with the others"
    headers = {"X-Shopify-Topic": "returns/process", "X-Shopify-Webhook-Id": "w-945000001",
               "X-Shopify-Triggered-At": "2026-11-26T10:06:00Z"}
    body = {"id": 945000001, "admin_graphql_api_id": "gid://shopify/Return/945000001",
            "order": {"id": 5829417091234, "admin_graphql_api_id": "gid://shopify/Order/5829417091234"}}
    values = webhook_event_values(headers, body)
    assert (values["topic"], values["resource_model"], values["resource_key"]) == (
        "returns/process", "account.move", "5829417091234")
    assert webhook_event_values(dict(headers, **{"X-Shopify-Topic": "returns/close"}), {
        "id": 1, "order_id": 42})["resource_key"] == "42"


def test_channel_location_of_a_pos_order_and_the_digest():
    text = (FIXTURES / "shopify" / "orders_create.json").read_text()
    online = map_order(json.loads(text, parse_float=D))
    assert online.location_external_id is None
    pos = map_order(dict(json.loads(text, parse_float=D), location_id=65544149777))
    assert pos.location_external_id == "65544149777"
    assert order_update_digest(pos) == order_update_digest(online), "decided once: not a change of the order"
