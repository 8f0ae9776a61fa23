"""What the Shopify mappers share (no ``odoo`` import): the canonical model, Shopify's status
tables and the field readers that name the failing field in a ``ValidationError``.

``mapper.py`` maps the REST JSON of webhooks, ``mapper_graphql.py`` the GraphQL nodes the
client reads; both build canonical records with these.
"""


from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

try:
    from odoo.addons.omni_connector_base.canonical import model as canonical
    from odoo.addons.omni_connector_base.canonical.money import to_decimal
    from odoo.addons.omni_connector_base.canonical.parse import parse_datetime, validate
    from odoo.addons.omni_connector_base.canonical.risk import highest_risk
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical import model as canonical
    from omni_connector_base.canonical.money import to_decimal
    from omni_connector_base.canonical.parse import parse_datetime, validate  # noqa: F401 (for the mappers)
    from omni_connector_base.canonical.risk import highest_risk

ValidationError = canonical.ValidationError

# Shopify's order risk: ``OrderRiskSummary.assessments[].riskLevel`` (``RiskAssessmentResult``:
# NONE, LOW, MEDIUM, HIGH, PENDING) and ``recommendation`` (ACCEPT, INVESTIGATE, CANCEL, NONE).
_RISK_RECOMMENDATION = {"ACCEPT": "low", "INVESTIGATE": "medium", "CANCEL": "high"}


def shopify_risk_level(risk):
    """An ``Order.risk`` node (``OrderRiskSummary``) -> canonical risk level, or None.

    The highest assessed level (``NONE`` reads as low; ``PENDING`` is no assessment yet); the
    recommendation when no assessment has a level. Never raises on odd input."""
    if not isinstance(risk, Mapping):
        return None
    assessments = risk.get("assessments")
    levels = [a.get("riskLevel") for a in assessments if isinstance(a, Mapping)] if isinstance(
        assessments, list) else []
    level = highest_risk(str(value) for value in levels if value and str(value).upper() != "PENDING")
    if level:
        return level
    return _RISK_RECOMMENDATION.get(str(risk.get("recommendation") or "").upper())

FieldError = canonical.FieldError
ZERO = Decimal(0)

_FINANCIAL = {
    None: "pending",
    "": "pending",
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "partially_paid",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "voided",
    "expired": "voided",  # an authorization that lapsed: no money was taken
    "unpaid": "unpaid",
}
_FULFILLMENT = {
    None: "unfulfilled",
    "": "unfulfilled",
    "unfulfilled": "unfulfilled",
    "partial": "partial",
    "fulfilled": "fulfilled",
    "restocked": "unfulfilled",  # items went back to stock: nothing is out with the buyer
}
_TX_KIND = {
    "sale": "sale",
    "authorization": "authorization",
    "emv_authorization": "authorization",
    "capture": "capture",
    "refund": "refund",
    "void": "void",
}
_TX_STATUS = {"success": "success", "pending": "pending", "failure": "failure", "error": "error"}
_DISCOUNT_KIND = {"percentage": "percentage", "fixed_amount": "fixed", "shipping": "shipping"}
_RESTOCK_TYPES = {"return", "cancel", "legacy_restock"}
GIFT_CARD_GATEWAY = "gift_card"


def load_payload(raw_body: bytes | str) -> dict:
    """Decode a webhook body with ``parse_float=Decimal``; ``ValidationError`` if not a JSON object."""
    try:
        data = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, TypeError):
        raise ValidationError([FieldError("$", "is not valid JSON")]) from None
    if not isinstance(data, dict):
        raise ValidationError([FieldError("$", "must be a JSON object")])
    return data


# ------------------------------------------------------------------------ helpers
def _fail(path, message):
    raise ValidationError([FieldError(path, message)])


def _obj(data, path):
    if not isinstance(data, Mapping):
        _fail(path or "$", "must be an object")
    return data


def _list(data, key, path):
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(_join(path, key), "must be a list")
    return value


def _join(path, key):
    return f"{path}.{key}" if path else key


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _ident(value):
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _dec(value, path, *, required=True):
    if value is None or value == "":
        if required:
            _fail(path, "is required")
        return None
    if isinstance(value, str):
        value = value.strip()
    return to_decimal(value, path)


