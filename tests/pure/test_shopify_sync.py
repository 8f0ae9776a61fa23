"""The Shopify connector's synchronisation decisions (``lib/sync.py``), without Odoo."""

import copy
import json
from datetime import datetime
from decimal import Decimal

from conftest import FIXTURES

from omni_connector_base.canonical.digest import order_update_digest
from omni_connector_shopify.lib.mapper import map_order
from omni_connector_shopify.lib.sync import (
    POLL_TOPIC,
    WEBHOOK_TOPICS,
    plan_fulfillment,
    plan_refund,
    plan_stock_changes,
    polled_order_event_values,
    shopify_quantity,
    stock_batch_key,
    stock_resource_key,
    webhook_event_values,
)

RAW_ORDER = (FIXTURES / "shopify" / "orders_create.json").read_bytes()
ORDER = json.loads(RAW_ORDER, parse_float=Decimal)
HEADERS = json.loads((FIXTURES / "shopify" / "orders_create.headers.json").read_text())


def order(**changes):
    payload = copy.deepcopy(ORDER)
    payload.update(changes)
    return payload


# ---------------------------------------------------------------------- intake
def test_webhook_event_values_for_the_fixture():
    values = webhook_event_values(HEADERS, ORDER, RAW_ORDER)
    assert values == {
        "idempotency_key": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "topic": "orders/create",
        "resource_model": "sale.order",
        "resource_key": "5829417091234",
        "source_ts": datetime(2026, 11, 20, 9, 14, 5),
    }


def test_refunds_and_fulfillments_are_keyed_by_their_order():
    refund = json.loads((FIXTURES / "shopify" / "refunds_create.json").read_text(), parse_float=Decimal)
    values = webhook_event_values(dict(HEADERS, **{"X-Shopify-Topic": "refunds/create"}), refund)
    assert values["resource_key"] == "5829417091234"
    fulfillment = {"id": 1, "order_id": 5829417091234, "created_at": "2026-11-21T09:00:00+01:00"}
    values = webhook_event_values(dict(HEADERS, **{"X-Shopify-Topic": "fulfillments/update"}), fulfillment)
    assert (values["topic"], values["resource_key"]) == ("fulfillments/update", "5829417091234")


def test_unhandled_topics_are_ignored_and_handled_ones_registered():
    assert webhook_event_values(dict(HEADERS, **{"X-Shopify-Topic": "products/update"}), {"id": 1}) is None
    for topic in WEBHOOK_TOPICS:
        assert webhook_event_values(dict(HEADERS, **{"X-Shopify-Topic": topic}), {"id": 1}) is not None


def test_body_that_is_not_json_is_still_stored():
    values = webhook_event_values(HEADERS, None, b"not json")
    assert values["topic"] == "orders/create"
    assert values["resource_key"] is None


def test_polled_order_key_is_the_version():
    values = polled_order_event_values(ORDER)
    assert values["idempotency_key"] == "poll:5829417091234:2026-11-20T09:14:05"
    assert values["topic"] == POLL_TOPIC
    assert values["source_ts"] == datetime(2026, 11, 20, 9, 14, 5)
    # the same instant written with another offset is the same version
    same = polled_order_event_values(order(updated_at="2026-11-20T09:14:05Z"))
    assert same["idempotency_key"] == values["idempotency_key"]
    newer = polled_order_event_values(order(updated_at="2026-11-20T10:14:06+01:00"))
    assert newer["idempotency_key"] != values["idempotency_key"]


# ---------------------------------------------------------------- change digest
def test_content_digest_ignores_what_shopify_rewrites_on_every_update():
    base = order_update_digest(map_order(ORDER))
    noisy = order(
        updated_at="2026-11-22T08:00:00+01:00",
        tags="vip, shipped",
        fulfillment_status="partial",
        source_name="shopify_draft_order",
        note_attributes=[{"name": "x", "value": "y"}],
    )
    noisy["customer"] = dict(ORDER["customer"], phone="+49 30 7654321", tags="vip, repeat")
    noisy["transactions"] = [
        {
            "id": 7301000001,
            "kind": "sale",
            "status": "success",
            "gateway": "shopify_payments",
            "amount": "70.60",
            "currency": "EUR",
        }
    ]
    assert order_update_digest(map_order(noisy)) == base


def test_content_digest_sees_what_the_order_sells():
    base = order_update_digest(map_order(ORDER))
    assert order_update_digest(map_order(order(financial_status="refunded"))) != base
    assert order_update_digest(map_order(order(cancelled_at="2026-11-21T08:00:00+01:00"))) != base
    edited = copy.deepcopy(ORDER)
    edited["shipping_address"]["city"] = "Berlin"
    assert order_update_digest(map_order(edited)) != base


# ----------------------------------------------------------------------- stock
def test_shopify_quantity_is_whole_and_never_negative():
    assert shopify_quantity(4.99) == 4
    assert shopify_quantity(Decimal("5")) == 5
    assert shopify_quantity(-3) == 0
    assert shopify_quantity(None) == 0


