"""eBay Finances API payouts and transactions -> canonical ``SettlementData`` (pure).

Signs follow ``canonical/settlement.py`` (the seller's balance): ``bookingEntry`` CREDIT is
money in, DEBIT money out. A transaction's ``amount`` is already net of its fees, so a SALE's
gross is ``amount + totalFeeAmount`` and its fee ``totalFeeAmount`` (itemised by
``feeType``: final value fees, the fixed per-order part...). A REFUND gives the fees back:
gross ``-(amount + fee)``, fee ``-fee``.

Tax eBay collected and remitted (``eBayCollectedTaxAmount``): with the order mapper's
default (``COLLECTED_EXCLUDE``) it is on neither side; with ``COLLECTED_KEEP`` the sale's
gross includes it and a ``withheld_tax`` line takes it back out, so it clears the tax the
order booked to the marketplace's clearing account.
"""

from decimal import Decimal

from .ebay_mapper import COLLECTED_EXCLUDE, COLLECTED_KEEP, amount, money, when

try:
    from odoo.addons.omni_connector_base.canonical.settlement import (
        SettlementData,
        SettlementLineData,
        period_from_lines,
    )
except ImportError:  # pure tests
    from omni_connector_base.canonical.settlement import SettlementData, SettlementLineData, period_from_lines

SOURCE = "ebay"
ZERO = Decimal(0)
# transactionType -> canonical line kind (NON_SALE_CHARGE refined by feeType below).
KIND_BY_TYPE = {
    "SALE": "sale",
    "REFUND": "refund",
    "CREDIT": "adjustment",
    "DISPUTE": "chargeback",
    "SHIPPING_LABEL": "shipping",
    "TRANSFER": "adjustment",
    "NON_SALE_CHARGE": "fee",
    "ADJUSTMENT": "adjustment",
    "LOAN_REPAYMENT": "other",
    "PURCHASE": "other",
}
# feeType of NON_SALE_CHARGE -> kind (ad fees, subscriptions, insertion fees are fees).
KIND_BY_FEE_TYPE = {
    "AD_FEE": "fee",
    "PAYMENT_DISPUTE_FEE": "dispute_fee",
    "RESERVE": "reserve",
}
# Not part of the payout's lines: the payout (withdrawal) itself.
SKIPPED_TYPES = frozenset({"WITHDRAWAL"})


def _sign(transaction):
    return Decimal(1) if transaction.get("bookingEntry") == "CREDIT" else Decimal(-1)


def _reference(transaction, kind):
    for ref in transaction.get("references") or []:
        if ref.get("referenceType") == kind:
            return str(ref.get("referenceId"))
    return None


def _fee_breakdown(transaction):
    result = {}
    for item in transaction.get("orderLineItems") or []:
        for fee in item.get("marketplaceFees") or []:
            key = (fee.get("feeType") or "FEE").lower()
            result[key] = result.get(key, ZERO) + amount(fee.get("amount"), "marketplaceFees.amount")
    return result


def transaction_lines(transaction, *, collected_tax_mode=COLLECTED_EXCLUDE):
    """One Finances transaction -> its canonical settlement lines (usually one)."""
    kind_type = transaction.get("transactionType")
    if kind_type in SKIPPED_TYPES:
        return []
    tx_id = str(transaction.get("transactionId") or "")
    value, currency = money(transaction.get("amount"), f"transactions[{tx_id}].amount")
    sign = _sign(transaction)
    fee = amount(transaction.get("totalFeeAmount"), "totalFeeAmount", ZERO)
    order_id = transaction.get("orderId") or _reference(transaction, "ORDER_ID")
    occurred = when(transaction["transactionDate"], "transactionDate") if transaction.get("transactionDate") else None
    kind = KIND_BY_TYPE.get(kind_type, "other")
    if kind_type == "NON_SALE_CHARGE":
        kind = KIND_BY_FEE_TYPE.get(transaction.get("feeType"), "fee")
    description = transaction.get("transactionMemo") or (kind_type or "").replace("_", " ").lower()
    if transaction.get("feeType"):
        description = f"{description} ({transaction['feeType']})"
    common = {"currency": currency, "order_ref": order_id, "occurred_at": occurred}
    breakdown = _fee_breakdown(transaction)
    if breakdown and sum(breakdown.values(), ZERO) != fee:
        breakdown["other"] = fee - sum(breakdown.values(), ZERO)
    if kind_type == "SALE":
        collected = amount(transaction.get("eBayCollectedTaxAmount"), "eBayCollectedTaxAmount", ZERO)
        gross = sign * value + fee
        lines = []
        if collected_tax_mode == COLLECTED_KEEP and collected:
            gross += collected
            lines.append(SettlementLineData(
                external_id=f"{tx_id}:collected-tax", kind="withheld_tax", gross=-collected,
                description="tax collected and remitted by eBay", transaction_ref=order_id, **common))
        lines.insert(0, SettlementLineData(
            external_id=tx_id, kind="sale", gross=gross, fee=fee, fee_breakdown=breakdown,
            description=description, transaction_ref=order_id, **common))
        return lines
    if kind_type == "REFUND":
        # The buyer got amount + fee back; eBay returned the fee to the seller.
        return [SettlementLineData(
            external_id=tx_id, kind="refund", gross=sign * value - fee, fee=-fee,
            fee_breakdown={k: -v for k, v in breakdown.items()}, description=description,
            transaction_ref=tx_id, refund_ref=tx_id, **common)]
    if kind_type == "DISPUTE":
        dispute = _reference(transaction, "PAYMENT_DISPUTE_ID") or tx_id
        if sign > 0:
            kind = "chargeback_reversal"
        return [SettlementLineData(
            external_id=tx_id, kind=kind, gross=sign * value, description=description,
            transaction_ref=tx_id, dispute_ref=dispute, **common)]
    return [SettlementLineData(
        external_id=tx_id, kind=kind, gross=sign * value - (fee if sign > 0 else ZERO),
        fee=fee if sign > 0 else ZERO, description=description, transaction_ref=tx_id, **common)]


def settlement_from_ebay(payout, transactions, *, collected_tax_mode=COLLECTED_EXCLUDE, account_ref=None):
    """A ``getPayouts`` entry and its ``getTransactions`` list -> canonical ``SettlementData``."""
    payout_id = str(payout.get("payoutId") or "")
    value, currency = money(payout.get("amount"), "payout.amount")
    lines = []
    for transaction in transactions:
        lines.extend(transaction_lines(transaction, collected_tax_mode=collected_tax_mode))
    start, end = period_from_lines(lines)
    payout_at = when(payout["payoutDate"], "payoutDate") if payout.get("payoutDate") else None
    instrument = payout.get("payoutInstrument") or {}
    return SettlementData(
        source=SOURCE, external_id=payout_id, currency=currency, expected_amount=value,
        account_ref=account_ref or instrument.get("accountLastFourDigits"),
        payout_date=payout_at.date() if payout_at else None, period_start=start, period_end=end,
        status="paid" if payout.get("payoutStatus") == "SUCCEEDED" else str(payout.get("payoutStatus") or "").lower(),
        lines=lines, raw={"payout": payout},
    )