def _shop_amount(data, key, path, *, required=True):
    """``data[key + '_set'].shop_money.amount`` when present, else ``data[key]``."""
    money_set = data.get(f"{key}_set")
    if isinstance(money_set, Mapping) and isinstance(money_set.get("shop_money"), Mapping):
        shop = money_set["shop_money"]
        if shop.get("amount") not in (None, ""):
            return _dec(shop.get("amount"), _join(path, f"{key}_set.shop_money.amount"))
    return _dec(data.get(key), _join(path, key), required=required)


def _datetime(value, path, *, required=True):
    if value in (None, ""):
        if required:
            _fail(path, "is required")
        return None
    return parse_datetime(value, path)


# ------------------------------------------------------- builders shared by both shapes
# What each mapper reads is named by its shape's keys; what is built from it is the same.
def build_address(data, path, names):
    """A canonical ``Address`` from ``data``; ``names`` maps each field to the shape's key (or keys,
    the first non-empty wins): ``first_name``, ``last_name``, ``company``, ``street``, ``street2``,
    ``city``, ``zip``, ``state_code``, ``country_code``, ``phone``."""
    if not data:
        return None
    _obj(data, path)

    def get(field):
        keys = names[field]
        value = None
        for key in (keys,) if isinstance(keys, str) else keys:
            value = value or data.get(key)
        return _text(value)

    return canonical.Address(
        first_name=get("first_name"),
        last_name=get("last_name"),
        company=get("company"),
        street=get("street"),
        street2=get("street2"),
        city=get("city"),
        zip=get("zip"),
        state_code=get("state_code"),
        country_code=(get("country_code") or "").upper() or None,
        phone=get("phone"),
    )


def guest_customer(order_email, billing, names):
    """Guest checkout: no account, the checkout's email and the billing name (``names`` as for
    :func:`build_address`); None without an email."""
    if not order_email:
        return None
    billing = billing if isinstance(billing, Mapping) else {}
    return canonical.Customer(
        external_id=None,
        email=order_email,
        first_name=_text(billing.get(names["first_name"])),
        last_name=_text(billing.get(names["last_name"])),
        phone=_text(billing.get(names["phone"])),
        company=_text(billing.get(names["company"])),
    )


def payment_kinds(kind, status):
    """``(kind, status)`` of a transaction as canonical names, or None for what is not money that
    moved (change, suggested_refund...)."""
    kind = _TX_KIND.get(str(kind or "").lower())
    status = _TX_STATUS.get(str(status or "success").lower())
    return None if kind is None or status is None else (kind, status)


def build_payment(kinds, *, gateway, transaction_id, amount, currency, processed_at, reference, parent):
    """A canonical ``Payment`` of a transaction whose ``payment_kinds`` are ``kinds``."""
    gateway = _text(gateway) or "unknown"
    return canonical.Payment(
        gateway=gateway,
        transaction_id=transaction_id,
        amount=abs(amount),
        currency=(currency or "").upper() or None,
        kind=kinds[0],
        status=kinds[1],
        processed_at=processed_at,
        is_gift_card=gateway == GIFT_CARD_GATEWAY,
        gateway_reference=reference,
        parent_transaction_id=parent,
    )


def inferred_payments(gateways, read_outstanding, currency, financial_status, total):
    """Payments implied by an order that lists no transaction: one per gateway, when there is one.

    ``read_outstanding()`` reads the amount still due (only when a payment is inferred)."""
    gateways = [g for g in (gateways or []) if _text(g)]
    if len(gateways) != 1 or total is None:
        return []  # several gateways without transactions: the split is unknown, infer nothing
    gateway = _text(gateways[0])
    outstanding = read_outstanding() or ZERO
    if financial_status in ("paid", "partially_paid", "partially_refunded", "refunded"):
        amount, kind = total - outstanding if financial_status == "partially_paid" else total, "sale"
    elif financial_status == "authorized":
        amount, kind = total, "authorization"
    else:
        return []
    if amount <= 0:
        return []
    return [canonical.Payment(gateway=gateway, transaction_id=None, amount=amount, currency=currency, kind=kind,
                              status="success", is_gift_card=gateway == GIFT_CARD_GATEWAY)]


def refund_amount(transactions, currency):
    """What a refund returned: its successful refund transactions in the refund's currency."""
    return sum(
        (p.amount for p in transactions if p.kind == "refund" and p.status == "success" and p.currency == currency),
        ZERO,
    )


def error_guard(errors):
    """A guard for one mapping pass: ``guard(reader, *args)`` returns what the reader returns, or
    None after filing its ``ValidationError``'s field errors in ``errors``, so one pass reports
    every bad field of a payload instead of the first."""

    def guard(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            errors.extend(exc.errors)
            return None

    return guard
