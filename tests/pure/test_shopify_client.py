"""The Shopify GraphQL client against the local Admin API simulator (loopback HTTP)."""

import json
import logging
import time
from decimal import Decimal

import pytest
from conftest import FIXTURES

from omni_connector_base.canonical.totals import check_totals
from omni_connector_base.pipeline.errors import BusinessError, TransientError
from omni_connector_shopify.lib.client import (
    DEFAULT_API_VERSION,
    DEFAULT_MAX_WAIT,
    ShopifyApiError,
    ShopifyClient,
    ShopifyThrottled,
    ShopifyTransientError,
    normalize_shop_domain,
    topic_enum,
)
from omni_connector_shopify.lib.mapper_graphql import map_graphql_order, nodes
from tests.simulators.shopify_sim import FakeClock, ShopifySimulator

pytestmark = pytest.mark.slow

TOKEN = "shpat_test_token_0123456789"
SECRET = "app-client-secret-for-tests"
CLIENT_ID = "app-client-id"
ORDER = json.loads((FIXTURES / "shopify" / "orders_create.json").read_text(), parse_float=Decimal)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sim(clock):
    simulator = ShopifySimulator(access_token=TOKEN, api_secret=SECRET, client_id=CLIENT_ID, clock=clock)
    simulator.start()
    yield simulator
    simulator.stop()


def make_client(sim, clock, **kwargs):
    kwargs.setdefault("access_token", TOKEN)
    return ShopifyClient(sim.shop_domain, base_url=sim.base_url, sleep=clock.sleep, clock=clock, **kwargs)


@pytest.fixture
def client(sim, clock):
    shopify = make_client(sim, clock)
    yield shopify
    shopify.close()


def seed_orders(sim, count, lines=2):
    for n in range(count):
        order = json.loads(json.dumps(ORDER, default=str), parse_float=Decimal)
        order["id"] = 7000000000 + n
        order["admin_graphql_api_id"] = f"gid://shopify/Order/{order['id']}"
        order["name"] = f"#{2000 + n}"
        order["updated_at"] = f"2026-11-2{n % 10}T10:{n:02d}:00+01:00"
        base = order["line_items"][1]
        order["line_items"] = order["line_items"][:1] + [
            dict(base, id=14417890100 + 10 * n + i, admin_graphql_api_id=None) for i in range(lines - 1)
        ]
        sim.add_order_from_rest(order)


# ------------------------------------------------------------------------ basics
def test_shop_info_and_api_version(client):
    shop = client.shop_info()
    assert shop["myshopifyDomain"] == "acme-retail.myshopify.com"
    assert shop["api_version_requested"] == DEFAULT_API_VERSION == "2026-10"
    assert client.api_version_answered == "2026-10"
    assert client.throttle_status == (2000.0, 1999.0, 100.0)


def test_unsupported_version_falls_forward(sim, clock):
    old = make_client(sim, clock, api_version="2024-01")
    old.shop_info()
    assert old.api_version_answered == sim.api_version
    old.close()


def test_shop_domain_normalization():
    assert normalize_shop_domain("https://Acme-Retail.myshopify.com/admin") == (
        "acme-retail.myshopify.com",
        "acme-retail",
    )
    assert normalize_shop_domain("acme-retail")[0] == "acme-retail.myshopify.com"
    with pytest.raises(ValueError):
        normalize_shop_domain("evil.example.com/../")
    assert topic_enum("orders/create") == "ORDERS_CREATE"
    assert topic_enum("APP_UNINSTALLED") == "APP_UNINSTALLED"


# -------------------------------------------------------------------- pagination
def test_orders_updated_since_paginates_and_filters(sim, client):
    seed_orders(sim, 7)
    orders = list(client.iter_orders_updated_since("2026-11-21T00:00:00Z", page_size=3))
    assert [o["name"] for o in orders] == ["#2001", "#2002", "#2003", "#2004", "#2005", "#2006"]
    lists = [r for r in sim.requests if r.get("operation") == "orders"]
    assert len(lists) == 2  # 6 orders, 3 per page
    for order in orders:
        assert check_totals(map_graphql_order(order)).ok


