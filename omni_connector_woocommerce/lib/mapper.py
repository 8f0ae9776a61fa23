"""WooCommerce REST v3 JSON -> canonical records, and canonical -> WooCommerce payloads. Pure.

Orders (``GET orders/<id>``, the ``order.*`` webhook bodies, which WooCommerce builds at
delivery time from the same shape) map with :func:`map_order`; refunds
(``GET orders/<id>/refunds``) with :func:`map_refund`.

WooCommerce facts the mapping respects:

* line ``subtotal``/``total`` (and shipping/fee ``total``) exclude tax even when the store's
  prices include it (``prices_include_tax``); for such orders the canonical prices are
  rebuilt tax-included (``total + total_tax``) so Odoo's included taxes find the same net;
* taxes are named per rate id (``line_items[].taxes[].id`` -> ``tax_lines[].rate_id``);
  the rate comes from ``tax_lines[].rate_percent`` when WooCommerce gives it, else from the
  backend's mapping ``rate_percents`` ({rate id: percent}); ``compound`` rates are kept as
  rates (the Odoo tax they map to carries the compounding, see the README);
* per-line taxes do not always add up to ``total_tax`` (rounding per line vs. per order): the
  declared totals are kept and the shared importer's tolerance decides;
* coupons are already allocated to the lines (``subtotal - total``), so
  ``coupon_lines`` only inform;
* guest orders have ``customer_id`` 0: no channel customer id, the importer dedupes by email.

Fraud risk: WooCommerce has none of its own; anti-fraud plugins store a level or a score 0-100
in the order's ``meta_data`` under a key of their own. ``map_order(risk_meta_key=...)`` (the
backend's ``risk_meta_key``) reads that key into the canonical ``risk_level`` (low/medium/high,
``canonical.risk.normalize_risk_level``); no key, no meta or an unreadable value: no assessment.

Statuses become an action (:data:`DEFAULT_STATUS_ACTIONS`, overridable per backend):
``quotation``, ``confirm`` (awaiting payment), ``paid``, ``cancel``, ``refund`` or ``ignore``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

try:
    from odoo.addons.omni_connector_base.canonical import model as canonical
    from odoo.addons.omni_connector_base.canonical.money import currency_exponent
    from odoo.addons.omni_connector_base.canonical.parse import validate
    from odoo.addons.omni_connector_base.canonical.risk import normalize_risk_level
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical import model as canonical
    from omni_connector_base.canonical.money import currency_exponent
    from omni_connector_base.canonical.parse import validate
    from omni_connector_base.canonical.risk import normalize_risk_level

from .webhook import parse_gmt

ValidationError = canonical.ValidationError
FieldError = canonical.FieldError
ZERO = Decimal(0)
HUNDRED = Decimal(100)

STATUS_ACTIONS = ("quotation", "confirm", "paid", "cancel", "refund", "ignore")
DEFAULT_STATUS_ACTIONS = {
    "pending": "quotation",
    "processing": "paid",
    "on-hold": "confirm",
    "completed": "paid",
    "cancelled": "cancel",
    "refunded": "refund",
    "failed": "cancel",
    "checkout-draft": "ignore",
    "trash": "cancel",
}
# Canonical financial status of each action (the payment rules of the backend match on it).
_FINANCIAL = {
    "quotation": "pending",
    "confirm": "unpaid",
    "paid": "paid",
    "cancel": "voided",
    "refund": "refunded",
    "ignore": "pending",
}
RESTOCK_META = "_restock_refunded_items"
REFUNDED_ITEM_META = "_refunded_item_id"
TRACKING_META = "_wc_shipment_tracking_items"
# How the shared importer keys an order's shipping and fee lines (``importer/plan.py``): their sale
# lines are bound to "<order id>/shipping:<item id>" and "<order id>/fee:<item id>".
SHIPPING_LINE_PREFIX = "shipping:"
FEE_LINE_PREFIX = "fee:"


def load_payload(raw_body):
    """A body as JSON with ``Decimal`` numbers; ``ValidationError`` when it is not an object."""
    try:
        data = json.loads(raw_body, parse_float=Decimal)
    except (ValueError, TypeError):
        raise ValidationError([FieldError("$", "is not valid JSON")]) from None
    if not isinstance(data, dict):
        raise ValidationError([FieldError("$", "must be a JSON object")])
    return data


def status_action(status, status_actions=None):
    """The action of a WooCommerce status (a custom status not mapped: ``quotation``)."""
    table = {**DEFAULT_STATUS_ACTIONS, **(status_actions or {})}
    return table.get(str(status or "").strip().lower(), "quotation")


# ------------------------------------------------------------------- readers


class _Reader:
    """Collects every field error of one pass (the path, never the value)."""

    def __init__(self, currency="USD"):
        self.errors = []
        self.currency = currency

    def fail(self, path, message):
        self.errors.append(FieldError(path, message))

    def dec(self, data, key, path, default=ZERO):
        value = data.get(key) if isinstance(data, Mapping) else None
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            self.fail(f"{path}.{key}", "must be a number")
            return default
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            self.fail(f"{path}.{key}", "must be a number")
            return default
        if not number.is_finite():
            self.fail(f"{path}.{key}", "must be a finite number")
            return default
        return number

    def text(self, data, key):
        value = data.get(key) if isinstance(data, Mapping) else None
        if value is None:
            return None
        text = str(value).strip()
        return text or None

    def ident(self, data, key, path, required=True):
        value = data.get(key) if isinstance(data, Mapping) else None
        if isinstance(value, bool) or value in (None, "", 0, "0"):
            if required:
                self.fail(f"{path}.{key}", "is required")
            return None
        return str(value)

    def items(self, data, key, path):
        value = data.get(key) if isinstance(data, Mapping) else None
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", "must be a list")
            return []
        good = []
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                good.append((index, item))
            else:
                self.fail(f"{path}.{key}[{index}]", "must be an object")
        return good

    def money(self, amount):
        exponent = currency_exponent(self.currency)
        return amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def _address(data, with_email=True):
    if not isinstance(data, Mapping):
        return None

    def text(key):
        value = data.get(key)
        return str(value).strip() or None if value is not None else None

    values = {
        "first_name": text("first_name"),
        "last_name": text("last_name"),
        "company": text("company"),
        "street": text("address_1"),
        "street2": text("address_2"),
        "city": text("city"),
        "zip": text("postcode"),
        "state_code": text("state"),
        "country_code": (text("country") or "").upper() or None,
        "phone": text("phone"),
    }
    if with_email:
        values["email"] = (text("email") or "").lower() or None
    if not any(values.values()):
        return None
    return canonical.Address(**values)


def tax_rates(payload, rate_percents=None, reader=None):
    """``{rate id: (fraction, label, compound)}`` of an order's ``tax_lines``."""
    reader = reader or _Reader()
    mapped = {str(k): Decimal(str(v)) for k, v in (rate_percents or {}).items()}
    rates = {}
    for index, tax in reader.items(payload, "tax_lines", "$"):
        rate_id = reader.ident(tax, "rate_id", f"tax_lines[{index}]")
        if not rate_id:
            continue
        percent = tax.get("rate_percent")
        if percent in (None, "") and rate_id in mapped:
            percent = mapped[rate_id]
        if percent in (None, ""):
            reader.fail(f"tax_lines[{index}].rate_percent", "is missing and the rate id is not mapped on the backend")
            continue
        percent = reader.dec({"p": percent}, "p", f"tax_lines[{index}].rate_percent")
        label = str(tax.get("label") or tax.get("rate_code") or "").strip()
        rates[rate_id] = (percent / HUNDRED, label, bool(tax.get("compound")))
    return rates


