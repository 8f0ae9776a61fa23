"""Payload retention (governance): personal data out of stored payloads of every channel shape, the
fields the trace, idempotency and digests need kept (``omni_connector_base/pipeline/pii.py``)."""

import json

import pytest
from conftest import FIXTURES

from omni_connector_base.pipeline.pii import strip_payload, strip_personal

CASES = ("shopify/orders_create.json", "woocommerce/order.json", "ebay/orders.json", "amazon/order_v2026_get_mfn.json")
PERSONAL_KEYS = {"email", "phone", "first_name", "last_name", "address1", "zip", "postcode", "address_1",
                 "fullName", "phoneNumber", "addressLine1", "postalCode", "buyerEmail", "buyerName", "username",
                 "name", "city", "note", "customer_note", "browser_ip", "company"}
PERSON_OBJECTS = {"customer", "billing_address", "shipping_address", "billing", "shipping", "buyer", "recipient",
                  "shipTo", "deliveryAddress", "contactAddress", "buyerRegistrationAddress"}


def _personal_values(data, inside=False):
    """Every non-empty scalar under a personal key inside a person object, or a top-level personal field."""
    found = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                found |= _personal_values(value, inside or key in PERSON_OBJECTS)
            elif value not in (None, "") and (key in PERSONAL_KEYS and (inside or key != "name")) \
                    and isinstance(value, str) and len(value) > 3:
                found.add(value)
    elif isinstance(data, list):
        for item in data:
            found |= _personal_values(item, inside)
    return found


def _scalars(data, keys):
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "note_attributes":  # free text the customer typed: removed on purpose
                continue
            if key in keys and not isinstance(value, (dict, list)):
                out.append((key, value))
            out += _scalars(value, keys)
    elif isinstance(data, list):
        for item in data:
            out += _scalars(item, keys)
    return sorted(out, key=repr)


KEPT_KEYS = {"id", "orderId", "legacyOrderId", "sku", "sellerSku", "total", "total_price", "price", "quantity",
             "created_at", "updated_at", "date_modified_gmt", "lastModifiedDate", "lastUpdatedTime", "currency",
             "currencyCode", "value", "amount", "transaction_id", "gateway", "financial_status", "status",
             "country_code", "countryCode", "stateOrProvince", "stateOrRegion", "state", "lineItemId",
             "orderItemId", "admin_graphql_api_id", "customer_id"}


@pytest.mark.parametrize("name", CASES)
def test_personal_data_goes_ids_totals_skus_timestamps_stay(name):
    text = (FIXTURES / name).read_text(encoding="utf-8")
    original = json.loads(text)
    personal = _personal_values(original)
    assert personal, "the fixture carries personal data to remove"
    stripped_text, removed = strip_payload(text)
    assert removed >= len(personal) // 2
    for value in personal:
        assert value not in stripped_text, value
    stripped = json.loads(stripped_text)
    assert _scalars(stripped, KEPT_KEYS) == _scalars(original, KEPT_KEYS)


def test_shopify_order_keeps_what_the_trace_shows():
    stripped = json.loads(strip_payload((FIXTURES / "shopify/orders_create.json").read_text())[0])
    assert (stripped["id"], stripped["name"], stripped["total_price"]) == (5829417091234, "#1042", "70.60")
    assert stripped["customer"]["id"] == 7012345678901
    assert stripped["email"] is None and stripped["customer"]["email"] is None
    assert stripped["shipping_address"]["country_code"] == "DE"
    assert [line["sku"] for line in stripped["line_items"]] == ["TSHIRT-BLK-M", "MUG-CLASSIC"]
    assert stripped["line_items"][0]["name"].startswith("Organic T-Shirt"), "product names stay"


def test_idempotent_and_nothing_to_remove_keeps_the_text():
    text = (FIXTURES / "woocommerce/order.json").read_text()
    once, removed = strip_payload(text)
    assert removed
    assert strip_payload(once) == (once, 0)
    body = '{"sku": "MUG", "available": 3}'
    assert strip_payload(body) == (body, 0)


def test_key_spellings_and_canonical_json():
    canonical = {"external_id": "A1", "customer": {"external_id": "C9", "email": "ann@example.com",
                                                   "first_name": "Ann"},
                 "ShippingAddress": {"Name": "Ann Lee", "CountryCode": "FR", "Street1": "1 rue X"},
                 "lines": [{"sku": "S", "quantity": "1", "customer-note": "ring twice"}]}
    stripped, removed = strip_personal(canonical)
    assert removed == 5
    assert stripped["customer"] == {"external_id": "C9", "email": None, "first_name": None}
    assert stripped["ShippingAddress"] == {"Name": None, "CountryCode": "FR", "Street1": None}
    assert stripped["lines"] == [{"sku": "S", "quantity": "1", "customer-note": None}]


@pytest.mark.parametrize("body", ["", None, "not json", "[1, 2", "\x00"])
def test_odd_bodies(body):
    text, _removed = strip_payload(body)
    assert text == ""
