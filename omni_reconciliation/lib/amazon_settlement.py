"""Amazon ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` → ``SettlementData``.

The flat file is tab separated, one header row, then a summary row (settlement
id, period, deposit date, ``total-amount``, currency) and one row per amount
component. Amounts are already signed from the seller's point of view.

Rows are grouped into lines per (transaction type, order, shipment/adjustment,
order item, kind), so one sold item gives e.g. a ``sale`` line (Principal + Tax
+ Shipping, split kept in ``components``), a ``commission`` line, a ``fee`` line
(FBA fulfilment) and a ``withheld_tax`` line, each carrying the Amazon order id
as ``order_ref`` for matching. Rows without an order (subscription, storage,
reserve) stay one line each.

Kind decisions: ``ItemPrice`` is ``sale`` on an Order, ``refund`` on a Refund,
``chargeback`` on chargeback / A-to-z claims; ``ItemFees`` Commission,
RefundCommission and closing fees are ``commission``, ShippingChargeback and
ShippingHB are ``shipping`` (Amazon's shipping charges to the seller), other
item fees (FBA...) are ``fee``; ``Promotion`` → ``promotion``;
``ItemWithheldTax`` (marketplace facilitator tax) → ``withheld_tax``;
other-transaction rows by description: reserves → ``reserve``, subscription,
storage, advertising and other fees → ``fee``, reimbursements → ``adjustment``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

try:
    from odoo.addons.omni_connector_base.canonical.money import COMMA, POINT, NumberFormat, parse_decimal
    from odoo.addons.omni_connector_base.canonical.settlement import SettlementData, SettlementLineData
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.money import COMMA, POINT, NumberFormat, parse_decimal
    from omni_connector_base.canonical.settlement import SettlementData, SettlementLineData

SUMMARY_COLUMNS = ("settlement-id", "total-amount", "currency")

# Amazon writes the report's amounts in the marketplace's locale (the ``marketplace-name`` column):
# a decimal point on the American, British, Asian and Middle-East marketplaces, a decimal comma on the
# continental European ones and Brazil. A report whose marketplace is not listed (or has none) is read
# in both and an amount that reads differently in the two ("1.234") is refused: pass the format.
MARKETPLACE_NUMBER_FORMATS: dict[str, NumberFormat] = {
    **dict.fromkeys(
        ("amazon.com", "amazon.ca", "amazon.com.mx", "amazon.co.uk", "amazon.co.jp", "amazon.in",
         "amazon.com.au", "amazon.sg", "amazon.ae", "amazon.sa", "amazon.eg", "amazon.cn"),
        POINT,
    ),
    **dict.fromkeys(
        ("amazon.de", "amazon.fr", "amazon.it", "amazon.es", "amazon.nl", "amazon.se", "amazon.pl",
         "amazon.com.be", "amazon.com.tr", "amazon.com.br"),
        COMMA,
    ),
}

_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
_TZ_SUFFIX = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)
_ISO_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hh>\d{2}):?(?P<mm>\d{2})$")

_PRICE_KIND_BY_TRANSACTION = {
    "order": "sale",
    "refund": "refund",
    "chargebackrefund": "chargeback",
    "chargeback": "chargeback",
    "atozguaranteeclaim": "chargeback",
    "guaranteeclaim": "chargeback",
    "guaranteeclaimrefund": "chargeback",
    "chargebackreversal": "chargeback_reversal",
    "guaranteeclaimreversal": "chargeback_reversal",
}
_COMMISSION_FEES = frozenset({"commission", "refundcommission", "variableclosingfee", "fixedclosingfee"})
_SHIPPING_FEES = frozenset({"shippingchargeback", "shippinghb"})
_WITHHELD_TAX_TYPES = frozenset({"itemwithheldtax", "itemtds", "itemtcs"})


def _norm(text: str) -> str:
    """'A-to-z Guarantee Claim' → 'atozguaranteeclaim': Amazon spells labels loosely."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def parse_amazon_datetime(text: str | None) -> datetime | None:
    """Amazon's report dates ('2026-11-10 14:22:05 UTC', '10.11.2026 14:22:05 UTC',
    ISO with offset, date only) → aware UTC; empty → None."""
    if not text or not text.strip():
        return None
    raw = _TZ_SUFFIX.sub("", text.strip())
    offset = _ISO_OFFSET.search(raw)
    if offset and "T" in raw:
        # Python 3.10's fromisoformat wants '+00:00', not '+0000'
        raw = raw[: offset.start()] + f"{offset['sign']}{offset['hh']}:{offset['mm']}"
        return datetime.fromisoformat(raw).astimezone(timezone.utc)
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise ValueError(f"unrecognised Amazon date {text!r}")