def test_only_changed_quantities_are_planned():
    levels = {("item/2", "loc/1"): 5, ("item/1", "loc/1"): 0, ("item/3", "loc/1"): 7}
    last = {("item/2", "loc/1"): 5, ("item/1", "loc/1"): 3}
    assert plan_stock_changes(levels, last) == [("item/1", "loc/1", 0, None), ("item/3", "loc/1", 7, None)]


def test_stock_batch_key_is_stable_for_a_retry_and_new_for_new_content():
    changes = [("item/1", "loc/1", 5, None)]
    key = stock_batch_key(7, [3, 1, 2], changes)
    assert key == stock_batch_key(7, [1, 2, 3], changes)
    assert key != stock_batch_key(7, [1, 2, 3], [("item/1", "loc/1", 4, None)])
    assert key != stock_batch_key(7, [1, 2, 4], changes)
    assert len(key) < 64


def test_stock_resource_key():
    assert (
        stock_resource_key("gid://shopify/InventoryItem/46220000011", "gid://shopify/Location/65544149001")
        == "46220000011@65544149001"
    )


# ---------------------------------------------------------------- fulfillment
FULFILLMENT_ORDERS = [
    {
        "id": "gid://shopify/FulfillmentOrder/1",
        "status": "CLOSED",
        "location_id": "gid://shopify/Location/9",
        "lines": [{"id": "FOL-0", "line_item_id": "gid://shopify/LineItem/14417890001", "remaining_quantity": 0}],
    },
    {
        "id": "gid://shopify/FulfillmentOrder/2",
        "status": "OPEN",
        "location_id": "gid://shopify/Location/8",
        "lines": [
            {"id": "FOL-1", "line_item_id": "gid://shopify/LineItem/14417890001", "remaining_quantity": 1},
            {"id": "FOL-2", "line_item_id": "gid://shopify/LineItem/14417890002", "remaining_quantity": 1},
        ],
    },
    {
        "id": "gid://shopify/FulfillmentOrder/3",
        "status": "OPEN",
        "location_id": "gid://shopify/Location/7",
        "lines": [{"id": "FOL-3", "line_item_id": "gid://shopify/LineItem/14417890001", "remaining_quantity": 1}],
    },
]


def test_fulfillment_prefers_the_warehouse_location_and_groups_by_location():
    groups, missing = plan_fulfillment(FULFILLMENT_ORDERS, {"14417890001": 2}, "gid://shopify/Location/7")
    assert groups == [
        (
            "gid://shopify/Location/7",
            [{"fulfillment_order_id": "gid://shopify/FulfillmentOrder/3", "lines": [{"id": "FOL-3", "quantity": 1}]}],
        ),
        (
            "gid://shopify/Location/8",
            [{"fulfillment_order_id": "gid://shopify/FulfillmentOrder/2", "lines": [{"id": "FOL-1", "quantity": 1}]}],
        ),
    ]
    assert missing == {}


def test_partial_and_already_fulfilled_quantities():
    groups, missing = plan_fulfillment(FULFILLMENT_ORDERS[:2], {"14417890001": 3, "14417890002": 1})
    assert groups == [
        (
            "gid://shopify/Location/8",
            [
                {
                    "fulfillment_order_id": "gid://shopify/FulfillmentOrder/2",
                    "lines": [{"id": "FOL-1", "quantity": 1}, {"id": "FOL-2", "quantity": 1}],
                }
            ],
        )
    ]
    assert missing == {"14417890001": 2}
    assert plan_fulfillment(FULFILLMENT_ORDERS[:1], {"14417890001": 1}) == ([], {"14417890001": 1})


# ---------------------------------------------------------------------- refund
def test_refund_plan_for_a_credit_note():
    lines = [
        {"external_id": "14417890001", "quantity": Decimal("1"), "amount": Decimal("26.10")},
        {"external_id": "shipping:4946484101420", "quantity": Decimal("1"), "amount": Decimal("4.90")},
        {"external_id": "14417890001:discount", "quantity": Decimal("1"), "amount": Decimal("-2.90")},
        {"external_id": "", "quantity": Decimal("1"), "amount": Decimal("1.00")},
    ]
    plan = plan_refund(lines, Decimal("31.00"), "shopify_payments", "7301000001", note="RINV/1")
    assert plan == {
        "line_items": [{"line_item_id": "14417890001", "quantity": 1, "restock_type": "NO_RESTOCK"}],
        "transactions": [
            {"gateway": "shopify_payments", "amount": Decimal("31.00"), "kind": "REFUND", "parent_id": "7301000001"}
        ],
        "note": "RINV/1",
        "shipping_amount": Decimal("4.90"),
    }


def test_refund_plan_without_gateway_sends_no_money():
    plan = plan_refund([{"external_id": "1", "quantity": 2, "amount": "10"}], Decimal("10"), None)
    assert plan["transactions"] == []
    assert plan["line_items"] == [{"line_item_id": "1", "quantity": 2, "restock_type": "NO_RESTOCK"}]