def test_order_line_items_are_paginated_to_completion(sim, client):
    seed_orders(sim, 1, lines=5)
    (order,) = client.iter_orders_updated_since("2026-01-01T00:00:00Z", line_items_per_page=2)
    assert len(nodes(order["lineItems"])) == 5
    assert len({line["id"] for line in nodes(order["lineItems"])}) == 5
    assert sum(1 for r in sim.requests if r.get("operation") == "order") == 3


def test_polled_fixture_order_maps_like_the_webhook(sim, client):
    sim.add_order_from_rest(ORDER)
    (polled,) = client.iter_orders_updated_since("2026-11-20T09:14:05Z")
    order = map_graphql_order(polled)
    assert (order.total, order.total_tax) == (Decimal("70.60"), Decimal("11.27"))
    assert check_totals(order).ok
    assert client.get_order("gid://shopify/Order/404") is None


def test_variants_paginate(sim, client):
    for n in range(7):
        sim.add_variant(f"SKU-{n}", barcode=f"400000000000{n}")
    variants = list(client.iter_variants(page_size=3))
    assert [v["sku"] for v in variants] == [f"SKU-{n}" for n in range(7)]
    assert all(v["inventory_item_id"].startswith("gid://shopify/InventoryItem/") for v in variants)
    assert variants[0]["barcode"] == "4000000000000"
    assert sum(1 for r in sim.requests if r.get("operation") == "productVariants") == 3


# ---------------------------------------------------------------- cost throttle
def test_cost_budget_is_respected_under_a_burst(sim, client, clock):
    sim.mutation_costs["inventorySetQuantities"] = 150  # expensive mutations (each wait 1.5 s <= max_wait)
    variant = sim.add_variant("BURST", quantity=0)
    item = variant["inventoryItem"]["id"]
    for n in range(60):
        client.set_inventory_quantities(
            [(item, sim.default_location, n + 1, None)], idempotency_key=f"burst-{n}"
        )
    mutations = [r for r in sim.requests if r.get("operation") == "inventorySetQuantities"]
    assert len(mutations) == 60
    assert sim.throttled_requests == 0  # no request was ever sent into an empty bucket
    assert all(r["available_before"] >= r["requested_cost"] for r in mutations)
    assert sim.quantity(item) == 60
    # the client waited just long enough: 60 x 150 points at 100/s, minus the full bucket
    waited = sum(clock.sleeps)
    assert (60 * 150 - 2000) / 100 <= waited <= (60 * 150 - 2000) / 100 + 60 * 0.02
    assert max(clock.sleeps) <= client.max_wait


def test_a_long_wait_for_the_bucket_raises_with_retry_after_instead_of_sleeping(sim, client, clock):
    """The default client never sleeps longer than 2 s in a worker: a request the bucket cannot pay
    for sooner raises ShopifyThrottled (transient) saying when enough points will be restored."""
    assert client.max_wait == DEFAULT_MAX_WAIT == 2.0
    sim.mutation_costs["inventorySetQuantities"] = 500
    item = sim.add_variant("LONG-WAIT", quantity=0)["inventoryItem"]["id"]
    for n in range(4):  # 4 x 500 points: the bucket is empty now
        client.set_inventory_quantities([(item, sim.default_location, n, None)], idempotency_key=f"long-{n}")
    sent, slept = len(sim.requests), list(clock.sleeps)
    with pytest.raises(ShopifyThrottled) as exc_info:
        client.set_inventory_quantities([(item, sim.default_location, 9, None)], idempotency_key="long-9")
    assert isinstance(exc_info.value, TransientError)
    assert exc_info.value.retry_after == pytest.approx((500 + 1) / 100, abs=0.05)  # 5 s until 500 points are back
    assert clock.sleeps == slept, "no sleep at all"
    assert len(sim.requests) == sent, "nothing sent into the empty bucket"
    clock.advance(exc_info.value.retry_after)  # the queue retries the event after retry_after: it goes through
    client.set_inventory_quantities([(item, sim.default_location, 9, None)], idempotency_key="long-9")
    assert sim.quantity(item) == 9


