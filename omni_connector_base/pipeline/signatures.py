"""HMAC signatures over the raw request body, as Shopify and WooCommerce sign them."""

import base64
import hashlib
import hmac


def hmac_sha256_base64(secret, raw_body):
    """Base64 of HMAC-SHA256 of ``raw_body`` keyed by ``secret``."""
    if isinstance(secret, str):
        secret = secret.encode()
    return base64.b64encode(hmac.new(secret, raw_body, hashlib.sha256).digest()).decode()


def verify_hmac_sha256_base64(secret, raw_body, signature):
    """Constant-time check of a base64 HMAC-SHA256 signature; False when anything is missing."""
    if not secret or not signature:
        return False
    expected = hmac_sha256_base64(secret, raw_body)
    return hmac.compare_digest(expected.encode(), str(signature).strip().encode())


def payload_digest(raw_body):
    """Stable digest of a body, used as a fallback idempotency key and change detector."""
    if isinstance(raw_body, str):
        raw_body = raw_body.encode()
    return hashlib.sha256(raw_body).hexdigest()