def classify_row(transaction_type: str, amount_type: str, amount_description: str) -> str:
    """Kind of one report row, from Amazon's own type/description vocabulary."""
    ttype, atype, desc = _norm(transaction_type), _norm(amount_type), _norm(amount_description)
    if atype == "itemprice":
        return _PRICE_KIND_BY_TRANSACTION.get(ttype, "adjustment")
    if atype == "itemfees":
        if desc in _COMMISSION_FEES:
            return "commission"
        if desc in _SHIPPING_FEES:
            return "shipping"
        return "fee"
    if atype == "promotion":
        return "promotion"
    if atype in _WITHHELD_TAX_TYPES:
        return "withheld_tax"
    text = f"{ttype} {atype} {desc}"
    if "reserve" in text:
        return "reserve"
    if "transferoffundsunsuccessful" in text or "disbursementfailed" in text:
        return "payout_failure"
    if "reimbursement" in text:
        return "adjustment"
    if "shippinglabel" in desc or "postage" in desc:
        return "shipping"
    if ttype == "servicefee" or any(
        word in desc for word in ("fee", "storage", "subscription", "advertising")
    ):
        return "fee"
    if "adjustment" in ttype or "adjustment" in atype:
        return "adjustment"
    return "other"


@dataclass
class _Group:
    """Rows being summed into one line."""

    first_row: dict[str, str]
    kind: str
    gross: Decimal = Decimal(0)
    components: dict[str, Decimal] = field(default_factory=dict)
    quantity: int | None = None


