"""Odoo-free pipeline pieces: backoff, signatures, masking, timestamps, error classes."""

import base64
import hashlib
import hmac
import random
from datetime import datetime

from omni_connector_base.pipeline.backoff import parse_retry_after, retry_delay
from omni_connector_base.pipeline.errors import BusinessError, TransientError
from omni_connector_base.pipeline.masking import mask_email, mask_text
from omni_connector_base.pipeline.signatures import (
    hmac_sha256_base64,
    payload_digest,
    verify_hmac_sha256_base64,
)
from omni_connector_base.pipeline.timestamps import parse_utc


def test_backoff_doubles_within_jitter_bounds():
    low = [round(retry_delay(n, 30, rng=lambda: 0.0), 6) for n in range(1, 6)]
    high = [round(retry_delay(n, 30, rng=lambda: 1.0), 6) for n in range(1, 6)]
    assert low == [24.0, 48.0, 96.0, 192.0, 384.0]
    assert high == [36.0, 72.0, 144.0, 288.0, 576.0]


def test_backoff_is_capped_and_retry_after_is_a_floor():
    assert retry_delay(40, 30, rng=lambda: 0.5) == 6 * 3600
    assert retry_delay(1, 30, retry_after=120, rng=lambda: 0.5) == 120
    assert retry_delay(5, 30, retry_after=1, rng=lambda: 0.5) == 480


def test_backoff_jitter_spreads_simultaneous_failures():
    rng = random.Random(7)
    delays = {round(retry_delay(3, 30, rng=rng.random), 3) for _ in range(50)}
    assert len(delays) > 40
    assert all(96 <= delay <= 144 for delay in delays)


def test_parse_retry_after():
    assert parse_retry_after("2.0") == 2.0
    assert parse_retry_after(" 10 ") == 10.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-3") is None


def test_signature_matches_shopify_algorithm():
    body = b'{"id": 1042, "total_price": "70.60"}'
    expected = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert hmac_sha256_base64("secret", body) == expected
    assert verify_hmac_sha256_base64("secret", body, expected)
    assert not verify_hmac_sha256_base64("secret", body + b" ", expected)
    assert not verify_hmac_sha256_base64("other", body, expected)
    assert not verify_hmac_sha256_base64("secret", body, None)
    assert not verify_hmac_sha256_base64("", body, expected)
    assert payload_digest(body) == hashlib.sha256(body).hexdigest()


def test_masking_hides_personal_data():
    assert mask_email("jane.doe@example.com") == "j***@e***.com"
    text = mask_text("Customer jane.doe@example.com (+49 170 1234567) on order #1042 of 2026-11-01")
    assert "jane.doe" not in text and "1234567" not in text
    assert "#1042" in text and "2026-11-01" in text
    assert len(mask_text("x" * 5000, limit=100)) == 101


def test_parse_utc():
    assert parse_utc("2026-11-01T12:00:00+02:00") == datetime(2026, 11, 1, 10, 0)
    assert parse_utc("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, 0)
    assert parse_utc("2026-11-01T10:00:00") == datetime(2026, 11, 1, 10, 0)
    assert parse_utc("yesterday") is None
    assert parse_utc(None) is None
    assert parse_utc(12) is None


def test_error_classes_carry_what_the_processor_needs():
    transient = TransientError("429", retry_after=3)
    assert transient.retry_after == 3 and transient.category == "channel_api"
    business = BusinessError("Unknown SKU X", record=("sale.order", 5), actions=["map_product"], data={"sku": "X"})
    assert business.actions == ("map_product",) and business.data == {"sku": "X"}
    assert BusinessError("x", category="validation").category == "validation"
