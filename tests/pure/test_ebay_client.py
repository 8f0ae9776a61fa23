"""The eBay client against the local simulator: OAuth, filter encoding, paging, signing, errors."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import FIXTURES

from omni_connector_base.pipeline import call_metrics
from omni_connector_base.pipeline.errors import BusinessError, TransientError
from omni_connector_marketplace.lib.ebay_client import (
    EbayApiError,
    EbayClient,
    EbayTransientError,
    ebay_operation,
    encode_filter,
    format_ebay_time,
)
from tests.simulators.ebay_sim import EbaySimulator, make_order

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture
def sim():
    with EbaySimulator() as simulator:
        yield simulator


def client_for(sim, signed=True, **kwargs):
    return EbayClient(app_id=sim.app_id, cert_id=sim.cert_id, refresh_token=sim.refresh_token,
                      token_url=sim.token_url, api_base=sim.base_url, finances_base=sim.base_url,
                      signing_key=sim.signing_private_pem if signed else None,
                      signing_jwe=sim.signing_jwe if signed else None, **kwargs)


def test_time_and_filter_encoding():
    assert format_ebay_time(datetime(2026, 11, 8, 1, 2, 3, 456000, tzinfo=timezone.utc)) == "2026-11-08T01:02:03.456Z"
    assert encode_filter("lastmodifieddate:[2026-11-08T00:00:00.000Z..]") == \
        "lastmodifieddate:%5B2026-11-08T00:00:00.000Z..%5D"
    assert encode_filter("payoutId:{66}") == "payoutId:%7B66%7D"


def test_orders_are_paged_by_200_with_an_encoded_filter(sim):
    for i in range(450):
        sim.add_order(make_order(f"01-{i:05d}-00001", T0 + timedelta(minutes=i)))
    client = client_for(sim)
    seen = [order["orderId"] for _offset, order in client.iter_orders(T0 + timedelta(minutes=10))]
    assert len(seen) == 440 and len(set(seen)) == 440
    order_calls = [q for m, p, q in sim.requests_log if p == "/sell/fulfillment/v1/order"]
    assert len(order_calls) == 3
    assert all("%5B" in q and "[" not in q and "fieldGroups=TAX_BREAKDOWN" in q for q in order_calls)
    assert ["offset=0" in order_calls[0], "offset=200" in order_calls[1], "offset=400" in order_calls[2]] == [True] * 3


def test_token_is_reused_and_renewed_after_a_401(sim):
    client = client_for(sim)
    client.get_user()
    client.get_user()
    assert sum(1 for _m, p, _q in sim.requests_log if p.endswith("/token")) == 1
    sim.tokens.clear()  # eBay revoked the access token
    assert client.get_user()["username"] == "northwind-goods"
    assert sum(1 for _m, p, _q in sim.requests_log if p.endswith("/token")) == 2


def test_wrong_refresh_token_is_a_business_error(sim):
    client = client_for(sim)
    client.refresh_token = "revoked"
    with pytest.raises(EbayApiError) as caught:
        client.get_user()
    assert isinstance(caught.value, BusinessError) and "revoked" not in caught.value.message


def test_429_and_5xx_are_transient_and_the_client_never_sleeps(sim):
    client = client_for(sim)
    client.get_user()
    sim.inject_fault("429", 1, retry_after=7)
    with pytest.raises(EbayTransientError) as caught:
        client.get_user()
    assert isinstance(caught.value, TransientError) and caught.value.retry_after == 7
    sim.inject_fault("503", 1)
    with pytest.raises(EbayTransientError) as caught:
        client.get_user()
    assert caught.value.status == 503 and caught.value.retry_after
    assert client.get_user()["username"]


def test_unknown_order_is_a_business_error(sim):
    with pytest.raises(EbayApiError) as caught:
        client_for(sim).get_order("99-99999-99999")
    assert caught.value.status == 404


def test_signed_finances_calls_are_accepted_and_unsigned_refused(sim):
    payout = json.loads((FIXTURES / "ebay" / "payout.json").read_text())["payouts"][0]
    transactions = json.loads((FIXTURES / "ebay" / "transactions.json").read_text())["transactions"]
    sim.add_payout(payout, transactions)
    signed = client_for(sim)
    assert [p["payoutId"] for p in signed.iter_payouts(T0, status="SUCCEEDED")] == ["6612458093"]
    assert len(list(signed.iter_transactions("6612458093"))) == 5
    assert sim.signed_requests == 2 and sim.signature_failures == 0
    with pytest.raises(EbayApiError) as caught:
        list(client_for(sim, signed=False).iter_payouts(T0))
    assert "215120" in caught.value.message and sim.signature_failures == 1
    # A key pair that is not the one eBay issued is refused as well.
    other = client_for(sim)
    other.signing_jwe = "eyJ.other"
    with pytest.raises(EbayApiError):
        list(other.iter_payouts(T0))


def test_shipping_fulfillment_partial_then_rest(sim):
    sim.add_order(make_order("05-00001-00001", T0, skus=(("A", 2, "20.00"),)))
    client = client_for(sim)
    line_id = sim.orders["05-00001-00001"]["lineItems"][0]["lineItemId"]
    payload = {"lineItems": [{"lineItemId": line_id, "quantity": 1}], "shippingCarrierCode": "USPS",
               "trackingNumber": "9400100000000000000001", "shippedDate": "2026-11-02T00:00:00.000Z"}
    assert client.create_shipping_fulfillment("05-00001-00001", payload) == "9400100000000000000001"
    assert sim.orders["05-00001-00001"]["orderFulfillmentStatus"] == "IN_PROGRESS"
    payload["trackingNumber"] = "9400100000000000000002"
    client.create_shipping_fulfillment("05-00001-00001", payload)
    assert sim.orders["05-00001-00001"]["orderFulfillmentStatus"] == "FULFILLED"
    with pytest.raises(EbayApiError):
        client.create_shipping_fulfillment("05-00001-00001", dict(payload, trackingNumber="3"))


def test_bulk_update_takes_25_and_counts_revisions(sim):
    client = client_for(sim)
    with pytest.raises(ValueError, match="25"):
        client.bulk_update_price_quantity([{"sku": str(i)} for i in range(26)])
    sim.revision_limit = 2
    entry = [{"sku": "A", "shipToLocationAvailability": {"quantity": 3}}]
    assert client.bulk_update_price_quantity(entry)[0]["statusCode"] == 200
    assert client.bulk_update_price_quantity(entry)[0]["statusCode"] == 200
    refused = client.bulk_update_price_quantity(entry)[0]
    assert refused["statusCode"] == 400 and refused["errors"][0]["errorId"] == 25019


def test_notification_public_key_needs_an_application_token(sim):
    answer = client_for(sim).get_notification_public_key(sim.notification_kid)
    assert answer["algorithm"] == "ECDSA" and "BEGIN PUBLIC KEY" in answer["key"]
    assert {kind for kind in sim.tokens.values()} == {"app"}


def test_each_request_is_recorded_in_the_call_metrics_with_ids_folded(sim):
    call_metrics.discard()
    for order_id in ("07-00001-00001", "07-00002-00002"):
        sim.add_order(make_order(order_id, T0))
    client = client_for(sim)
    client.get_order("07-00001-00001")
    sim.inject_fault("429", 1, retry_after=3)
    with pytest.raises(EbayTransientError):
        client.get_order("07-00002-00002")
    sim.tokens.clear()  # a revoked token: a 401, a new token, the call again
    client.get_order("07-00002-00002")
    stats = {name: value.as_tuple()[:3] for name, value in call_metrics.drain().items()}
    assert stats == {
        "POST /identity/v1/oauth2/token": (2, 0, 0),
        "GET /sell/fulfillment/v1/order/{id}": (4, 1, 1),  # calls, errors (the 401), throttled
    }
    assert client.calls == 6


def test_operation_labels_fold_ids_by_position():
    assert ebay_operation("POST", "/sell/fulfillment/v1/order/12-34567-89012/shipping_fulfillment") == \
        "POST /sell/fulfillment/v1/order/{id}/shipping_fulfillment"
    assert ebay_operation("GET", "/commerce/notification/v1/public_key/abc?x=1") == \
        "GET /commerce/notification/v1/public_key/{id}"
    assert ebay_operation("GET", "/sell/finances/v1/payout") == "GET /sell/finances/v1/payout"
    assert ebay_operation("GET", "/commerce/identity/v1/user/") == "GET /commerce/identity/v1/user/"
