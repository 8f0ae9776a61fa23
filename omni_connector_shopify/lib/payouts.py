"""Shopify Payments payout + balance transactions (REST shape) → ``SettlementData``.

Money is decimal strings already signed from the merchant's balance point of
view (a refund is ``"-26.10"``), so amounts map one to one. The GraphQL fetcher
(elsewhere) hands over dicts in this shape; type names are compared
case-insensitively so ``CHARGE`` and ``charge`` both work.

References: ``source_order_id`` is the Shopify order id (→ ``order_ref``),
``source_order_transaction_id`` the order transaction that moved the money
(→ ``transaction_ref``; for a refund that is the refund transaction, which the
order importer registered as the outgoing payment). A ``dispute`` is a
``chargeback`` when it takes money and a ``chargeback_reversal`` when it gives
it back; its fee, as for Stripe, becomes a separate ``dispute_fee`` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

try:
    from odoo.addons.omni_connector_base.canonical.money import to_decimal
    from odoo.addons.omni_connector_base.canonical.settlement import (
        SettlementData,
        SettlementLineData,
        parse_iso_datetime,
        period_from_lines,
    )
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.money import to_decimal
    from omni_connector_base.canonical.settlement import (
        SettlementData,
        SettlementLineData,
        parse_iso_datetime,
        period_from_lines,
    )

_TYPE_KINDS = {
    "charge": "sale",
    "refund": "refund",
    "refund_adjustment": "refund",
    "refund_failure": "refund_failure",
    "dispute_withdrawal": "chargeback",
    "dispute_reversal": "chargeback_reversal",
    "chargeback_fee": "dispute_fee",
    "chargeback_fee_refund": "dispute_fee",
    "chargeback_hold": "reserve",
    "chargeback_hold_release": "reserve",
    "reserve": "reserve",
    "reserved_funds": "reserve",
    "reserved_funds_withdrawal": "reserve",
    "reserved_funds_reversal": "reserve",
    "risk_withdrawal": "reserve",
    "risk_reversal": "reserve",
    "adjustment": "adjustment",
    "adjustment_reversal": "adjustment",
    "tax_adjustment_debit": "adjustment",
    "tax_adjustment_credit": "adjustment",
    "payout_failure": "payout_failure",
    "payout_cancellation": "payout_failure",
    "shipping_label": "shipping",
    "shipping_label_adjustment": "shipping",
    "stripe_fee": "fee",
    "billing_debit": "fee",
    "billing_debit_reversal": "fee",
}
_DISPUTE_KINDS = frozenset({"chargeback", "chargeback_reversal"})


def _money(value: Any) -> Decimal:
    """Decimal string, or GraphQL ``MoneyV2`` ``{'amount': '1.00', ...}``; missing → 0."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    if value is None or value == "":
        return Decimal(0)
    return to_decimal(value, "amount")


def _id(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _unwrap_payout(payout: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept ``{'payout': {...}}`` (REST response body) or the payout itself."""
    inner = payout.get("payout")
    return inner if isinstance(inner, Mapping) else payout


def _unwrap_transactions(transactions: Any) -> Iterable[Mapping[str, Any]]:
    """Accept a list or the REST body ``{'transactions': [...]}``."""
    if isinstance(transactions, Mapping):
        return transactions.get("transactions") or ()
    return transactions


def classify(txn: Mapping[str, Any], payout_id: str | None = None) -> str | None:
    """Line kind of a balance transaction; ``None`` for the payout's own transfer."""
    txn_type = str(txn.get("type") or "").lower()
    if txn_type == "payout":
        source_id = _id(txn.get("source_id"))
        if payout_id is None or source_id in (None, payout_id):
            return None
        return "other"
    if txn_type == "dispute":
        return "chargeback" if _money(txn.get("amount")) < 0 else "chargeback_reversal"
    return _TYPE_KINDS.get(txn_type, "other")


def settlement_from_shopify(
    payout: Mapping[str, Any], balance_transactions: list[dict[str, Any]] | Mapping[str, Any]
) -> SettlementData:
    """Map one payout and its balance transactions; no I/O."""
    payout = _unwrap_payout(payout)
    payout_id = str(payout["id"])
    currency = payout["currency"]
    lines: list[SettlementLineData] = []
    for txn in _unwrap_transactions(balance_transactions):
        txn_payout = _id(txn.get("payout_id"))
        if txn_payout is not None and txn_payout != payout_id:
            raise ValueError(
                f"balance transaction {txn.get('id')} belongs to payout {txn_payout}, not {payout_id}"
            )
        lines.extend(map_balance_transaction(txn, payout_id=payout_id, default_currency=currency))
    period_start, period_end = period_from_lines(lines)
    payout_date = payout.get("date") or payout.get("issued_at")
    return SettlementData(
        source="shopify_payments",
        external_id=payout_id,
        account_ref=_id(payout.get("bank_account") or payout.get("account_id")),
        currency=currency,
        payout_date=date.fromisoformat(str(payout_date)[:10]) if payout_date else None,
        period_start=period_start,
        period_end=period_end,
        expected_amount=_money(payout.get("amount") or payout.get("net")),
        status=str(payout.get("status") or "").lower(),
        lines=lines,
        raw=dict(payout),
    )


def map_balance_transaction(
    txn: Mapping[str, Any], payout_id: str | None = None, default_currency: str = ""
) -> list[SettlementLineData]:
    """One balance transaction → zero (the payout), one or two (dispute + fee) lines."""
    kind = classify(txn, payout_id)
    if kind is None:
        return []
    gross = _money(txn.get("amount"))
    fee = _money(txn.get("fee"))
    net = _money(txn["net"]) if txn.get("net") not in (None, "") else gross - fee
    if net != gross - fee:
        raise ValueError(f"balance transaction {txn.get('id')}: net {net} != amount {gross} - fee {fee}")
    source_type = str(txn.get("source_type") or "").lower()
    source_id = _id(txn.get("source_id"))
    order_txn = _id(txn.get("source_order_transaction_id"))
    refs = {
        "transaction_ref": order_txn or (source_id if kind == "sale" else None),
        "order_ref": _id(txn.get("source_order_id")),
        "refund_ref": source_id if source_type == "refund" or kind == "refund" else None,
        "dispute_ref": source_id if source_type == "dispute" or kind in _DISPUTE_KINDS else None,
    }
    common = {
        "currency": txn.get("currency") or default_currency,
        "occurred_at": parse_iso_datetime(txn.get("processed_at")),
        "description": str(txn.get("type") or ""),
    }
    external_id = str(txn["id"])
    if kind in _DISPUTE_KINDS and fee:
        return [
            SettlementLineData(external_id=external_id, kind=kind, gross=gross, **refs, **common),
            SettlementLineData(
                external_id=f"{external_id}:dispute_fee",
                kind="dispute_fee",
                gross=-fee,
                **refs,
                **{**common, "description": "Chargeback fee"},
            ),
        ]
    return [
        SettlementLineData(
            external_id=external_id,
            kind=kind,
            gross=gross,
            fee=fee,
            net=net,
            fee_breakdown={"shopify_payments_fee": fee} if fee else {},
            **refs,
            **common,
        )
    ]