def test_throttled_response_is_waited_out_and_retried(sim, client, clock):
    client.shop_info()  # the client now believes the bucket is almost full
    sim.drain_bucket(0)  # ...but another worker emptied it
    assert client.shop_info()["name"] == "Acme Retail"
    assert sim.throttled_requests == 1
    # (1 point + 1 point of margin) / 100 points per s, but never less than 50 ms
    assert clock.sleeps == [pytest.approx(0.05)]


def test_throttle_that_would_take_too_long_raises_before_sending(clock):
    slow = ShopifySimulator(access_token=TOKEN, clock=clock, restore_rate=1.0).start()
    try:
        shopify = make_client(slow, clock, max_wait=30)
        shopify.shop_info()
        slow.drain_bucket(0)
        shopify.shop_info()  # throttled once, waited 2 s: the client now knows the bucket is empty
        assert slow.throttled_requests == 1
        sent, waited = len(slow.requests), list(clock.sleeps)
        with pytest.raises(ShopifyThrottled) as exc_info:
            list(shopify.iter_variants())  # ~750 points at 1 point/s: far beyond max_wait
        assert exc_info.value.retry_after > 30
        assert isinstance(exc_info.value, TransientError)  # the pipeline retries the event later
        assert len(slow.requests) == sent  # nothing was sent into the empty bucket
        assert clock.sleeps == waited  # and no worker was parked for minutes
        shopify.close()
    finally:
        slow.stop()


# -------------------------------------------------------------- faults & errors
def test_429_retry_after_is_honoured(sim, client, clock):
    sim.inject_fault("429", retry_after=2)
    assert client.shop_info()["name"] == "Acme Retail"
    assert clock.sleeps == [2.0]


def test_429_forever_raises_throttled(sim, client, clock):
    sim.inject_fault("429", count=10, retry_after=1.5)
    with pytest.raises(ShopifyThrottled) as exc_info:
        client.shop_info()
    assert exc_info.value.retry_after == 1.5
    assert exc_info.value.status == 429
    assert clock.sleeps == [1.5] * client.max_throttle_retries


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_5xx_is_transient(sim, client, kind):
    sim.inject_fault(kind)
    with pytest.raises(ShopifyTransientError) as exc_info:
        client.shop_info()
    assert exc_info.value.status == int(kind)
    assert isinstance(exc_info.value, TransientError)
    assert client.shop_info()["name"] == "Acme Retail"  # the next call goes through


def test_timeout_is_transient(sim, clock):
    shopify = make_client(sim, clock, timeout=0.2)
    sim.inject_fault("delay", delay=1.0)
    started = time.monotonic()
    with pytest.raises(ShopifyTransientError) as exc_info:
        shopify.shop_info()
    assert "timeout" in str(exc_info.value)
    assert time.monotonic() - started < 0.9
    shopify.close()


def test_malformed_body_is_transient(sim, client):
    sim.inject_fault("malformed")
    with pytest.raises(ShopifyTransientError, match="malformed"):
        client.shop_info()


def test_connection_errors_are_transient(sim, client):
    sim.inject_fault("reset")
    with pytest.raises(ShopifyTransientError):
        client.shop_info()
    sim.stop()
    with pytest.raises(ShopifyTransientError, match="connection error"):
        client.shop_info()


def test_bad_token_is_an_api_error_and_never_leaks(sim, clock, caplog):
    caplog.set_level(logging.DEBUG)
    bad = make_client(sim, clock, access_token="shpat_wrong_secret_value")
    with pytest.raises(ShopifyApiError) as exc_info:
        bad.shop_info()
    assert exc_info.value.status == 401
    assert isinstance(exc_info.value, BusinessError)
    assert "shpat_wrong_secret_value" not in str(exc_info.value) + caplog.text + repr(bad)
    bad.close()


