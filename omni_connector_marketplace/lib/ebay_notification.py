"""eBay Marketplace Account Deletion notifications (pure).

Every eBay application must subscribe an endpoint (ours: ``/omni/webhook/<backend_id>``):

* ``GET ?challenge_code=...`` is answered with ``{"challengeResponse":
  sha256_hex(challenge_code + verification_token + endpoint_url)}``;
* ``POST`` carries ``X-EBAY-SIGNATURE``: base64 of ``{"alg": "ECDSA", "kid": ..., "signature":
  <base64 DER>, "digest": "SHA1"}``; the signature is over the raw body, with the public key
  ``GET /commerce/notification/v1/public_key/{kid}`` returns (cached about an hour).
"""

import base64
import binascii
import hashlib
import json
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
SIGNATURE_HEADER = "x-ebay-signature"
PUBLIC_KEY_TTL = 3600
_DIGESTS = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA-256": hashes.SHA256}
_PEM_RE = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.S)


def challenge_response(challenge_code, verification_token, endpoint_url):
    text = f"{challenge_code}{verification_token}{endpoint_url}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_signature_header(value):
    """The decoded ``X-EBAY-SIGNATURE`` as a dict, or None when unreadable."""
    try:
        data = json.loads(base64.b64decode(value or "", validate=False))
    except (ValueError, TypeError, binascii.Error):
        return None
    if not isinstance(data, dict) or not data.get("kid") or not data.get("signature"):
        return None
    return data


def normalize_pem(key):
    """eBay returns the PEM on one line; rebuild the 64-column form ``cryptography`` reads."""
    match = _PEM_RE.search(key or "")
    body = "".join((match.group(1) if match else key or "").split())
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def verify_notification(raw_body, header_value, public_key_pem, digest="SHA1"):
    """``(True, "")`` or ``(False, reason)``; never raises."""
    data = parse_signature_header(header_value)
    if data is None:
        return False, "X-EBAY-SIGNATURE missing or unreadable"
    if str(data.get("alg", "ECDSA")).upper() != "ECDSA":
        return False, "unsupported signature algorithm"
    algorithm = _DIGESTS.get(str(data.get("digest") or digest).upper())
    if algorithm is None:
        return False, "unsupported digest"
    try:
        key = serialization.load_pem_public_key(normalize_pem(public_key_pem).encode("ascii"))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False, "the public key is not an EC key"
        key.verify(base64.b64decode(data["signature"]), raw_body, ec.ECDSA(algorithm()))
        return True, ""
    except InvalidSignature:
        return False, "signature does not verify"
    except (ValueError, TypeError, binascii.Error) as error:
        return False, f"unreadable key or signature ({type(error).__name__})"


def sign_notification(raw_body, private_key, kid, digest="SHA1"):
    """The ``X-EBAY-SIGNATURE`` value eBay would send (the simulator and tests use it)."""
    signature = private_key.sign(raw_body, ec.ECDSA(_DIGESTS[digest]()))
    data = {"alg": "ECDSA", "kid": kid, "signature": base64.b64encode(signature).decode("ascii"), "digest": digest}
    return base64.b64encode(json.dumps(data).encode("utf-8")).decode("ascii")


class PublicKeyCache:
    """``kid`` -> PEM, kept ``ttl`` seconds (eBay asks to cache the key about an hour)."""

    def __init__(self, fetch, ttl=PUBLIC_KEY_TTL, clock=time.monotonic):
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._keys = {}
        self.fetches = 0

    def get(self, kid):
        entry = self._keys.get(kid)
        now = self._clock()
        if entry and now - entry[0] < self._ttl:
            return entry[1]
        answer = self._fetch(kid)
        self.fetches += 1
        value = (answer.get("key"), answer.get("digest") or "SHA1")
        self._keys[kid] = (now, value)
        return value


def notification_keys(payload):
    """``(idempotency_key, topic, user key, source time text)`` of a notification body."""
    notification = payload.get("notification") or {}
    data = notification.get("data") or {}
    topic = (payload.get("metadata") or {}).get("topic") or ""
    return (
        f"notification:{notification.get('notificationId') or ''}",
        topic,
        data.get("username") or data.get("userId") or "",
        notification.get("eventDate") or notification.get("publishDate"),
    )
