"""Taxes the marketplace collects and remits itself (no ``odoo`` import).

Amazon's *marketplace facilitator* tax (US states, Australia GST, UK/EU VAT as deemed supplier...)
and eBay's *collect and remit* tax are charged to the buyer by the marketplace, kept out of the
seller's payout and paid to the tax authority by the marketplace. They must never become tax the
seller owes in Odoo. Each marketplace of an account (``omni.marketplace``) chooses a treatment:

``tax`` (default)
    The tax stays on the sale order and the invoice, so the documents show what the buyer paid,
    but through a *collected tax*: an Odoo tax of the same rate whose tax lines post to a
    non-payable account (by default ``OMNI.WHTAX`` "Taxes withheld by marketplaces", the account
    omni_reconciliation posts the settlement's withheld-tax lines to) and that carries no tax
    report tags. The settlement's ``MarketplaceFacilitatorTax`` / collect-and-remit lines debit
    that account back: its balance per settlement is zero.
``exclude``
    The tax is left out of the sale order (prices without it, total and payment lowered by it)
    and a memo on the order says how much the marketplace collected, on which lines. The
    settlement parser is told to net the collected tax out of the sale lines, so the sale lines
    match the order total and the withheld-tax line nets to zero.

The mapper of each channel says which lines' taxes were collected by the marketplace (Amazon:
``orderItems[].tax.taxCollections[].model == MARKETPLACE_FACILITATOR``; eBay:
``ebayCollectAndRemitTaxes``); this module applies the treatment to the canonical order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

TREATMENT_TAX = "tax"
TREATMENT_EXCLUDE = "exclude"
TREATMENTS = (
    (TREATMENT_TAX, "Collected tax (non-payable account)"),
    (TREATMENT_EXCLUDE, "Excluded from the order (memo)"),
)
ZERO = Decimal(0)

# Whether an order's taxes are collected by the marketplace: all of them, none, or some.
ALL, NONE, MIXED = "all", "none", "mixed"


@dataclass(frozen=True)
class CollectedTax:
    """Tax the marketplace collected on one line of the order."""

    line_external_id: str
    line_kind: str  # "product", "shipping" or "fee"
    rate: Decimal
    amount: Decimal


def collected_taxes(order, collected_line_ids):
    """The tax lines of ``order`` collected by the marketplace, one per line and rate.

    ``collected_line_ids``: external ids of the product, shipping and fee lines whose taxes the
    marketplace collected (the channel mapper decides).
    """
    wanted = set(collected_line_ids or ())
    found = []
    for kind, lines in (("product", order.lines), ("shipping", order.shipping_lines), ("fee", order.fee_lines)):
        for line in lines:
            if line.external_id in wanted:
                found.extend(CollectedTax(line.external_id, kind, tax.rate, tax.amount) for tax in line.tax_lines)
    return found


def collection_scope(order, collected_line_ids):
    """``ALL`` when every taxed line's tax is collected by the marketplace, ``NONE`` when none
    is (or the order has no tax), ``MIXED`` otherwise."""
    wanted = set(collected_line_ids or ())
    taxed = [
        line.external_id
        for line in (*order.lines, *order.shipping_lines, *order.fee_lines)
        if any(tax.amount or tax.rate for tax in line.tax_lines)
    ]
    collected = [external_id for external_id in taxed if external_id in wanted]
    if not collected:
        return NONE
    return ALL if len(collected) == len(taxed) else MIXED


def collected_total(collected):
    return sum((tax.amount for tax in collected), ZERO)


def memo(collected, currency, party=None):
    """The order memo of the ``exclude`` treatment: what the marketplace collected, and where."""
    if not collected:
        return ""
    by_line = {}
    for tax in collected:
        by_line[tax.line_external_id] = by_line.get(tax.line_external_id, ZERO) + tax.amount
    detail = ", ".join(f"{line_id}: {amount} {currency}" for line_id, amount in by_line.items())
    who = party or "the marketplace"
    return (
        f"Tax collected and remitted by {who}: {collected_total(collected)} {currency} ({detail}). "
        "Not tax owed by the seller; excluded from this order."
    )


def _without_taxes(line, wanted, included, price_field):
    if line.external_id not in wanted or not line.tax_lines:
        return line
    changes = {"tax_lines": []}
    if included:
        # Prices include the tax: the seller's price is the price less the tax collected.
        tax = collected_total(CollectedTax(line.external_id, "", t.rate, t.amount) for t in line.tax_lines)
        if price_field == "unit_price":
            changes["unit_price"] = line.unit_price - tax / line.quantity
        else:
            changes[price_field] = getattr(line, price_field) - tax
    return dataclasses.replace(line, **changes)


def exclude_collected(order, collected_line_ids, party=None, gateway=None):
    """The ``exclude`` treatment: ``(order without the collected taxes, collected taxes, memo)``.

    The order's totals and the marketplace's payment (``gateway``, default: every collected
    payment) are lowered by the collected tax, so the order's total is what the seller sells
    for. An order without collected tax is returned unchanged.
    """
    collected = collected_taxes(order, collected_line_ids)
    if not collected:
        return order, [], ""
    wanted = set(collected_line_ids)
    included = bool(order.taxes_included)
    removed = collected_total(collected)
    lines = [_without_taxes(line, wanted, included, "unit_price") for line in order.lines]
    shipping = [_without_taxes(line, wanted, included, "price") for line in order.shipping_lines]
    fees = [_without_taxes(line, wanted, included, "amount") for line in order.fee_lines]
    payments = []
    to_remove = removed
    for payment in order.payments:
        if to_remove and payment.collected and (gateway is None or payment.gateway == gateway):
            lowered = min(payment.amount, to_remove)
            to_remove -= lowered
            payments.append(dataclasses.replace(payment, amount=payment.amount - lowered))
        else:
            payments.append(payment)
    text = memo(collected, order.currency, party)
    changes = {
        "lines": lines,
        "shipping_lines": shipping,
        "fee_lines": fees,
        "payments": payments,
        "note": f"{order.note}\n{text}".strip() if order.note else text,
    }
    if order.total is not None:
        changes["total"] = order.total - removed
    if order.total_tax is not None:
        changes["total_tax"] = max(order.total_tax - removed, ZERO)
    return dataclasses.replace(order, **changes), collected, text


# Steps (in percent) of the rates tried, roundest first: tax rates are mostly whole, half, quarter
# or eighth percents (19 %, 7.5 %, 8.75 %, 8.875 %), then any cent or tenth of a cent of percent.
_RATE_STEPS = tuple(Decimal(step) for step in ("1", "0.5", "0.25", "0.125", "0.05", "0.025", "0.01", "0.005",
                                               "0.001", "0.0001"))


def infer_rate(base, amount):
    """The roundest tax rate (a fraction) that turns ``base`` into ``amount`` once rounded to the
    cent: marketplaces report tax amounts, not rates (Amazon's ``TAX`` breakdowns).

    5.08 on 58.00 gives 8.75 % (5.075 rounds to 5.08), not 8.7586...%; when no rate of the
    steps reproduces the amount, the exact quotient is returned. ``base`` or ``amount`` 0 gives 0.
    """
    base, amount = Decimal(base), Decimal(amount)
    if not base or not amount:
        return ZERO
    exact = amount / base * 100
    cent = Decimal("0.01")
    for step in _RATE_STEPS:
        low = (exact / step).to_integral_value(rounding=ROUND_FLOOR) * step
        for candidate in (low, low + step):
            if candidate > 0 and (base * candidate / 100).quantize(cent, rounding=ROUND_HALF_UP) == amount:
                return (candidate / 100).normalize()
    return (amount / base).quantize(Decimal("1e-12"))