def _taxes(reader, item, path, rates):
    """Canonical tax lines of an item's ``taxes[]`` (amounts rounded to the currency)."""
    lines = []
    for index, tax in reader.items(item, "taxes", path):
        rate_id = reader.ident(tax, "id", f"{path}.taxes[{index}]")
        amount = reader.dec(tax, "total", f"{path}.taxes[{index}]", default=None)
        if rate_id is None or amount is None:
            continue
        if rate_id not in rates:
            reader.fail(f"{path}.taxes[{index}].id", "names a rate that tax_lines does not list")
            continue
        rate, label, _compound = rates[rate_id]
        lines.append(canonical.TaxLine(rate=rate, amount=reader.money(abs(amount)), title=label))
    return lines


# --------------------------------------------------------------------- orders


def map_order(payload, *, rate_percents=None, status_actions=None, risk_meta_key=None):
    """A WooCommerce order -> ``canonical.Order`` (validated). Raises ``ValidationError``
    naming every bad field. ``risk_meta_key``: the order meta key the store's fraud plugin
    writes its level or score to (the order's ``risk_level``)."""
    if not isinstance(payload, Mapping):
        raise ValidationError([FieldError("$", "must be a JSON object")])
    currency = str(payload.get("currency") or "").strip().upper()
    reader = _Reader(currency if len(currency) == 3 else "USD")
    order_id = reader.ident(payload, "id", "$")
    included = bool(payload.get("prices_include_tax"))
    rates = tax_rates(payload, rate_percents, reader)
    action = status_action(payload.get("status"), status_actions)

    lines = []
    for index, item in reader.items(payload, "line_items", "$"):
        path = f"line_items[{index}]"
        quantity = reader.dec(item, "quantity", path)
        subtotal = reader.dec(item, "subtotal", path)
        total = reader.dec(item, "total", path)
        if included:
            subtotal += reader.dec(item, "subtotal_tax", path)
            total += reader.dec(item, "total_tax", path)
        unit_price = subtotal / quantity if quantity > 0 else ZERO
        variation = reader.ident(item, "variation_id", path, required=False)
        lines.append(canonical.Line(
            external_id=reader.ident(item, "id", path) or "",
            sku=reader.text(item, "sku"),
            name=reader.text(item, "name") or reader.text(item, "sku") or f"Item {item.get('id')}",
            quantity=quantity,
            unit_price=unit_price,
            discount_amount=max(subtotal - total, ZERO),
            tax_lines=_taxes(reader, item, path, rates),
            product_external_id=reader.ident(item, "product_id", path, required=False),
            variant_external_id=variation,
        ))

    shipping_lines = []
    for index, item in reader.items(payload, "shipping_lines", "$"):
        path = f"shipping_lines[{index}]"
        price = reader.dec(item, "total", path)
        if included:
            price += reader.dec(item, "total_tax", path)
        shipping_lines.append(canonical.ShippingLine(
            external_id=reader.ident(item, "id", path) or "",
            code=reader.text(item, "method_id"),
            title=reader.text(item, "method_title") or reader.text(item, "method_id") or "Shipping",
            price=max(price, ZERO),
            tax_lines=_taxes(reader, item, path, rates),
        ))

    fee_lines = []
    for index, item in reader.items(payload, "fee_lines", "$"):
        path = f"fee_lines[{index}]"
        amount = reader.dec(item, "total", path)
        if included:
            amount += reader.dec(item, "total_tax", path)
        fee_lines.append(canonical.FeeLine(
            external_id=reader.ident(item, "id", path) or "",
            name=reader.text(item, "name") or "Fee",
            amount=amount,
            tax_lines=_taxes(reader, item, path, rates),
        ))

    discounts = []
    for index, coupon in reader.items(payload, "coupon_lines", "$"):
        amount = reader.dec(coupon, "discount", f"coupon_lines[{index}]")
        if included:
            amount += reader.dec(coupon, "discount_tax", f"coupon_lines[{index}]")
        discounts.append(canonical.Discount(code=reader.text(coupon, "code"), amount=abs(amount), kind="fixed"))

    billing = payload.get("billing") if isinstance(payload.get("billing"), Mapping) else {}
    customer_id = reader.ident(payload, "customer_id", "$", required=False)
    email = (reader.text(billing, "email") or "").lower() or None
    customer = canonical.Customer(
        external_id=customer_id,
        email=email,
        first_name=reader.text(billing, "first_name"),
        last_name=reader.text(billing, "last_name"),
        phone=reader.text(billing, "phone"),
        company=reader.text(billing, "company"),
    )
    billing_address = _address(billing)
    shipping_address = _address(payload.get("shipping"), with_email=False) or billing_address

    total = reader.dec(payload, "total", "$", default=None)
    total_tax = reader.dec(payload, "total_tax", "$", default=None)
    gateway = reader.text(payload, "payment_method") or "manual"
    paid_at = parse_gmt(payload.get("date_paid_gmt"))
    payments = []
    if action in ("paid", "refund") and total and total > 0:
        payments.append(canonical.Payment(
            gateway=gateway,
            transaction_id=reader.text(payload, "transaction_id"),
            amount=total,
            currency=currency,
            method=reader.text(payload, "payment_method_title"),
            processed_at=paid_at,
        ))
    created = parse_gmt(payload.get("date_created_gmt"))
    updated = parse_gmt(payload.get("date_modified_gmt")) or created
    if created is None:
        reader.fail("date_created_gmt", "is required (ISO 8601, GMT)")
    cancelled = action == "cancel"
    if reader.errors:
        raise ValidationError(reader.errors)
    order = canonical.Order(
        external_id=order_id,
        name=str(payload.get("number") or order_id),
        currency=currency,
        taxes_included=included,
        lines=lines,
        created_at=created,
        updated_at=updated,
        shipping_lines=shipping_lines,
        fee_lines=fee_lines,
        discounts=discounts,
        customer=customer,
        billing_address=billing_address,
        shipping_address=shipping_address,
        payments=payments,
        financial_status=_FINANCIAL[action],
        fulfillment_status="fulfilled" if str(payload.get("status")) == "completed" else "unfulfilled",
        note=str(payload.get("customer_note") or ""),
        cancelled_at=updated if cancelled else None,
        cancel_reason=str(payload.get("status")) if cancelled else None,
        total_tax=total_tax,
        total=total,
        source_name=reader.text(payload, "created_via"),
        risk_level=order_risk_level(payload, risk_meta_key),
    )
    validate(order)
    return order