def test_graphql_errors_are_api_errors(client):
    with pytest.raises(ShopifyApiError, match="undefinedField"):
        client.graphql("query OmniNope { nope { id } }")


def test_max_cost_exceeded_is_an_api_error(sim, client):
    with pytest.raises(ShopifyApiError, match="MAX_COST_EXCEEDED"):
        list(client.iter_orders_updated_since("2026-01-01T00:00:00Z", page_size=5000))


# ------------------------------------------------------------------------ token
def test_client_credentials_token_exchange(sim, clock, caplog):
    caplog.set_level(logging.DEBUG)
    shopify = make_client(sim, clock, access_token=None, client_id=CLIENT_ID, client_secret=SECRET)
    assert shopify.shop_info()["name"] == "Acme Retail"  # fetched a token on first use
    assert sim.tokens_issued == 1
    token = shopify.access_token
    assert token in sim.access_tokens
    result = shopify.fetch_token_client_credentials()
    assert result["access_token"] != token and result["expires"] and "write_inventory" in result["scope"]
    assert SECRET not in caplog.text and result["access_token"] not in caplog.text
    shopify.close()


def test_expired_token_is_refreshed_once(sim, clock):
    shopify = make_client(sim, clock, access_token="shpat_expired", client_id=CLIENT_ID, client_secret=SECRET)
    assert shopify.shop_info()["name"] == "Acme Retail"
    assert sim.tokens_issued == 1
    shopify.close()


def test_token_exchange_failures(sim, clock):
    wrong = make_client(sim, clock, access_token=None, client_id=CLIENT_ID, client_secret="wrong")
    with pytest.raises(ShopifyApiError) as exc_info:
        wrong.fetch_token_client_credentials()
    assert "wrong" not in str(exc_info.value)
    sim.inject_fault("503", endpoint="token")
    right = make_client(sim, clock, access_token=None, client_id=CLIENT_ID, client_secret=SECRET)
    with pytest.raises(ShopifyTransientError):
        right.fetch_token_client_credentials()
    assert right.fetch_token_client_credentials()["access_token"]
    no_credentials = make_client(sim, clock, access_token=None)
    with pytest.raises(ShopifyApiError):
        no_credentials.shop_info()
    for c in (wrong, right, no_credentials):
        c.close()


# -------------------------------------------------------------------- inventory
def test_set_inventory_quantities_batches_of_250(sim, client):
    variants = [sim.add_variant(f"SKU-{n:03d}", quantity=1) for n in range(600)]
    changes = [(v["inventoryItem"]["id"], sim.default_location, 5, 1) for v in variants]
    groups = client.set_inventory_quantities(changes, reason="correction", idempotency_key="outbox-42")
    assert len(groups) == 3
    mutations = [r for r in sim.requests if r.get("operation") == "inventorySetQuantities"]
    assert [r["idempotency_key"] for r in mutations] == ["outbox-42-0", "outbox-42-1", "outbox-42-2"]
    assert [len(g["changes"]) for g in groups] == [250, 250, 100]
    assert all(sim.quantity(v["inventoryItem"]["id"]) == 5 for v in variants)

    # replaying the same call (e.g. after a timeout) is applied once by Shopify
    again = client.set_inventory_quantities(changes, reason="correction", idempotency_key="outbox-42")
    assert sim.idempotent_replays == 3
    assert [g["id"] for g in again] == [g["id"] for g in groups]
    assert all(sim.quantity(v["inventoryItem"]["id"]) == 5 for v in variants)


