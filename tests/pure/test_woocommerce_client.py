"""The WooCommerce client (real ``woocommerce`` library) against the simulator: OAuth 1.0a as a
store verifies it, pagination, error classes, Retry-After, the batch limit (pure, no Odoo)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import requests

from omni_connector_base.pipeline import call_metrics
from omni_connector_woocommerce.lib.client import WooClient, parse_retry_after
from omni_connector_woocommerce.lib.errors import WooApiError, WooTransientError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

_spec = importlib.util.spec_from_file_location("woocommerce_sim_pure", REPO / "tests/simulators/woocommerce_sim.py")
sim_module = importlib.util.module_from_spec(_spec)
sys.modules["woocommerce_sim_pure"] = sim_module
_spec.loader.exec_module(sim_module)

KEY, SECRET = "ck_pure", "cs_pure"


@pytest.fixture
def sim():
    with sim_module.WooCommerceSimulator(KEY, SECRET) as store:
        yield store


def client(sim, secret=SECRET):
    return WooClient(sim.base_url, KEY, secret, timeout=5)


def test_oauth_signed_requests_are_accepted_and_a_wrong_secret_is_not(sim):
    assert client(sim).store_settings()["woocommerce_currency"] == "USD"
    request = sim.requests[-1]
    assert request["query"]["oauth_signature_method"] == "HMAC-SHA256"
    with pytest.raises(WooApiError) as caught:
        client(sim, "cs_wrong").store_settings()
    assert caught.value.status == 401 and caught.value.code == "woocommerce_rest_authentication_error"
    assert "cs_wrong" not in caught.value.message


def test_server_side_signature_matches_the_library_over_a_repeated_query(sim):
    # The library puts the parameters in the signed URL and again as params=: a store reads them once.
    orders = list(client(sim).iter_orders_modified_after("2026-01-01T00:00:00"))
    assert orders == [] and sim.requests[-1]["status"] == 200


def test_pagination_follows_total_pages_with_100_per_page(sim):
    base = json.loads((FIXTURES / "woocommerce/order.json").read_text())
    for index in range(230):
        sim.add_order(dict(base, id=2000 + index), notify=False)
    woo = client(sim)
    orders = list(woo.iter_orders_modified_after("2020-01-01T00:00:00"))
    assert len(orders) == 230 and woo.calls == 3
    assert all(r["query"]["per_page"] == "100" for r in sim.requests)


def test_per_page_above_100_is_refused_by_the_store(sim):
    with pytest.raises(WooApiError) as caught:
        client(sim)._request("GET", "orders", params={"per_page": 101})
    assert caught.value.code == "rest_invalid_param"


def test_429_and_5xx_are_transient_with_retry_after(sim):
    woo = client(sim)
    sim.inject_fault("429", retry_after=7)
    with pytest.raises(WooTransientError) as caught:
        woo.store_settings()
    assert caught.value.retry_after == 7.0 and caught.value.status == 429
    sim.inject_fault("503")
    with pytest.raises(WooTransientError) as caught:
        woo.store_settings()
    assert caught.value.retry_after is None and caught.value.status == 503
    assert woo.store_settings()["woocommerce_currency"] == "USD"


def test_timeout_is_transient(sim):
    woo = WooClient(sim.base_url, KEY, SECRET, timeout=0.3)
    sim.inject_fault("delay", delay=1.0)
    with pytest.raises(WooTransientError):
        woo.store_settings()


def test_batch_limit_is_the_stores_413(sim):
    woo = client(sim)
    with pytest.raises(WooApiError):
        woo.batch_update_products([{"id": 1}] * 101)  # refused before sending
    assert not sim.requests
    with pytest.raises(WooApiError) as caught:
        woo._request("POST", "products/batch", data={"update": [{"id": 1}] * 60, "delete": [2] * 41})
    assert (caught.value.status, caught.value.code) == (413, "woocommerce_rest_batch_items_limit")


def test_retry_after_as_date():
    from datetime import datetime, timezone  # noqa: PLC0415

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_each_request_is_recorded_in_the_call_metrics_with_ids_folded(sim):
    call_metrics.discard()
    base = json.loads((FIXTURES / "woocommerce/order.json").read_text())
    sim.add_order(dict(base, id=727), notify=False)
    woo = client(sim)
    woo.store_settings()
    sim.inject_fault("429", retry_after=3)
    with pytest.raises(WooTransientError):
        woo._request("GET", "orders/727/refunds")
    woo._request("GET", "orders/727/refunds")
    stats = {name: value.as_tuple()[:3] for name, value in call_metrics.drain().items()}
    refunds = stats.pop("GET orders/{id}/refunds")
    assert refunds == (2, 0, 1)  # calls, errors, throttled
    ((_settings, counts),) = stats.items()
    assert counts == (1, 0, 0)


# ---------------------------------------------------------------- https: Basic auth


@pytest.fixture
def tls_sim():
    with sim_module.WooCommerceSimulator(KEY, SECRET, tls=True) as store:
        yield store


def test_https_store_takes_basic_auth_from_the_library_with_a_trusted_certificate(tls_sim):
    assert tls_sim.base_url.startswith("https://127.0.0.1:")
    woo = WooClient(tls_sim.base_url, KEY, SECRET, timeout=5, verify_ssl=tls_sim.ca_file)
    assert woo.store_settings()["woocommerce_currency"] == "USD"
    base = json.loads((FIXTURES / "woocommerce/order.json").read_text())
    for index in range(150):
        tls_sim.add_order(dict(base, id=4000 + index), notify=False)
    assert len(list(woo.iter_orders_modified_after("2020-01-01T00:00:00"))) == 150
    assert {r["auth"] for r in tls_sim.requests} == {"basic"}
    assert not any(key.startswith("oauth_") or key.startswith("consumer_") for r in tls_sim.requests
                   for key in r["query"]), "Basic auth: no signature and no keys in the URL"
    with pytest.raises(WooApiError) as caught:
        WooClient(tls_sim.base_url, KEY, "cs_wrong", timeout=5, verify_ssl=tls_sim.ca_file).store_settings()
    assert caught.value.status == 401 and "Consumer secret is invalid" in caught.value.message
    with pytest.raises(WooApiError) as caught:
        WooClient(tls_sim.base_url, "ck_wrong", SECRET, timeout=5, verify_ssl=tls_sim.ca_file).store_settings()
    assert caught.value.status == 401 and "Consumer key is invalid" in caught.value.message


def test_https_keys_in_the_query_string_when_asked(tls_sim):
    woo = WooClient(tls_sim.base_url, KEY, SECRET, timeout=5, verify_ssl=tls_sim.ca_file, query_string_auth=True)
    assert woo.store_settings()["woocommerce_currency"] == "USD"
    request = tls_sim.requests[-1]
    assert request["auth"] == "query" and request["query"]["consumer_key"] == KEY


def test_https_certificate_is_verified(tls_sim):
    # The test CA is trusted by nobody else: with the system's trust store the handshake fails,
    # a transient error (the store may be fixed), never a silent plain-text fallback.
    woo = WooClient(tls_sim.base_url, KEY, SECRET, timeout=5, verify_ssl=True)
    with pytest.raises(WooTransientError) as caught:
        woo.store_settings()
    assert "unreachable" in caught.value.message and "SSLError" in caught.value.message
    assert not tls_sim.requests


def test_http_store_ignores_basic_auth_and_takes_only_oauth(sim):
    # Over http a store ignores an Authorization header (Basic auth is for SSL only): the
    # library's OAuth 1.0a signature is what authenticates.
    response = requests.get(f"{sim.base_url}/wp-json/wc/v3/settings/general", auth=(KEY, SECRET), timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_authentication_error"
    assert client(sim).store_settings()["woocommerce_currency"] == "USD"
    assert sim.requests[-1]["auth"] == "oauth1"
    assert sim.requests[-1]["query"]["oauth_signature_method"] == "HMAC-SHA256"


def test_orders_modified_page_newest_first_with_the_next_page(sim):
    base = json.loads((FIXTURES / "woocommerce/order.json").read_text())
    for index in range(230):
        modified = f"2026-11-21T17:{index // 60:02d}:{index % 60:02d}"
        sim.add_order(dict(base, id=2000 + index, date_modified_gmt=modified), notify=False)
    woo = client(sim)
    orders, next_page, pages = woo.orders_modified_page("2020-01-01T00:00:00", 1)
    assert (len(orders), next_page, pages) == (100, 2, 3)
    assert orders[0]["id"] == 2229 and sim.requests[-1]["query"]["order"] == "desc"
    orders, next_page, pages = woo.orders_modified_page("2020-01-01T00:00:00", 3)
    assert (len(orders), next_page, pages) == (30, None, 3)