def _decode(text: str | bytes) -> str:
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return text.decode("cp1252")  # Amazon EU reports are often Windows-1252
    return text


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows as dicts; BOM, CRLF, blank lines and short rows tolerated."""
    lines = [line for line in _decode(text).lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty settlement report")
    header = [name.strip().lower() for name in lines[0].split("\t")]
    missing = [name for name in (*SUMMARY_COLUMNS, "amount") if name not in header]
    if missing:
        raise ValueError(f"not a V2 settlement flat file, missing columns: {', '.join(missing)}")
    width = len(header)
    rows = []
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("\t")]
        cells += [""] * (width - len(cells))
        rows.append(dict(zip(header, cells[:width], strict=True)))
    return header, rows


def report_number_format(rows: list[dict[str, str]]) -> NumberFormat | tuple[NumberFormat, ...]:
    """The number format of a report: its marketplace's (``MARKETPLACE_NUMBER_FORMATS``), else
    both point and comma, so that only amounts reading the same in both are accepted."""
    for row in rows:
        marketplace = (row.get("marketplace-name") or "").strip().lower()
        if marketplace in MARKETPLACE_NUMBER_FORMATS:
            return MARKETPLACE_NUMBER_FORMATS[marketplace]
    return (POINT, COMMA)


def parse_settlement_v2(text: str | bytes, number_format: NumberFormat | None = None,
                        net_facilitator_tax: bool = False) -> SettlementData:
    """Parse one V2 flat-file settlement report into a settlement with grouped lines.

    ``number_format``: how the report writes amounts; by default the marketplace's
    (:func:`report_number_format`). An amount that does not fit it raises ``ValueError``.

    ``net_facilitator_tax``: for sellers who leave marketplace-collected tax out of their orders
    (omni_connector_marketplace's "Excluded" treatment), the tax components of a sale or refund
    (``Tax``, ``ShippingTax``, ``GiftWrapTax``...) that Amazon withheld again on the same item
    (``ItemWithheldTax``) move from the sale/refund line to that withheld-tax line: the sale line
    then carries what the order was sold for, and the withheld-tax line nets to zero.
    """
    _header, rows = _rows(text)
    number_format = number_format or report_number_format(rows)

    def amount_of(row: dict[str, str], column: str) -> Decimal | None:
        try:
            return parse_decimal(row.get(column), number_format)
        except ValueError as error:
            raise ValueError(f"settlement report, {column} of settlement {row.get('settlement-id')}: {error}") from None
    summary: dict[str, str] | None = None
    groups: dict[tuple[Any, ...], _Group] = {}
    for number, row in enumerate(rows, start=2):
        if summary is None and row.get("total-amount"):
            summary = row
            continue
        amount = amount_of(row, "amount")
        if amount is None:
            continue
        ttype = row.get("transaction-type", "")
        kind = classify_row(ttype, row.get("amount-type", ""), row.get("amount-description", ""))
        order_id = row.get("order-id") or row.get("merchant-order-id") or ""
        if order_id:
            key: tuple[Any, ...] = (
                ttype,
                order_id,
                row.get("shipment-id") or row.get("adjustment-id") or "",
                row.get("order-item-code") or row.get("merchant-adjustment-item-id") or "",
                row.get("sku") or "",
                kind,
            )
        else:
            key = ("row", number)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(first_row=row, kind=kind)
        group.gross += amount
        label = row.get("amount-description") or row.get("amount-type") or kind
        group.components[label] = group.components.get(label, Decimal(0)) + amount
        quantity = row.get("quantity-purchased")
        if group.quantity is None and quantity and quantity.isdigit():
            group.quantity = int(quantity)
    if summary is None:
        raise ValueError("settlement report has no summary row (total-amount)")
    if net_facilitator_tax:
        _net_withheld_tax(groups)

    currency = summary["currency"]
    settlement_id = summary["settlement-id"]
    lines = [_line(key, group, currency) for key, group in groups.items()]
    deposit = parse_amazon_datetime(summary.get("deposit-date"))
    expected = amount_of(summary, "total-amount")
    assert expected is not None  # summary row was selected on a non-empty total-amount
    return SettlementData(
        source="amazon",
        external_id=settlement_id,
        account_ref=next((row["marketplace-name"] for row in rows if row.get("marketplace-name")), None),
        currency=currency,
        payout_date=deposit.date() if deposit else None,
        period_start=parse_amazon_datetime(summary.get("settlement-start-date")),
        period_end=parse_amazon_datetime(summary.get("settlement-end-date")),
        expected_amount=expected,
        # Amazon publishes the V2 report once the settlement is closed and the
        # transfer initiated; the bank match confirms the money arrived.
        status="paid",
        lines=lines,
        raw={"summary": summary, "row_count": len(rows)},
    )


def _net_withheld_tax(groups: dict[tuple[Any, ...], _Group]) -> None:
    """Move the collected-tax components of each sale/refund group into the withheld-tax group of the
    same transaction, order, shipment/adjustment, item and SKU (see ``net_facilitator_tax``)."""
    for key, withheld in groups.items():
        if key[0] == "row" or withheld.kind != "withheld_tax":
            continue
        for price_kind in ("sale", "refund", "chargeback"):
            price = groups.get((*key[:5], price_kind))
            if price is None:
                continue
            for label in [label for label in price.components if _norm(label).endswith("tax")]:
                amount = price.components.pop(label)
                price.gross -= amount
                withheld.gross += amount
                withheld.components[label] = withheld.components.get(label, Decimal(0)) + amount


def _line(key: tuple[Any, ...], group: _Group, currency: str) -> SettlementLineData:
    row = group.first_row
    ttype = row.get("transaction-type", "")
    order_id = row.get("order-id") or row.get("merchant-order-id") or None
    merchant_order = row.get("merchant-order-id")
    if key[0] == "row":
        external_id = f"row-{key[1]}:{ttype}:{row.get('amount-description', '')}"
    else:
        external_id = "|".join(str(part) for part in key)
    labels = ", ".join(group.components)
    occurred = parse_amazon_datetime(row.get("posted-date-time")) or parse_amazon_datetime(
        row.get("posted-date")
    )
    return SettlementLineData(
        external_id=external_id,
        kind=group.kind,
        description=f"{ttype}: {labels}" if ttype else labels,
        gross=group.gross,
        currency=row.get("currency") or currency,
        order_ref=order_id,
        refund_ref=(row.get("adjustment-id") or None) if group.kind in ("refund", "chargeback") else None,
        sku=row.get("sku") or None,
        quantity=group.quantity,
        occurred_at=occurred,
        components=dict(group.components),
        extra_refs=(merchant_order,) if merchant_order and merchant_order != order_id else (),
    )