def test_change_from_quantity_is_always_sent_and_checked(sim, client):
    variant = sim.add_variant("CAS", quantity=3)
    item = variant["inventoryItem"]["id"]
    client.set_inventory_quantities([(item, sim.default_location, 9, None)], idempotency_key="a")
    assert sim.quantity(item) == 9
    with pytest.raises(ShopifyApiError) as exc_info:
        client.set_inventory_quantities([(item, sim.default_location, 4, 3)], idempotency_key="b")
    assert exc_info.value.user_errors[0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert sim.quantity(item) == 9
    with pytest.raises(ShopifyApiError) as exc_info:
        client.set_inventory_quantities([("gid://shopify/InventoryItem/1", sim.default_location, 1, None)])
    assert exc_info.value.user_errors[0]["code"] == "INVALID_INVENTORY_ITEM"


# ---------------------------------------------------------- fulfillment & refund
def test_fulfillment_with_tracking(sim, client):
    sim.add_order_from_rest(ORDER)
    (fo,) = client.fulfillment_orders(ORDER["admin_graphql_api_id"])
    assert [line["sku"] for line in fo["lines"]] == ["TSHIRT-BLK-M", "MUG-CLASSIC"]
    shirt = fo["lines"][0]
    fulfillment = client.create_fulfillment(
        [{"fulfillment_order_id": fo["id"], "lines": [{"id": shirt["id"], "quantity": 2}]}],
        tracking={"company": "DHL", "number": "00340434161234567890", "url": "https://www.dhl.de/t/1"},
        notify_customer=True,
    )
    assert fulfillment["trackingInfo"] == [
        {"company": "DHL", "number": "00340434161234567890", "url": "https://www.dhl.de/t/1"}
    ]
    assert sim.fulfillments[0]["notifyCustomer"] is True
    (fo,) = client.fulfillment_orders(ORDER["id"])
    assert [line["remaining_quantity"] for line in fo["lines"]] == [0, 1]
    client.create_fulfillment([{"fulfillment_order_id": fo["id"]}])  # the rest
    with pytest.raises(ShopifyApiError):
        client.create_fulfillment([{"fulfillment_order_id": fo["id"]}])  # nothing left


def test_refund_is_idempotent_and_restocks(sim, client):
    sim.add_order_from_rest(ORDER)
    shirt_variant = sim.add_variant("TSHIRT-BLK-M", quantity=4, variant_id=45110000011)
    kwargs = {
        "line_items": [
            {"line_item_id": 14417890001, "quantity": 1, "restock_type": "return", "location_id": 65544149001}
        ],
        "transactions": [
            {"gateway": "shopify_payments", "amount": Decimal("26.10"), "parent_id": 7301000001}
        ],
        "note": "Wrong size",
        "idempotency_key": "refund-outbox-7",
    }
    refund = client.create_refund(ORDER["id"], **kwargs)
    assert refund["totalRefundedSet"]["shopMoney"]["amount"] == "26.10"
    assert (
        sim.refunds[0]["input"]["transactions"][0]["parentId"] == "gid://shopify/OrderTransaction/7301000001"
    )
    assert sim.quantity(shirt_variant["inventoryItem"]["id"]) == 5
    again = client.create_refund(ORDER["id"], **kwargs)  # a retry after a timeout
    assert again["id"] == refund["id"]
    assert len(sim.refunds) == 1
    assert sim.quantity(shirt_variant["inventoryItem"]["id"]) == 5


# --------------------------------------------------------------------- webhooks
def test_register_webhook_is_idempotent(sim, client):
    url = "https://odoo.example.com/omni/webhook/1"
    assert client.register_webhook("orders/create", url)["action"] == "created"
    assert client.register_webhook("ORDERS_CREATE", url)["action"] == "unchanged"
    moved = client.register_webhook("orders/create", "https://erp.example.com/omni/webhook/1")
    assert moved["action"] == "updated"
    assert client.register_webhook("refunds/create", url)["action"] == "created"
    subs = client.webhook_subscriptions()
    assert sorted((s["topic"], s["uri"]) for s in subs) == [
        ("ORDERS_CREATE", "https://erp.example.com/omni/webhook/1"),
        ("REFUNDS_CREATE", url),
    ]
    with pytest.raises(ShopifyApiError, match="Address is invalid"):
        client.register_webhook("orders/paid", "ftp://nowhere")
