"""Shopify webhook intake helpers: signature verification and event keys (no ``odoo``).

Shopify signs every webhook with ``X-Shopify-Hmac-Sha256``: the base64 of the
HMAC-SHA256 of the *raw* request body, keyed with the app's client secret. The check
is delegated to ``shopifyapp`` (``verify_webhook_req``, constant-time compare,
case-insensitive headers, optional previous secret during a rotation); this module
adapts it to raw bytes and to the ``(ok, reason)`` contract of the intake
controller, and derives the keys the event inbox needs (``webhook_keys``).

Note: one app's secret is the same for every shop that installed it, so a valid
signature alone does not prove the webhook belongs to *this* backend's shop: pass
``shop_domain`` to :func:`verify_webhook` to check ``X-Shopify-Shop-Domain`` too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from shopify_app import verify_webhook_req

try:
    from odoo.addons.omni_connector_base.canonical.model import ValidationError
    from odoo.addons.omni_connector_base.canonical.parse import parse_datetime
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.model import ValidationError
    from omni_connector_base.canonical.parse import parse_datetime

REASON_OK = "ok"
REASON_NO_SECRET = "no secret configured"  # noqa: S105 - a message, not a secret
REASON_MISSING = "missing signature"
REASON_BAD = "bad signature"
REASON_WRONG_SHOP = "wrong shop"

_RESOURCE_MODELS = (
    ("orders/", "sale.order"),
    ("refunds/", "account.move"),
    ("returns/", "account.move"),  # keyed on the order, never compared with its versions (as refunds)
    ("fulfillments/", "stock.picking"),
    ("app/", "omni.backend"),
)


def _lower_headers(headers):
    return {str(k).lower(): v for k, v in (headers or {}).items()} if headers else {}


def _shop_name(domain):
    value = re.sub(r"^https?://", "", str(domain or "").strip().lower()).split("/")[0]
    return value.removesuffix(".myshopify.com")


def verify_webhook(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    old_secret: str | None = None,
    shop_domain: str | None = None,
) -> tuple[bool, str]:
    """Check a webhook's ``X-Shopify-Hmac-Sha256`` over the raw body bytes.

    Returns ``(True, 'ok')`` or ``(False, reason)`` with reason one of
    ``'no secret configured'``, ``'missing signature'``, ``'bad signature'`` or
    ``'wrong shop'`` (only when ``shop_domain`` is given and the signed request names
    another shop). Header names are matched case-insensitively; the body must be the
    bytes as received -- never a re-serialized JSON. ``old_secret`` is accepted too
    while a secret rotation is in progress. Never raises on bad input.
    """
    if not secret:
        return False, REASON_NO_SECRET
    lowered = _lower_headers(headers)
    signature = lowered.get("x-shopify-hmac-sha256") or lowered.get("shopify-hmac-sha256")
    if not signature or not str(signature).strip():
        return False, REASON_MISSING
    if not isinstance(raw_body, (bytes, bytearray)) or not str(signature).isascii():
        return False, REASON_BAD
    raw_body = bytes(raw_body)
    try:
        body_text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        body_text = None
    def raw_compare():
        return any(
            hmac.compare_digest(
                base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest()),
                str(signature).strip().encode(),
            )
            for key in (secret, old_secret)
            if key
        )

    if body_text is None:
        # shopifyapp takes the body as text; a body that is not UTF-8 cannot round-trip
        # through it, so compare over the raw bytes here (Shopify only sends UTF-8).
        ok = raw_compare()
    else:
        try:
            result = verify_webhook_req(
                {"method": "POST", "headers": dict(lowered), "url": "", "body": body_text},
                {"client_id": "omni", "client_secret": secret, "old_client_secret": old_secret},
            )
        except (TypeError, ValueError, AttributeError):  # odd header values: refuse, never raise
            return False, REASON_BAD
        except RecursionError:
            # shopifyapp parses the body: JSON nested thousands deep exhausts the stack (the proof's
            # fuzz suite met a 503 for it). The signature is over the bytes: compare those.
            ok = raw_compare()
        else:
            ok = result.ok
            if not ok and result.log.code == "missing_hmac_header":
                return False, REASON_MISSING
    if not ok:
        return False, REASON_BAD
    if shop_domain and _shop_name(lowered.get("x-shopify-shop-domain")) != _shop_name(shop_domain):
        return False, REASON_WRONG_SHOP
    return True, REASON_OK


def parse_timestamp(value):
    """ISO 8601 text with an offset (or ``Z``) -> naive UTC ``datetime``; None if unusable.

    Naive UTC is what Odoo ``Datetime`` fields store; comparing two such values orders
    events correctly whatever offset the channel wrote (``+01:00`` vs ``Z``).
    """
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_datetime(value.strip()).replace(tzinfo=None)
    except ValidationError:
        return None  # unparsable, or a local time without offset: cannot be ordered safely


def _resource_key(topic, payload):
    if not isinstance(payload, Mapping):
        return None
    if topic.startswith("orders/"):
        if isinstance(payload.get("order_edit"), Mapping):  # orders/edited
            value = payload["order_edit"].get("order_id")
        else:
            value = payload.get("id")
    elif topic.startswith(("refunds/", "fulfillments/")):
        value = payload.get("order_id")
    elif topic.startswith("returns/"):  # the return's order: {"order": {"id": ...}} (or "order_id")
        order = payload.get("order")
        value = order.get("id") if isinstance(order, Mapping) else payload.get("order_id")
    else:
        value = payload.get("id")
    return None if value in (None, "") else str(value)


def webhook_keys(
    headers: Mapping[str, str], payload: Mapping[str, Any] | None, raw_body: bytes | None = None
) -> dict:
    """The inbox keys of one Shopify webhook delivery.

    * ``idempotency_key``: ``X-Shopify-Webhook-Id`` (the same on every retry of a
      delivery), else ``X-Shopify-Event-Id``, else ``sha256(topic + body)`` -- over
      ``raw_body`` when given, else over the payload's canonical JSON;
    * ``topic``: ``X-Shopify-Topic``;
    * ``resource_model``: ``sale.order`` (``orders/*``), ``account.move``
      (``refunds/*``), ``stock.picking`` (``fulfillments/*``), ``omni.backend``
      (``app/*``), else None;
    * ``resource_key``: the *order* id for ``orders/*``, ``refunds/*`` and
      ``fulfillments/*`` so that all events of one order are applied in order and
      never in parallel; the shop domain for ``app/*``; else the payload ``id``;
    * ``source_timestamp``: payload ``updated_at``, else ``created_at``, else
      ``X-Shopify-Triggered-At`` (naive UTC datetime, see :func:`parse_timestamp`);
    * ``triggered_at``: ``X-Shopify-Triggered-At``;
    * plus ``webhook_id``, ``event_id``, ``shop_domain`` and ``api_version`` as sent.
    """
    lowered = _lower_headers(headers)
    topic = str(lowered.get("x-shopify-topic") or "").strip().lower()
    webhook_id = lowered.get("x-shopify-webhook-id") or None
    event_id = lowered.get("x-shopify-event-id") or None
    shop_domain = lowered.get("x-shopify-shop-domain") or None
    key = webhook_id or event_id
    if not key:
        if raw_body is None:
            raw_body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
        key = hashlib.sha256(topic.encode() + b"\n" + bytes(raw_body)).hexdigest()

    resource_model = next((model for prefix, model in _RESOURCE_MODELS if topic.startswith(prefix)), None)
    if topic.startswith("app/"):
        resource_key = shop_domain
    else:
        resource_key = _resource_key(topic, payload)

    triggered_at = parse_timestamp(lowered.get("x-shopify-triggered-at"))
    source = None
    if isinstance(payload, Mapping):
        source = parse_timestamp(payload.get("updated_at")) or parse_timestamp(payload.get("created_at"))
    return {
        "idempotency_key": str(key),
        "topic": topic,
        "resource_model": resource_model,
        "resource_key": resource_key,
        "source_timestamp": source or triggered_at,
        "triggered_at": triggered_at,
        "webhook_id": webhook_id,
        "event_id": event_id,
        "shop_domain": shop_domain,
        "api_version": lowered.get("x-shopify-api-version") or None,
    }


def sign(raw_body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``raw_body`` (tests, replays)."""
    return base64.b64encode(hmac.new(secret.encode(), bytes(raw_body), hashlib.sha256).digest()).decode()
