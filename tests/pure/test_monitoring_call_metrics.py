"""The API call metrics buffer (omni_connector_base.pipeline.call_metrics) and the clients that record
into it: the Shopify client against the Admin API simulator, the Stripe library against the Stripe
simulator, over loopback, with only the base URL changed."""

import threading

import pytest
import stripe
from conftest import FIXTURES

from omni_connector_base.pipeline import call_metrics
from omni_connector_shopify.lib.client import ShopifyClient, ShopifyTransientError
from omni_reconciliation.lib.stripe_client import fetch_settlement, make_client, stripe_operation
from tests.simulators.shopify_sim import FakeClock, ShopifySimulator
from tests.simulators.stripe_sim import StripeSimulator

TOKEN = "shpat_monitoring_token_0123456789"


@pytest.fixture(autouse=True)
def empty_buffer():
    call_metrics.discard()
    yield
    call_metrics.discard()


def test_record_counts_outcomes_seconds_and_buckets():
    call_metrics.record("orderCreate", 0.03)
    call_metrics.record("orderCreate", 0.2, "throttled")
    call_metrics.record("orderCreate", 12.0, "error")
    call_metrics.record("shop", 0.5, "nonsense")  # an unknown outcome is an error
    stats = call_metrics.drain()
    calls, errors, throttled, seconds, buckets = stats["orderCreate"].as_tuple()
    assert (calls, errors, throttled) == (3, 1, 1)
    assert seconds == pytest.approx(12.23)
    assert buckets == (1, 0, 1, 0, 0, 0, 0, 0)  # 0.03 <= 0.05, 0.2 <= 0.25, 12 s beyond 10 s (only +Inf)
    assert stats["shop"].errors == 1
    assert not call_metrics.pending() and call_metrics.drain() == {}


def test_timed_uses_the_status_and_counts_an_exception_as_an_error():
    ticks = iter([0.0, 0.4, 1.0, 1.1, 2.0, 2.3])
    clock = lambda: next(ticks)  # noqa: E731
    with call_metrics.timed("a", clock=clock) as call:
        call.status = 200
    with call_metrics.timed("a", clock=clock) as call:
        call.status = 429
    with pytest.raises(RuntimeError), call_metrics.timed("b", clock=clock):
        raise RuntimeError("network")
    stats = call_metrics.drain()
    assert stats["a"].as_tuple()[:3] == (2, 0, 1)
    assert stats["a"].seconds == pytest.approx(0.5)
    assert stats["b"].as_tuple()[:3] == (1, 1, 0)


def test_outcome_for_status():
    assert [call_metrics.outcome_for_status(s) for s in (200, 204, 302, 400, 404, 429, 500, 0, None)] == [
        "ok", "ok", "ok", "error", "error", "throttled", "error", "error", "error"]


def test_each_thread_has_its_own_buffer():
    call_metrics.record("main", 0.1)
    seen = {}

    def work():
        call_metrics.record("worker", 0.1)
        seen.update(call_metrics.drain())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert set(seen) == {"worker"}
    assert set(call_metrics.drain()) == {"main"}


def test_distinct_operations_are_capped():
    for index in range(call_metrics.MAX_OPERATIONS + 50):
        call_metrics.record(f"op{index}", 0.01)
    stats = call_metrics.drain()
    assert len(stats) == call_metrics.MAX_OPERATIONS + 1
    assert stats[call_metrics.OTHER].calls == 50


def test_name_next_is_taken_once():
    call_metrics.name_next("shop")
    assert call_metrics.take_operation() == "shop"
    assert call_metrics.take_operation() is None


@pytest.fixture
def shopify():
    clock = FakeClock()
    sim = ShopifySimulator(access_token=TOKEN, clock=clock).start()
    client = ShopifyClient(sim.shop_domain, access_token=TOKEN, base_url=sim.base_url, sleep=clock.sleep, clock=clock)
    yield sim, client
    client.close()
    sim.stop()


def test_shopify_client_records_each_request_by_operation(shopify):
    sim, client = shopify
    client.shop_info()
    client.shop_info()
    sim.inject_fault("500")
    with pytest.raises(ShopifyTransientError):
        client.shop_info()
    stats = call_metrics.drain()
    operations = {name: value.as_tuple()[:3] for name, value in stats.items()}
    assert len(operations) == 1, operations  # every request named by its GraphQL operation
    ((name, counts),) = operations.items()
    assert counts == (3, 1, 0)
    assert name == "OmniShop"  # the document's operation name
    assert len(sim.requests) == 3


def test_shopify_throttled_answer_is_counted(shopify):
    sim, client = shopify
    client.shop_info()
    sim.drain_bucket(0)  # another worker emptied the bucket: THROTTLED, waited out, retried
    client.shop_info()
    assert sim.throttled_requests == 1
    ((_name, stats),) = call_metrics.drain().items()
    assert stats.as_tuple()[:3] == (3, 0, 1)


def test_stripe_client_records_each_request_with_ids_folded():
    sim = StripeSimulator(api_key="sk_test_monitoring").start()
    try:
        stripe_fixtures = FIXTURES / "stripe"
        sim.load_fixture(stripe_fixtures / "payout.json", stripe_fixtures / "payout_balance_transactions.json")
        sim.inject_fault(429, count=1, path_prefix="/v1/balance_transactions")
        payout_id = sim.payout_ids()[0] if hasattr(sim, "payout_ids") else None
        client = make_client(sim.api_key, sim.base_url, max_network_retries=1)
        payouts = client.v1.payouts.list()
        payout_id = payout_id or payouts.data[0].id
        fetch_settlement(client, payout_id)
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payouts.retrieve("po_1DoesNotExist")
    finally:
        sim.stop()
    stats = {name: value.as_tuple()[:3] for name, value in call_metrics.drain().items()}
    assert stats["GET /v1/payouts"] == (1, 0, 0)
    assert stats["GET /v1/payouts/{id}"] == (2, 1, 0)  # the fixture payout, then the unknown one (404)
    assert stats["GET /v1/balance_transactions"][1:] == (0, 1)  # one 429, retried by the library


def test_stripe_operation_names():
    assert stripe_operation("get", "https://api.stripe.com/v1/payouts/po_1Nx2Y?expand[]=x") == "GET /v1/payouts/{id}"
    assert stripe_operation("post", "/v1/balance_transactions") == "POST /v1/balance_transactions"
