"""eBay digital signatures (HTTP Message Signatures, Ed25519) against eBay's guide and the simulator."""

import pytest

from omni_connector_marketplace.lib import ebay_signature as sig

# eBay's guide ("Digital Signatures for Public API Calls"): the IETF draft's Ed25519 test key,
# the test JWE and a POST of {"hello": "world"} to http://localhost:8080/verifysignature.
GUIDE_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----"""
GUIDE_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----"""
GUIDE_JWE = (
    "eyJ6aXAiOiJERUYiLCJlbmMiOiJBMjU2R0NNIiwidGFnIjoiSGdLcjNSSWFlZll0Mkd4blBUUTEwUSIsImFsZyI6IkEyNTZHQ01LVyIsIml2"
    "IjoiQTVOQXFYUXlITkNIT01GVSJ9.z3JcS0vvxrYboqpySAq_Znww-3V6AllxmJP5JEMkuLY.K1f4MVMEc8ylbfSS.fASwJyMCk2tXZsNWk13I"
    "cuVgSWTOcynSdAoJrK4WApZANlxAP9J0qr0Jz_4aFldFDSZ5tfuxLGqzJmWU7CiZWwNjk2XoVy8q5ogMrFNFwFXP4SrX1XORhNLZPTyS5DEq"
    "LDPYn2NX944xendEwfcxxXsTSeNCUnmSyfitiscUC04GYOfn0UWQ2buSWx7Yod0IR2GtTGUsM9o3J-riuNDKhw.rRsWM1Sl_2stTnZLJkWVmQ"
)
GUIDE_URL = "http://localhost:8080/verifysignature"
GUIDE_BODY = b'{"hello": "world"}'
GUIDE_CREATED = 1659651955
GUIDE_SIGNATURE = "sig1=:uunxYrXKC8KaoupD5D1DKdmQmrOhz6b4Xbhb3o9d4x4xFIpg++XzEZztOyeOI59rMMjM3NIcFgxBH0c1ckpfBw==:"
GUIDE_INPUT = 'sig1=("content-digest" "x-ebay-signature-key" "@method" "@path" "@authority");created=1659651955'


def test_content_digest_of_the_guide_example():
    assert sig.content_digest(GUIDE_BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_signing_reproduces_the_guide_signature_exactly():
    headers = sig.sign_request("POST", GUIDE_URL, GUIDE_BODY, GUIDE_PRIVATE_KEY, GUIDE_JWE, created=GUIDE_CREATED)
    assert headers["Signature-Input"] == GUIDE_INPUT
    assert headers["Signature"] == GUIDE_SIGNATURE
    assert headers["Content-Digest"] == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert headers["x-ebay-signature-key"] == GUIDE_JWE


def test_guide_request_verifies_with_the_guide_public_key():
    headers = {"Signature-Input": GUIDE_INPUT, "Signature": GUIDE_SIGNATURE, "x-ebay-signature-key": GUIDE_JWE,
               "Content-Digest": sig.content_digest(GUIDE_BODY)}
    assert sig.verify_request("POST", GUIDE_URL, headers, GUIDE_BODY, GUIDE_PUBLIC_KEY, max_age=None) == (True, "")


def test_get_without_body_covers_no_content_digest():
    headers = sig.sign_request("GET", "https://apiz.ebay.com/sell/finances/v1/payout?limit=20", b"",
                               GUIDE_PRIVATE_KEY, GUIDE_JWE, created=GUIDE_CREATED)
    assert "Content-Digest" not in headers
    assert headers["Signature-Input"].startswith('sig1=("x-ebay-signature-key" "@method" "@path" "@authority")')
    ok, _ = sig.verify_request("GET", "https://apiz.ebay.com/sell/finances/v1/payout?limit=20", headers, b"",
                               GUIDE_PUBLIC_KEY, max_age=None)
    assert ok


@pytest.mark.parametrize("change", ["body", "path", "method", "authority", "key", "stale"])
def test_tampering_is_refused(change):
    headers = sig.sign_request("POST", GUIDE_URL, GUIDE_BODY, GUIDE_PRIVATE_KEY, GUIDE_JWE, created=GUIDE_CREATED)
    url, body, method, now = GUIDE_URL, GUIDE_BODY, "POST", GUIDE_CREATED + 10
    if change == "body":
        body = b'{"hello": "world!"}'
    elif change == "path":
        url = "http://localhost:8080/other"
    elif change == "method":
        method = "PUT"
    elif change == "authority":
        url = "http://localhost:8081/verifysignature"
    elif change == "key":
        headers["x-ebay-signature-key"] = GUIDE_JWE[:-2] + "xx"
    elif change == "stale":
        now = GUIDE_CREATED + 3600
    ok, reason = sig.verify_request(method, url, headers, body, GUIDE_PUBLIC_KEY, now=now)
    assert not ok and reason


def test_missing_headers_and_odd_input_never_raise():
    assert sig.verify_request("GET", GUIDE_URL, {}, b"", GUIDE_PUBLIC_KEY)[0] is False
    assert sig.verify_request("GET", GUIDE_URL, {"Signature-Input": "junk", "Signature": "x",
                                                 "x-ebay-signature-key": "k"}, b"", GUIDE_PUBLIC_KEY)[0] is False


def test_bad_signing_key_is_a_clear_error():
    with pytest.raises(sig.SignatureKeyError):
        sig.load_private_key("not a key")
    with pytest.raises(sig.SignatureKeyError):
        sig.load_private_key("")
