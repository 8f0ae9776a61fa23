"""Stripe payout and balance transactions → ``SettlementData``: the pure mapper (no I/O).

The client (``stripe_client.py``) fetches them through the official ``stripe`` library.

A Stripe automatic payout is reconciled through its balance transactions
(``GET /v1/balance_transactions?payout=po_...``): each one moved the balance,
the payout's own transaction moved it to the bank. Amounts arrive in integer
minor units of the *balance* currency, as Stripe represents that currency (see
``STRIPE_DECIMALS``: mostly ISO 4217, with Stripe's own exceptions).

Kind mapping (decisions):

* ``charge``/``payment`` → ``sale``; ``transaction_ref`` is the charge id, the
  order comes from ``source.metadata.order_id`` (WooCommerce's Stripe gateway
  writes it), the PaymentIntent id goes to ``extra_refs``.
* ``refund``/``payment_refund`` → ``refund``; ``refund_ref`` is ``re_...``,
  ``transaction_ref`` the refunded charge.
* ``reporting_category == 'dispute'`` → ``chargeback`` and
  ``'dispute_reversal'`` → ``chargeback_reversal``; ``dispute_ref`` is ``dp_...``,
  ``transaction_ref`` the disputed charge. The dispute fee Stripe deducts on the
  same balance transaction becomes a **separate ``dispute_fee`` line**
  (``<txn id>:dispute_fee``), so the books can send it to a dispute-fee account
  by kind alone; the chargeback line then has ``fee == 0``.
* ``stripe_fee``/``stripe_fx_fee``/``tax_fee`` types and ``reporting_category
  'fee'`` (Radar, Billing...) → ``fee``.
* ``refund_failure`` → ``refund_failure``; ``payout_failure``/``payout_cancel``
  → ``payout_failure`` (money of an earlier payout coming back).
* reserve holds/releases → ``reserve``; ``adjustment`` → ``adjustment``;
  anything else → ``other``.
* The payout's own ``payout`` transaction is the deposit, not a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

try:
    from odoo.addons.omni_connector_base.canonical.money import currency_exponent, from_minor_units, normalize_currency
    from odoo.addons.omni_connector_base.canonical.settlement import (
        SettlementData,
        SettlementLineData,
        period_from_lines,
        utc_from_timestamp,
    )
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.money import currency_exponent, from_minor_units, normalize_currency
    from omni_connector_base.canonical.settlement import (
        SettlementData,
        SettlementLineData,
        period_from_lines,
        utc_from_timestamp,
    )

ORDER_METADATA_KEYS = ("order_id", "order_number", "woocommerce_order_id")

_TYPE_KINDS = {
    "charge": "sale",
    "payment": "sale",
    "refund": "refund",
    "payment_refund": "refund",
    "refund_failure": "refund_failure",
    "payout_failure": "payout_failure",
    "payout_cancel": "payout_failure",
    "stripe_fee": "fee",
    "stripe_fx_fee": "fee",
    "tax_fee": "fee",
    "reserve_transaction": "reserve",
    "reserved_funds": "reserve",
    "payment_network_reserve_hold": "reserve",
    "payment_network_reserve_release": "reserve",
    "payout_minimum_balance_hold": "reserve",
    "payout_minimum_balance_release": "reserve",
    "adjustment": "adjustment",
}
_CATEGORY_KINDS = {
    "dispute": "chargeback",
    "dispute_reversal": "chargeback_reversal",
    "fee": "fee",
    "risk_reserved_funds": "reserve",
}
_DISPUTE_KINDS = frozenset({"chargeback", "chargeback_reversal"})


# Stripe's representation of amounts (https://docs.stripe.com/currencies): integer minor units,
# with decimals per ISO 4217 except where Stripe differs. Zero-decimal at Stripe (its list):
STRIPE_ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})
# "Special cases": ISK and UGX are zero-decimal, but Stripe's API sends and expects them with two
# decimals (``50000`` ISK minor units are 500 ISK, always a multiple of 100); Odoo's own
# ``payment_stripe/const.py`` (``CURRENCY_DECIMALS``) says the same.
STRIPE_TWO_DECIMAL_SPECIAL = frozenset({"ISK", "UGX"})


def stripe_exponent(currency: str) -> int:
    """Decimals of ``currency`` in Stripe's integer amounts: MGA 0 (ISO: 2), ISK and UGX 2 (ISO: 0),
    three-decimal currencies 3 (Stripe sends them with three, the last one 0), else ISO 4217."""
    code = normalize_currency(currency)
    if code in STRIPE_TWO_DECIMAL_SPECIAL:
        return 2
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    return currency_exponent(code)


def from_stripe_amount(amount: int, currency: str) -> Decimal:
    """Stripe's integer amount → Decimal in major units (``8749, 'usd'`` → 87.49; ``50000, 'isk'`` → 500.00)."""
    return from_minor_units(amount, currency, exponent=stripe_exponent(currency))


def plain(obj: Any) -> Any:
    """StripeObject → plain dict (recursively); dicts and scalars pass through."""
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return obj