def order_risk_level(payload, risk_meta_key):
    """The canonical risk level of the order's ``risk_meta_key`` meta (None when absent/unknown)."""
    key = (risk_meta_key or "").strip()
    if not key or not isinstance(payload, Mapping):
        return None
    return normalize_risk_level(_meta(payload, key))


def order_refund_ids(payload):
    """Ids of the refunds an order lists (``refunds: [{id, reason, total}]``)."""
    refunds = payload.get("refunds") if isinstance(payload, Mapping) else None
    return [str(r["id"]) for r in refunds or [] if isinstance(r, Mapping) and r.get("id")]


# -------------------------------------------------------------------- refunds


def _meta(item, key):
    for meta in item.get("meta_data") or []:
        if isinstance(meta, Mapping) and meta.get("key") == key:
            return meta.get("value")
    return None


def restocked_items(order_payload):
    """``{order item id: quantity restocked}`` from the order's ``_restock_refunded_items`` meta."""
    result = {}
    for item in (order_payload or {}).get("line_items") or []:
        value = _meta(item, RESTOCK_META) if isinstance(item, Mapping) else None
        try:
            quantity = Decimal(str(value)) if value not in (None, "") else ZERO
        except ArithmeticError:
            quantity = ZERO
        if quantity > 0:
            result[str(item.get("id"))] = quantity
    return result


