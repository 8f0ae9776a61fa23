"""eBay "digital signatures for APIs": HTTP Message Signatures with Ed25519 (pure).

EU/UK sellers must sign every Finances API call (and a few refund calls). The scheme is
eBay's profile of the IETF HTTP Message Signatures draft (RFC 9421's predecessor,
draft-11) and the Digest Fields draft (RFC 9530):

* ``Content-Digest: sha-256=:<base64 sha-256 of the body>:`` when there is a body;
* ``x-ebay-signature-key``: the public key as JWE, as the Key Management API returned it;
* ``Signature-Input: sig1=("content-digest" "x-ebay-signature-key" "@method" "@path"
  "@authority");created=<unix seconds>`` (without ``"content-digest"`` when no body);
* ``Signature: sig1=:<base64 Ed25519 signature of the signature base>:``.

The signature base is one line per covered component, ``"<name>": <value>``, then
``"@signature-params": <the inner list and parameters>``, joined by ``\\n`` with no trailing
newline. ``verify_request`` is the other side (the simulator uses it; so do the tests).
No ``odoo`` import.
"""

import base64
import hashlib
import re
import time
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_LABEL = "sig1"
COMPONENTS_WITH_BODY = ("content-digest", "x-ebay-signature-key", "@method", "@path", "@authority")
COMPONENTS_NO_BODY = ("x-ebay-signature-key", "@method", "@path", "@authority")
# A signature older than this is refused by ``verify_request`` (replays).
DEFAULT_MAX_AGE = 300

_INPUT_RE = re.compile(r'^\s*([A-Za-z0-9_-]+)=\(([^)]*)\)((?:;[a-z]+=(?:"[^"]*"|\d+))*)\s*$')
_SIG_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)=:([A-Za-z0-9+/=]+):\s*$")


class SignatureKeyError(ValueError):
    """The configured signing key cannot be used (not an Ed25519 private key)."""


def content_digest(body):
    """``sha-256=:<base64>:`` of the raw body bytes (RFC 9530)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body or b"").digest()).decode("ascii") + ":"


def load_private_key(pem_or_raw):
    """The Ed25519 private key from PEM (PKCS#8, what the Key Management API gives, with or
    without the BEGIN/END lines) or base64 of the 32 raw bytes."""
    text = (pem_or_raw or "").strip()
    if not text:
        raise SignatureKeyError("no signing key is configured")
    try:
        if "BEGIN" not in text:
            raw = base64.b64decode("".join(text.split()))
            if len(raw) == 32:
                return Ed25519PrivateKey.from_private_bytes(raw)
            text = "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(raw).decode() + "\n-----END PRIVATE KEY-----"
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError) as error:
        raise SignatureKeyError("the signing key is not a readable private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureKeyError("the signing key is not an Ed25519 key")
    return key


def load_public_key(pem):
    key = serialization.load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureKeyError("the public key is not an Ed25519 key")
    return key


def _authority(url):
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return f"{host}:{port}" if port and port != default else host


def signature_params(components, created):
    inner = " ".join(f'"{name}"' for name in components)
    return f"({inner});created={int(created)}"


def signature_base(method, url, headers, components, created):
    """The exact bytes that are signed. ``headers`` maps lower-case names to values."""
    parts = urlsplit(url)
    lines = []
    for name in components:
        if name == "@method":
            value = method.upper()
        elif name == "@path":
            value = parts.path or "/"
        elif name == "@authority":
            value = _authority(url)
        else:
            value = headers.get(name)
            if value is None:
                raise ValueError(f"header {name} is covered by the signature but missing")
            value = value.strip()
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params(components, created)}')
    return "\n".join(lines).encode("utf-8")


def sign_request(method, url, body, private_key, public_key_jwe, created=None):
    """The headers to add to a request: ``x-ebay-signature-key``, ``Signature-Input``,
    ``Signature`` and, with a body, ``Content-Digest``.

    ``private_key`` is an ``Ed25519PrivateKey`` or its PEM text; ``created`` defaults to now.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        private_key = load_private_key(private_key)
    if not public_key_jwe:
        raise SignatureKeyError("no public key JWE (x-ebay-signature-key) is configured")
    created = int(time.time()) if created is None else int(created)
    headers = {"x-ebay-signature-key": public_key_jwe}
    if body:
        headers["content-digest"] = content_digest(body)
        components = COMPONENTS_WITH_BODY
    else:
        components = COMPONENTS_NO_BODY
    base = signature_base(method, url, headers, components, created)
    signature = base64.b64encode(private_key.sign(base)).decode("ascii")
    result = {
        "x-ebay-signature-key": public_key_jwe,
        "Signature-Input": f"{SIGNATURE_LABEL}={signature_params(components, created)}",
        "Signature": f"{SIGNATURE_LABEL}=:{signature}:",
    }
    if body:
        result["Content-Digest"] = headers["content-digest"]
    return result


def verify_request(method, url, headers, body, public_key, *, now=None, max_age=DEFAULT_MAX_AGE,
                   expected_jwe=None):
    """Check a signed request as eBay does: ``(True, "")`` or ``(False, reason)``; never raises.

    ``headers`` is any mapping (case-insensitive lookups are done here); ``public_key`` an
    ``Ed25519PublicKey`` or PEM text. With a body, the Content-Digest must match it and be
    covered by the signature. ``max_age`` None skips the freshness check (fixed examples).
    """
    try:
        lower = {str(k).lower(): str(v) for k, v in dict(headers).items()}
        if not isinstance(public_key, Ed25519PublicKey):
            public_key = load_public_key(public_key)
        sig_input = lower.get("signature-input")
        sig_header = lower.get("signature")
        if not sig_input or not sig_header or "x-ebay-signature-key" not in lower:
            return False, "signature headers missing"
        if expected_jwe is not None and lower["x-ebay-signature-key"].strip() != expected_jwe:
            return False, "unknown x-ebay-signature-key"
        match = _INPUT_RE.match(sig_input)
        sig_match = _SIG_RE.match(sig_header)
        if not match or not sig_match or match.group(1) != sig_match.group(1):
            return False, "malformed Signature-Input or Signature"
        components = tuple(item.strip().strip('"') for item in match.group(2).split())
        params = dict(p.split("=", 1) for p in match.group(3).split(";") if p)
        if "created" not in params:
            return False, "created parameter missing"
        created = int(params["created"])
        required = COMPONENTS_WITH_BODY if body else COMPONENTS_NO_BODY
        if any(name not in components for name in required):
            return False, "signature does not cover the required components"
        if body:
            if lower.get("content-digest", "").strip() != content_digest(body):
                return False, "Content-Digest does not match the body"
        if max_age is not None:
            current = time.time() if now is None else now
            if created > current + 60 or current - created > max_age:
                return False, "signature expired or from the future"
        base = signature_base(method, url, lower, components, created)
        public_key.verify(base64.b64decode(sig_match.group(2)), base)
        return True, ""
    except InvalidSignature:
        return False, "signature does not verify"
    except (ValueError, TypeError, KeyError) as error:
        return False, f"unreadable signature ({type(error).__name__})"