def _ref(value: Any) -> str | None:
    """An expandable field as its id: ``'ch_1'`` or ``{'id': 'ch_1', ...}`` → ``'ch_1'``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get("id")
    return str(value)


def _obj(value: Any) -> Mapping[str, Any]:
    """An expandable field as a mapping (empty when it was not expanded)."""
    return value if isinstance(value, Mapping) else {}


def _rate(value: Any) -> Decimal | None:
    """Stripe's ``exchange_rate`` is a JSON number; ``repr`` gives back its exact digits."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def settlement_from_stripe(
    payout: Mapping[str, Any], balance_transactions: Iterable[Mapping[str, Any]]
) -> SettlementData:
    """Pure mapping of a payout and its balance transactions (no I/O)."""
    payout_id = payout["id"]
    lines: list[SettlementLineData] = []
    for txn in balance_transactions:
        lines.extend(map_balance_transaction(txn, payout_id=payout_id))
    period_start, period_end = period_from_lines(lines)
    return SettlementData(
        source="stripe",
        external_id=payout_id,
        account_ref=_ref(payout.get("destination")),
        currency=payout["currency"],
        payout_date=payout_arrival_date(payout),
        period_start=period_start,
        period_end=period_end,
        expected_amount=from_stripe_amount(payout["amount"], payout["currency"]),
        status=payout.get("status") or "",
        lines=lines,
        raw=dict(payout),
    )


def classify(txn: Mapping[str, Any], payout_id: str | None = None) -> str | None:
    """Line kind of a balance transaction; ``None`` for the payout's own transfer."""
    txn_type = txn.get("type") or ""
    if txn_type == "payout":
        source_id = _ref(txn.get("source"))
        if payout_id is None or source_id in (None, payout_id):
            return None
        return "other"
    category = txn.get("reporting_category") or ""
    if category in _CATEGORY_KINDS:
        return _CATEGORY_KINDS[category]
    kind = _TYPE_KINDS.get(txn_type)
    if kind == "adjustment" and (_ref(txn.get("source")) or "").startswith(("dp_", "du_")):
        # pre-reporting_category accounts: a dispute is an adjustment on a dp_ source
        return "chargeback" if txn.get("amount", 0) < 0 else "chargeback_reversal"
    return kind or "other"


def map_balance_transaction(txn: Mapping[str, Any], payout_id: str | None = None) -> list[SettlementLineData]:
    """One balance transaction → zero (the payout), one or two (dispute + fee) lines."""
    kind = classify(txn, payout_id)
    if kind is None:
        return []
    currency = txn["currency"]
    gross = from_stripe_amount(txn["amount"], currency)
    fee = from_stripe_amount(txn.get("fee") or 0, currency)
    net = from_stripe_amount(txn["net"], currency)
    if net != gross - fee:
        raise ValueError(f"balance transaction {txn.get('id')}: net {net} != amount {gross} - fee {fee}")
    fee_breakdown: dict[str, Decimal] = {}
    for detail in txn.get("fee_details") or ():
        key = detail.get("type") or "fee"
        fee_breakdown[key] = fee_breakdown.get(key, Decimal(0)) + from_stripe_amount(
            detail["amount"], detail.get("currency") or currency
        )

    source_value = txn.get("source")
    source = _obj(source_value)
    source_id = _ref(source_value)
    metadata = _obj(source.get("metadata"))
    order_ref = next((str(metadata[key]) for key in ORDER_METADATA_KEYS if metadata.get(key)), None)
    transaction_ref = refund_ref = dispute_ref = None
    extra_refs: list[str] = []
    if kind == "sale":
        transaction_ref = source_id
    elif kind in ("refund", "refund_failure"):
        refund_ref = source_id
        transaction_ref = _ref(source.get("charge"))
    elif kind in _DISPUTE_KINDS:
        dispute_ref = source_id
        transaction_ref = _ref(source.get("charge"))
    elif source_id:
        transaction_ref = source_id
    payment_intent = _ref(source.get("payment_intent"))
    if payment_intent:
        extra_refs.append(payment_intent)

    original_currency = original_amount = None
    src_currency = source.get("currency")
    if src_currency and src_currency.lower() != currency.lower() and isinstance(source.get("amount"), int):
        original_currency = src_currency
        original_amount = from_stripe_amount(source["amount"], src_currency)
        if gross < 0 < original_amount:
            original_amount = -original_amount  # refunds/disputes: amount is unsigned on the source

    common = {
        "currency": currency,
        "exchange_rate": _rate(txn.get("exchange_rate")),
        "order_ref": order_ref,
        "occurred_at": utc_from_timestamp(txn.get("created")),
    }
    refs = {
        "transaction_ref": transaction_ref,
        "refund_ref": refund_ref,
        "dispute_ref": dispute_ref,
        "extra_refs": tuple(extra_refs),
    }
    line = {"external_id": txn["id"], "kind": kind, "description": txn.get("description") or "", "gross": gross,
            "original_currency": original_currency, "original_amount": original_amount, **refs, **common}
    if kind in _DISPUTE_KINDS and fee:
        # the dispute fee gets its own line so it posts to the dispute-fee account
        no_fee = from_stripe_amount(0, currency)
        dispute_fee = {**refs, **common, "external_id": f"{txn['id']}:dispute_fee", "kind": "dispute_fee",
                       "description": _fee_description(txn) or "Dispute fee", "gross": -fee, "fee": no_fee}
        return [SettlementLineData(**line, fee=no_fee), SettlementLineData(**dispute_fee)]
    return [SettlementLineData(**line, fee=fee, net=net, fee_breakdown=fee_breakdown)]


def _fee_description(txn: Mapping[str, Any]) -> str:
    return ", ".join(d.get("description") or "" for d in txn.get("fee_details") or () if d.get("description"))


def payout_arrival_date(payout: Mapping[str, Any]) -> date | None:
    """Date the deposit reaches the bank (UTC), for bank matching."""
    arrival = utc_from_timestamp(payout.get("arrival_date"))
    return arrival.date() if arrival else None
