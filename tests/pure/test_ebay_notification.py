"""eBay Marketplace Account Deletion: challenge response and ECDSA signature."""

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from omni_connector_marketplace.lib import ebay_notification as n


def _keys():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem.replace("\n", "")  # as eBay answers it


def test_challenge_response_is_sha256_of_code_token_endpoint():
    expected = hashlib.sha256(b"abc" + b"tok" + b"https://erp.example.com/omni/webhook/3").hexdigest()
    assert n.challenge_response("abc", "tok", "https://erp.example.com/omni/webhook/3") == expected


def test_good_signature_verifies_and_tampering_does_not():
    key, pem = _keys()
    body = b'{"metadata":{"topic":"MARKETPLACE_ACCOUNT_DELETION"}}'
    header = n.sign_notification(body, key, "kid-1")
    assert n.parse_signature_header(header)["kid"] == "kid-1"
    assert n.verify_notification(body, header, pem) == (True, "")
    assert n.verify_notification(body + b" ", header, pem)[0] is False
    _other, other_pem = _keys()
    assert n.verify_notification(body, header, other_pem)[0] is False


def test_odd_headers_never_raise():
    _key, pem = _keys()
    for header in (None, "", "!!!", "e30=", "bm90IGpzb24="):
        assert n.verify_notification(b"{}", header, pem)[0] is False


def test_public_key_cache_keeps_the_key_an_hour():
    now = [0.0]
    cache = n.PublicKeyCache(lambda kid: {"key": f"K-{kid}", "digest": "SHA1"}, clock=lambda: now[0])
    assert cache.get("a") == ("K-a", "SHA1")
    now[0] = 3000
    cache.get("a")
    assert cache.fetches == 1
    now[0] = 3700
    cache.get("a")
    assert cache.fetches == 2


def test_notification_keys():
    payload = {"metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"}, "notification": {
        "notificationId": "n1", "eventDate": "2026-11-01T00:00:00.000Z", "data": {"username": "u"}}}
    assert n.notification_keys(payload) == ("notification:n1", "MARKETPLACE_ACCOUNT_DELETION", "u",
                                            "2026-11-01T00:00:00.000Z")
