"""The SP-API client (the real python-amazon-sp-api) against the local simulator: paging, datasets,
the lastUpdatedBefore rule, usage plans and 429s, faults, tokens, feeds, inventory and reports."""

import gzip
import json

import pytest
from conftest import FIXTURES

from omni_connector_marketplace.lib import amazon_client
from omni_connector_marketplace.lib.amazon_client import (
    RATE_LIMITS,
    AmazonClient,
    AmazonError,
    AmazonThrottled,
    AmazonTransientError,
    RateLimiter,
    credentials_fingerprint,
    parse_rate_limit,
)
from tests.simulators.amazon_sim import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, AmazonSimulator, FakeClock, make_order

UNLIMITED = {op: (1000.0, 1000) for op in RATE_LIMITS}


@pytest.fixture
def sim():
    simulator = AmazonSimulator().start()
    yield simulator
    simulator.stop()


def client_for(sim, limiter=None, **kwargs):
    amazon_client._TOKENS.clear()
    return AmazonClient(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, endpoint=sim.base_url, token_url=sim.token_url,
                        limiter=limiter or RateLimiter(UNLIMITED), timeout=kwargs.pop("timeout", 5), **kwargs)


def seed(sim, count, prefix="114"):
    for index in range(count):
        sim.add_order(make_order(f"{prefix}-{index:07d}-0000001",
                                 updated=f"2026-11-12T10:{index // 60:02d}:{index % 60:02d}Z"))


def test_search_pages_and_datasets(sim):
    seed(sim, 150)
    client = client_for(sim)
    orders, token, before = client.search_orders("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z",
                                                 included_data=("FULFILLMENT", "PROCEEDS"))
    assert len(orders) == 100 and token and before == "2026-11-30T00:00:00Z"
    assert "buyer" not in orders[0] and "recipient" not in orders[0], "only the datasets asked for"
    assert "proceeds" in orders[0]["orderItems"][0]
    rest, token2, _before = client.search_orders("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z",
                                                 pagination_token=token)
    assert len(rest) == 50 and token2 is None
    assert len({o["orderId"] for o in orders + rest}) == 150


def test_library_marketplace_parameters_are_tolerated(sim):
    seed(sim, 1)
    client = client_for(sim)
    client.get_order("114-0000000-0000001")
    assert sim.calls["getOrder"] == 1
    summaries = list(client.iter_inventory_summaries("ATVPDKIKX0DER"))
    assert summaries == []
    operation, query = sim.requests[-1]
    assert operation == "getInventorySummaries"
    assert query["marketplaceIds"] == ["ATVPDKIKX0DER"]


