"""Shopify Payments payout + balance transactions (REST shape) → ``SettlementData``.

Money is decimal strings already signed from the merchant's balance point of
view (a refund is ``"-26.10"``), so amounts map one to one. Type names are compared
case-insensitively so ``CHARGE`` and ``charge`` both work. The GraphQL nodes the client
reads are mapped by ``mapper_graphql.settlement_from_graphql`` onto the same lines
(``settlement_lines``, ``build_settlement``).

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
    """Map one REST payout and its REST balance transactions; no I/O."""
    payout = _unwrap_payout(payout)
    payout_id = str(payout["id"])
    currency = payout["currency"]
    lines: list[SettlementLineData] = []
    for txn in _unwrap_transactions(balance_transactions):
        check_payout(txn.get("id"), _id(txn.get("payout_id")), payout_id)
        lines.extend(map_balance_transaction(txn, payout_id=payout_id, default_currency=currency))
    return build_settlement(
        payout_id,
        currency,
        lines,
        payout_date=payout.get("date") or payout.get("issued_at"),
        account_ref=_id(payout.get("bank_account") or payout.get("account_id")),
        expected_amount=_money(payout.get("amount") or payout.get("net")),
        status=str(payout.get("status") or "").lower(),
        raw=dict(payout),
    )


def check_payout(txn_id, txn_payout, payout_id):
    """:raises ValueError: when a balance transaction names another payout than the one mapped."""
    if txn_payout is not None and txn_payout != payout_id:
        raise ValueError(f"balance transaction {txn_id} belongs to payout {txn_payout}, not {payout_id}")


def build_settlement(payout_id, currency, lines, *, payout_date, account_ref, expected_amount, status, raw):
    """The canonical settlement of a payout whose lines are mapped (REST or GraphQL)."""
    period_start, period_end = period_from_lines(lines)
    return SettlementData(
        source="shopify_payments",
        external_id=payout_id,
        account_ref=account_ref,
        currency=currency,
        payout_date=date.fromisoformat(str(payout_date)[:10]) if payout_date else None,
        period_start=period_start,
        period_end=period_end,
        expected_amount=expected_amount,
        status=status,
        lines=lines,
        raw=raw,
    )


def map_balance_transaction(
    txn: Mapping[str, Any], payout_id: str | None = None, default_currency: str = ""
) -> list[SettlementLineData]:
    """One REST balance transaction → zero (the payout), one or two (dispute + fee) lines."""
    return settlement_lines(
        txn_type=str(txn.get("type") or ""),
        external_id=txn["id"],
        amount=txn.get("amount"),
        fee=txn.get("fee"),
        net=txn.get("net"),
        source_type=str(txn.get("source_type") or "").lower(),
        source_id=_id(txn.get("source_id")),
        order_txn=_id(txn.get("source_order_transaction_id")),
        order_ref=_id(txn.get("source_order_id")),
        currency=txn.get("currency") or default_currency,
        processed_at=txn.get("processed_at"),
        payout_id=payout_id,
    )


def settlement_lines(
    *, txn_type, external_id, amount, fee, net, source_type, source_id, order_txn, order_ref, currency,
    processed_at, payout_id,
) -> list[SettlementLineData]:
    """The canonical lines of one balance transaction, from its fields (whatever API shape they came in).

    ``txn_type`` in REST's words (``charge``, ``payout``...), ids as strings.
    """
    kind = classify({"type": txn_type, "source_id": source_id, "amount": amount}, payout_id)
    if kind is None:
        return []
    gross = _money(amount)
    fee = _money(fee)
    net = _money(net) if net not in (None, "") else gross - fee
    if net != gross - fee:
        raise ValueError(f"balance transaction {external_id}: net {net} != amount {gross} - fee {fee}")
    refs = {
        "transaction_ref": order_txn or (source_id if kind == "sale" else None),
        "order_ref": order_ref,
        "refund_ref": source_id if source_type == "refund" or kind == "refund" else None,
        "dispute_ref": source_id if source_type == "dispute" or kind in _DISPUTE_KINDS else None,
    }
    common = {
        "currency": currency,
        "occurred_at": parse_iso_datetime(processed_at),
        "description": txn_type,
    }
    external_id = str(external_id)
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