def map_refund(refund, order_payload):
    """A refund (``GET orders/<id>/refunds`` item) of ``order_payload`` -> ``canonical.Refund``.

    Line money: ``refund_total``/``refund_tax`` when the store sends them, else the negated
    ``total``/``total_tax``; tax-included orders refund tax-included line amounts. Refunded
    shipping items are the refund's shipping amount; a refunded fee item is money on the fee's
    order line (quantity 0, with its tax). A refund
    paid back through the gateway (``refunded_payment``) carries a refund transaction.
    """
    if not isinstance(refund, Mapping) or not isinstance(order_payload, Mapping):
        raise ValidationError([FieldError("$", "must be a JSON object")])
    currency = str(order_payload.get("currency") or "").upper()
    reader = _Reader(currency if len(currency) == 3 else "USD")
    included = bool(order_payload.get("prices_include_tax"))
    restocked = restocked_items(order_payload)
    lines = []
    explained = ZERO
    for index, item in reader.items(refund, "line_items", "$"):
        path = f"line_items[{index}]"
        original = _meta(item, REFUNDED_ITEM_META) or item.get("refunded_item_id")
        if not original:
            reader.fail(f"{path}.meta_data", f"has no {REFUNDED_ITEM_META}")
            continue
        net = reader.dec(item, "refund_total", path, default=None)
        net = abs(reader.dec(item, "total", path)) if net is None else abs(net)
        tax = sum((abs(reader.dec(t, "total", f"{path}.taxes")) for _i, t in reader.items(item, "taxes", path)), ZERO)
        tax = reader.money(tax)
        quantity = abs(reader.dec(item, "quantity", path))
        amount = net + tax if included else net
        explained += net + tax
        lines.append(canonical.RefundLine(
            order_line_external_id=str(original),
            quantity=quantity,
            restock=bool(quantity and restocked.get(str(original))),
            amount=amount,
            tax_amount=tax,
        ))
    shipping = shipping_tax = ZERO
    for index, item in reader.items(refund, "shipping_lines", "$"):
        shipping += abs(reader.dec(item, "total", f"shipping_lines[{index}]"))
        shipping_tax += abs(reader.dec(item, "total_tax", f"shipping_lines[{index}]"))
    explained += shipping + shipping_tax
    for index, item in reader.items(refund, "fee_lines", "$"):
        # A refunded fee: money on the fee's order line (quantity 0, its taxes), like a line item.
        path = f"fee_lines[{index}]"
        original = _meta(item, REFUNDED_ITEM_META)
        net = abs(reader.dec(item, "total", path))
        tax = abs(reader.dec(item, "total_tax", path, default=ZERO))
        if not original:
            continue  # no item to book it on: it stays in the adjustment
        explained += net + tax
        lines.append(canonical.RefundLine(
            order_line_external_id=f"{FEE_LINE_PREFIX}{original}", quantity=ZERO, restock=False,
            amount=net + tax if included else net, tax_amount=tax,
        ))
    amount = abs(reader.dec(refund, "amount", "$"))
    created = parse_gmt(refund.get("date_created_gmt")) or parse_gmt(order_payload.get("date_modified_gmt"))
    refund_id = reader.ident(refund, "id", "$")
    order_id = reader.ident(order_payload, "id", "$order")
    if created is None:
        reader.fail("date_created_gmt", "is required")
    if reader.errors:
        raise ValidationError(reader.errors)
    transactions = []
    if refund.get("refunded_payment"):
        transactions.append(canonical.Payment(
            gateway=str(order_payload.get("payment_method") or "manual"),
            transaction_id=f"wc-refund-{refund_id}",
            parent_transaction_id=str(order_payload.get("transaction_id") or "") or None,
            amount=amount,
            currency=currency,
            kind="refund",
            processed_at=created,
        ))
    result = canonical.Refund(
        external_id=refund_id,
        order_external_id=order_id,
        created_at=created,
        currency=currency,
        lines=lines,
        shipping_amount=shipping + (shipping_tax if included else ZERO),
        shipping_tax=shipping_tax,
        adjustment_amount=amount - explained,
        amount=amount,
        transactions=transactions,
        note=str(refund.get("reason") or ""),
    )
    validate(result)
    return result


