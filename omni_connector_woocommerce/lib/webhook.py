"""WooCommerce webhook deliveries: signature, ping, event keys. Pure (no ``odoo`` import).

A delivery carries ``X-WC-Webhook-Source``, ``-Topic``, ``-Resource``, ``-Event``,
``-Signature``, ``-ID`` and ``-Delivery-ID``. The signature is the base64 HMAC-SHA256 of the
raw body keyed with the webhook's secret. ``X-WC-Webhook-Delivery-ID`` changes on every
delivery, so the idempotency key is the resource id + ``date_modified_gmt`` + topic.

When a webhook is created WooCommerce "pings" it: a form body ``webhook_id=N`` without any
X-WC header or signature, which must be answered 200 and stores nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timezone

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
RESOURCE_HEADER = "X-WC-Webhook-Resource"
_PING = re.compile(rb"webhook_id=(\d+)")
ORDER_TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")


def sign(raw_body: bytes, secret: str) -> str:
    """The signature WooCommerce sends: base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new((secret or "").encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _header(headers, name):
    if headers is None:
        return None
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, Mapping):
            lowered = name.lower()
            value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def ping_webhook_id(raw_body, headers, form=None):
    """The webhook id of a creation ping (``webhook_id=N`` form body, no X-WC topic nor
    signature), else None. ``form`` is the parsed form when the web framework consumed the
    body already (a form POST's raw body then reads empty)."""
    if _header(headers, TOPIC_HEADER) or _header(headers, SIGNATURE_HEADER):
        return None
    if isinstance(raw_body, (bytes, bytearray)) and raw_body.strip():
        match = _PING.fullmatch(bytes(raw_body).strip())
        return int(match.group(1)) if match else None
    try:
        value = form.get("webhook_id") if form is not None and len(form) == 1 else None
    except Exception:
        return None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def verify_webhook(raw_body, headers, secret, form=None):
    """``(True, "")`` for a correctly signed delivery or a creation ping, else
    ``(False, reason)``. Never raises; compares in constant time over the raw bytes."""
    try:
        if not isinstance(raw_body, (bytes, bytearray)):
            return False, "body is not bytes"
        if ping_webhook_id(raw_body, headers, form) is not None:
            return True, ""
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature:
            return False, "missing signature"
        if not secret:
            return False, "no webhook secret configured"
        expected = sign(bytes(raw_body), secret)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
            return False, "bad signature"
        return True, ""
    except Exception:
        return False, "unreadable delivery"


def parse_gmt(value):
    """WooCommerce's ``*_gmt`` timestamps (``2026-11-21T17:28:09``, no zone) -> aware UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def event_key(resource_id, date_modified_gmt, topic):
    """The idempotency key of one version of a resource for one topic."""
    return f"{resource_id}:{date_modified_gmt or '-'}:{topic}"


def webhook_event_values(raw_body, headers, payload, form=None):
    """The inbox keys of a verified delivery, or None for a ping (nothing to store).

    ``order.deleted`` carries only ``{"id": N}``: its key uses the delivery's ``X-WC-Webhook-ID``
    and the body digest instead of a modification date (a deletion has one version)."""
    if ping_webhook_id(raw_body, headers, form) is not None:
        return None
    topic = (_header(headers, TOPIC_HEADER) or "").strip() or "unknown"
    data = payload if isinstance(payload, Mapping) else {}
    resource_id = data.get("id")
    resource_key = str(resource_id) if isinstance(resource_id, (int, str)) and str(resource_id) else False
    modified = data.get("date_modified_gmt") if isinstance(data.get("date_modified_gmt"), str) else None
    moment = parse_gmt(modified)
    if modified:
        key = event_key(resource_key or "-", modified, topic)
    else:
        digest = hashlib.sha256(bytes(raw_body or b"")).hexdigest()[:24]
        key = f"{resource_key or '-'}:{topic}:{digest}"
    return {
        "idempotency_key": key,
        "topic": topic,
        "resource_model": "sale.order" if topic.startswith("order.") else False,
        "resource_key": resource_key,
        "source_ts": moment.replace(tzinfo=None) if moment else False,
    }