def test_last_updated_before_must_be_two_minutes_old(sim):
    from datetime import datetime, timedelta, timezone  # noqa: PLC0415

    client = client_for(sim)
    too_recent = (datetime.now(timezone.utc) - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(AmazonError) as caught:
        client.search_orders("2026-11-01T00:00:00Z", too_recent)
    assert caught.value.status == 400


def test_429_maps_to_retry_at_the_announced_rate(sim):
    client = client_for(sim)
    for _ in range(20):
        sim._check_rate("searchOrders")
    with pytest.raises(AmazonThrottled) as caught:
        client.search_orders("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z")
    assert caught.value.retry_after == pytest.approx(1 / 0.0056, rel=0.01)
    assert isinstance(caught.value, AmazonTransientError)
    assert parse_rate_limit("0.0056") == 0.0056 and parse_rate_limit("x") is None


def test_client_bucket_waits_a_little_or_raises_without_sleeping():
    clock = FakeClock(0)
    limiter = RateLimiter({"getInventorySummaries": (2.0, 2), "searchOrders": (0.0056, 20)}, clock=clock,
                          sleep=clock.sleep)
    for _ in range(2):
        limiter.acquire("getInventorySummaries")
    waited = limiter.acquire("getInventorySummaries", max_wait=2)
    assert 0.5 <= waited < 0.6 and clock.sleeps == [waited]
    for _ in range(20):
        limiter.acquire("searchOrders")
    with pytest.raises(AmazonThrottled) as caught:
        limiter.acquire("searchOrders", max_wait=2)
    assert caught.value.retry_after > 170
    assert len(clock.sleeps) == 1, "a long wait is never slept"


def test_5xx_and_timeouts_are_transient(sim):
    seed(sim, 1)
    client = client_for(sim, timeout=0.5)
    sim.fail_next("getOrder", 503)
    with pytest.raises(AmazonTransientError):
        client.get_order("114-0000000-0000001")
    sim.fail_next("getOrder", "timeout", delay=1.0)
    with pytest.raises(AmazonTransientError) as caught:
        client.get_order("114-0000000-0000001")
    assert "timed out" in caught.value.message
    assert client.get_order("114-0000000-0000001")["orderId"] == "114-0000000-0000001"
    with pytest.raises(AmazonError) as caught:
        client.get_order("114-nope")
    assert caught.value.status == 404 and not isinstance(caught.value, AmazonTransientError)


def test_token_cache_follows_the_credentials(sim):
    seed(sim, 1)
    client = client_for(sim)
    client.get_order("114-0000000-0000001")
    client.get_order("114-0000000-0000001")
    assert sim.token_requests == 1
    assert client.fingerprint in amazon_client._TOKENS
    assert client.fingerprint != credentials_fingerprint(CLIENT_ID, "other", REFRESH_TOKEN, sim.token_url)
    client.close()
    assert client.fingerprint not in amazon_client._TOKENS
    sim.rotate_secret("rotated")
    rotated = AmazonClient(CLIENT_ID, "rotated", REFRESH_TOKEN, endpoint=sim.base_url, token_url=sim.token_url,
                           limiter=RateLimiter(UNLIMITED))
    rotated.get_order("114-0000000-0000001")
    assert sim.token_requests == 2
    stale = AmazonClient(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, endpoint=sim.base_url, token_url=sim.token_url)
    with pytest.raises(AmazonError) as caught:
        stale.get_order("114-0000000-0000001")
    assert "refused the credentials" in caught.value.message
    assert CLIENT_SECRET not in caught.value.message


def test_confirm_shipment_partial(sim):
    sim.add_order(make_order("114-1", quantity=3, item_id="I1"))
    client = client_for(sim)
    package = {"packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z",
               "shipDate": "2026-11-12T10:00:00Z", "orderItems": [{"orderItemId": "I1", "quantity": 2}]}
    client.confirm_shipment("114-1", "ATVPDKIKX0DER", package)
    assert sim.orders["114-1"]["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    with pytest.raises(AmazonError):
        client.confirm_shipment("114-1", "ATVPDKIKX0DER", dict(package, packageReferenceId="2",
                                                                 orderItems=[{"orderItemId": "I1", "quantity": 2}]))
    client.confirm_shipment("114-1", "ATVPDKIKX0DER", dict(package, packageReferenceId="3",
                                                             orderItems=[{"orderItemId": "I1", "quantity": 1}]))
    assert sim.orders["114-1"]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def test_listings_feed_round_trip(sim):
    client = client_for(sim)
    sim.unknown_skus = {"B"}
    document = json.dumps({"header": {"sellerId": sim.seller_id, "version": "2.0"}, "messages": [
        {"messageId": n, "sku": sku, "operationType": "PARTIAL_UPDATE", "productType": "PRODUCT",
         "attributes": {"fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]}}
        for n, sku in enumerate(("A", "B"), start=1)]})
    feed_id = client.submit_feed(document, ["ATVPDKIKX0DER"])
    feed = client.get_feed(feed_id)
    assert feed["processingStatus"] == "DONE"
    report = json.loads(client.get_feed_result(feed["resultFeedDocumentId"]))
    assert [issue["sku"] for issue in report["issues"]] == ["B"]
    assert sim.listing_quantities == {"A": 4}
    assert (sim.calls["createFeedDocument"], sim.calls["createFeed"]) == (1, 1)


def test_inventory_pages_and_token_expiry(sim):
    clock = FakeClock()
    sim.clock = clock
    sim.rate_limits_enabled = False  # the fake clock does not move: the usage plan is not the subject here
    sim.set_inventory("ATVPDKIKX0DER", {f"S{i:03d}": i for i in range(120)})
    client = client_for(sim)
    assert len(list(client.iter_inventory_summaries("ATVPDKIKX0DER"))) == 120
    assert sim.calls["getInventorySummaries"] == 3
    pages = client.iter_inventory_summaries("ATVPDKIKX0DER")
    for _ in range(50):
        next(pages)
    clock.advance(31)  # the nextToken lives 30 s: paging must not pause
    with pytest.raises(AmazonError):
        next(pages)


def test_settlement_reports_gzip(sim):
    clock = FakeClock()
    sim.clock = clock
    text = (FIXTURES / "amazon" / "settlement_v2.tsv").read_text()
    sim.add_settlement_report(text)
    client = client_for(sim)
    reports = client.list_settlement_reports()
    assert len(reports) == 1 and reports[0]["reportType"] == "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
    assert gzip.decompress(sim.documents[reports[0]["reportDocumentId"]]["content"]).decode() == text
    assert client.get_report_document(reports[0]["reportDocumentId"]) == text


def test_each_request_is_recorded_in_the_call_metrics_by_operation(sim):
    """Base's call metrics hook (CONNECTORS.md): one count per request sent, by SP-API operation, the LWA
    token calls apart; 429 throttled, 4xx/5xx and timeouts errors; what our own bucket refused is not sent
    and not counted."""
    from omni_connector_base.pipeline import call_metrics  # noqa: PLC0415

    call_metrics.discard()
    seed(sim, 2)
    sim.set_inventory("ATVPDKIKX0DER", {"S1": 3})
    sim.add_settlement_report((FIXTURES / "amazon" / "settlement_v2.tsv").read_text())
    client = client_for(sim, timeout=0.5)
    client.search_orders("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z")
    client.get_order("114-0000000-0000001")
    with pytest.raises(AmazonError):
        client.get_order("114-nope")  # 404
    sim.fail_next("getOrder", 503)
    with pytest.raises(AmazonTransientError):
        client.get_order("114-0000001-0000001")
    sim.fail_next("getOrder", "timeout", delay=1.0)
    with pytest.raises(AmazonTransientError):
        client.get_order("114-0000001-0000001")
    for _ in range(19):  # burst 20, one used above
        sim._check_rate("searchOrders")  # another process spent Amazon's searchOrders bucket
    with pytest.raises(AmazonThrottled):
        client.search_orders("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z")
    sim.add_order(make_order("114-9", item_id="I9"))
    client.confirm_shipment("114-9", "ATVPDKIKX0DER", {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z", "shipDate": "2026-11-12T10:00:00Z",
        "orderItems": [{"orderItemId": "I9", "quantity": 1}]})
    feed_id = client.submit_feed(json.dumps({"header": {"sellerId": sim.seller_id, "version": "2.0"}, "messages": []}),
                                 ["ATVPDKIKX0DER"])
    client.get_feed_result(client.get_feed(feed_id)["resultFeedDocumentId"])
    assert len(list(client.iter_inventory_summaries("ATVPDKIKX0DER"))) == 1
    (report,) = client.list_settlement_reports()
    client.get_report_document(report["reportDocumentId"])
    sim.revoke_tokens()
    amazon_client._TOKENS.clear()  # the cached token is gone: one more LWA call before the next request
    client.get_order("114-0000000-0000001")

    stats = {name: value.as_tuple()[:3] for name, value in call_metrics.drain().items()}
    assert stats == {
        # calls, errors, throttled
        "getLwaAccessToken": (2, 0, 0),
        "searchOrders": (2, 0, 1),
        "getOrder": (5, 3, 0),  # ok, 404, 503, timeout, ok
        "confirmShipment": (1, 0, 0),
        "createFeedDocument": (1, 0, 0),
        "uploadFeedDocument": (1, 0, 0),
        "createFeed": (1, 0, 0),
        "getFeed": (1, 0, 0),
        "getFeedDocument": (1, 0, 0),
        "getInventorySummaries": (1, 0, 0),
        "getReports": (1, 0, 0),
        "getReportDocument": (1, 0, 0),
    }, stats
    assert sim.token_requests == 2

    # the client's own bucket refuses before sending: nothing is recorded
    limited = client_for(sim, limiter=RateLimiter({"getOrder": (0.001, 1)}))
    limited.get_order("114-0000000-0000001")
    with pytest.raises(AmazonThrottled) as caught:
        limited.get_order("114-0000000-0000001")
    assert caught.value.client_side
    stats = {name: value.as_tuple()[:3] for name, value in call_metrics.drain().items()}
    assert stats == {"getLwaAccessToken": (1, 0, 0), "getOrder": (1, 0, 0)}