def refund_payload(lines, amount, *, api_refund, api_restock, reason=""):
    """The body of ``POST orders/<id>/refunds``.

    ``lines``: ``[{"id": order item id, "quantity": Decimal, "refund_total": Decimal (untaxed),
    "refund_tax": {rate id: Decimal}}]``. ``api_refund`` is WooCommerce's "refund through the
    gateway" (its default is true: the connector always says it explicitly).
    """
    items = []
    for line in lines:
        items.append({
            "id": int(line["id"]),
            "quantity": int(line["quantity"]) if line["quantity"] == int(line["quantity"]) else str(line["quantity"]),
            "refund_total": str(line["refund_total"]),
            "refund_tax": [{"id": int(k), "refund_total": str(v)} for k, v in (line.get("refund_tax") or {}).items()],
        })
    return {
        "amount": str(amount),
        "reason": reason,
        "line_items": items,
        "api_refund": bool(api_refund),
        "api_restock": bool(api_restock),
    }


# ---------------------------------------------------------------- stock, shipments


def stock_batches(levels, limit=100):
    """Batch calls for stock levels ``[(product id, variation id or None, quantity)]``:
    ``[(parent product id or None, [update, ...])]``, at most ``limit`` updates each; simple
    products go to ``products/batch``, variations to ``products/<parent>/variations/batch``."""
    groups = {}
    for product_id, variation_id, quantity in levels:
        key = int(product_id) if variation_id else None
        target = int(variation_id) if variation_id else int(product_id)
        groups.setdefault(key, {})[target] = {
            "id": target, "manage_stock": True, "stock_quantity": int(quantity),
        }
    calls = []
    for parent in sorted(groups, key=lambda p: (p is not None, p or 0)):
        updates = list(groups[parent].values())
        for start in range(0, len(updates), limit):
            calls.append((parent, updates[start:start + limit]))
    return calls


def shipment_note(carrier, tracking_number, tracking_url=None, partial=False):
    """The customer note a done delivery adds to the order."""
    if partial:
        text = "Part of your order has shipped"
    else:
        text = "Your order has shipped"
    if carrier:
        text += f" with {carrier}"
    if tracking_number:
        text += f". Tracking number: {tracking_number}"
    if tracking_url:
        text += f" ({tracking_url})"
    return text + "."


def tracking_item(carrier, tracking_number, tracking_url, shipped_at):
    """One ``_wc_shipment_tracking_items`` entry as the Shipment Tracking extension stores it."""
    stamp = str(int(shipped_at.timestamp()))
    ident = hashlib.md5(f"{tracking_number}{carrier}{stamp}".encode(), usedforsecurity=False).hexdigest()
    return {
        "tracking_provider": "",
        "custom_tracking_provider": carrier or "",
        "custom_tracking_link": tracking_url or "",
        "tracking_number": tracking_number or "",
        "date_shipped": stamp,
        "tracking_id": ident,
    }
