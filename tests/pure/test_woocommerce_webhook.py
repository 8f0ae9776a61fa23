"""WooCommerce webhook signatures, pings and event keys (pure)."""

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from omni_connector_woocommerce.lib import webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

SECRET = "woo-secret"
BODY = (FIXTURES / "woocommerce" / "order.json").read_bytes()


def headers(body=BODY, secret=SECRET, topic="order.created"):
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        "X-WC-Webhook-Delivery-ID": "77",
    }


def test_valid_signature_over_the_raw_body():
    assert webhook.verify_webhook(BODY, headers(), SECRET) == (True, "")
    assert webhook.sign(BODY, SECRET) == headers()["X-WC-Webhook-Signature"]


def test_tampered_or_reserialized_body_and_wrong_secret_are_refused():
    assert webhook.verify_webhook(BODY + b" ", headers(), SECRET) == (False, "bad signature")
    assert webhook.verify_webhook(BODY, headers(secret="other"), SECRET) == (False, "bad signature")
    assert webhook.verify_webhook(BODY, headers(), "") == (False, "no webhook secret configured")


def test_missing_signature_is_refused_unless_it_is_the_creation_ping():
    assert webhook.verify_webhook(BODY, {"X-WC-Webhook-Topic": "order.created"}, SECRET) == (
        False, "missing signature")
    assert webhook.verify_webhook(b"webhook_id=12", {}, SECRET) == (True, "")
    assert webhook.ping_webhook_id(b"webhook_id=12", {}) == 12
    assert webhook.ping_webhook_id(b"webhook_id=12", {"X-WC-Webhook-Topic": "order.created"}) is None
    assert webhook.ping_webhook_id(b"webhook_id=12&x=1", {}) is None
    assert webhook.webhook_event_values(b"webhook_id=12", {}, None) is None


@pytest.mark.parametrize("odd", [None, "text", 42, b"", object()])
def test_odd_input_never_raises(odd):
    ok, _reason = webhook.verify_webhook(odd, {"X-WC-Webhook-Signature": "x"}, SECRET)
    assert ok is False
    assert webhook.verify_webhook(BODY, odd, SECRET)[0] is False


def test_event_keys_are_id_modified_and_topic_not_the_delivery_id():
    import json  # noqa: PLC0415

    payload = json.loads(BODY)
    values = webhook.webhook_event_values(BODY, headers(), payload)
    assert values["idempotency_key"] == "727:2026-11-21T17:28:09:order.created"
    assert (values["topic"], values["resource_key"], values["resource_model"]) == (
        "order.created", "727", "sale.order")
    assert values["source_ts"].isoformat() == "2026-11-21T17:28:09"
    redelivered = dict(headers(), **{"X-WC-Webhook-Delivery-ID": "78"})
    assert webhook.webhook_event_values(BODY, redelivered, payload) == values
    updated = webhook.webhook_event_values(BODY, headers(topic="order.updated"), payload)
    assert updated["idempotency_key"] != values["idempotency_key"]


def test_deleted_body_has_a_stable_key():
    body = b'{"id": 727}'
    first = webhook.webhook_event_values(body, headers(body, topic="order.deleted"), {"id": 727})
    second = webhook.webhook_event_values(body, headers(body, topic="order.deleted"), {"id": 727})
    assert first == second and first["resource_key"] == "727" and first["source_ts"] is False
