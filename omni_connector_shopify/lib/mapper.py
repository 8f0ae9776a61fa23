"""Shopify payloads -> canonical records (no ``odoo`` import).

Input is the REST JSON Shopify delivers in webhooks (``orders/*``,
``refunds/create``, ``fulfillments/*``); the GraphQL nodes the client reads (polled
orders, order transactions, payouts) are mapped by ``mapper_graphql.py``.
**Parse the raw body with** ``json.loads(raw, parse_float=Decimal)``
(:func:`load_payload` does): Shopify writes some amounts and every tax rate as JSON
numbers, and a float would lose cents. A float reaching the mapper is refused with a
``ValidationError`` rather than rounded.

Conventions (see ``omni_connector_base.canonical.model``):

* the order's currency is the **shop** currency: every amount is read from
  ``*_set.shop_money`` when present, else from the plain field (which Shopify gives
  in shop currency); ``presentment_currency`` is kept for information;
* line ``discount_amount`` is the sum of the line's ``discount_allocations``; the
  ``discount_codes`` / non-code ``discount_applications`` become informative
  ``Discount`` records (their money already sits on the lines);
* ``total`` is ``total_price``, ``total_tax`` is ``total_tax``, ``total_untaxed`` is
  their difference -- what ``canonical.totals.check_totals`` compares with the lines.

Payments and payouts: a Shopify Payments payout line names the order transaction in
``source_order_transaction_id``; ``Payment.transaction_id`` is therefore the Shopify
*order transaction id* (``transactions[].id``), and Shopify's ``authorization``
(the processor's charge reference, ``ch_...``) goes to ``gateway_reference``. Webhook
order bodies carry no ``transactions``: the mapper then infers one payment per
gateway from ``payment_gateway_names`` and ``financial_status`` with
``transaction_id=None`` -- reconciliation matches those by ``source_order_id`` (the
order's external id), and by transaction id once the order was re-read with its
transactions (``ShopifyClient.get_order``) or a refund names its parent transaction.

Every mapping problem raises the canonical ``ValidationError``; field paths name the
Shopify field (``line_items[1].price``) so a person knows where to look. Messages
never repeat values (personal data).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .mapper_common import (
    _DISCOUNT_KIND,
    _FINANCIAL,
    _FULFILLMENT,
    _RESTOCK_TYPES,
    ZERO,
    FieldError,
    ValidationError,
    _datetime,
    _dec,
    _fail,
    _ident,
    _join,
    _list,
    _obj,
    _shop_amount,
    _text,
    build_address,
    build_payment,
    canonical,
    error_guard,
    guest_customer,
    inferred_payments,
    load_payload,
    payment_kinds,
    refund_amount,
    validate,
)


def _tax_lines(owner, path):
    result = []
    for index, tax in enumerate(_list(owner, "tax_lines", path)):
        tax_path = f"{_join(path, 'tax_lines')}[{index}]"
        _obj(tax, tax_path)
        amount = _shop_amount(tax, "price", tax_path)
        if amount == 0 and tax.get("rate") in (None, ""):
            continue
        # taxes are mapped to Odoo by rate: an amount without its rate cannot be imported
        rate = _dec(tax.get("rate"), _join(tax_path, "rate"))
        result.append(canonical.TaxLine(rate, amount, _text(tax.get("title")) or ""))
    return result


def _allocated(owner, path, by_index=None):
    total = ZERO
    for index, alloc in enumerate(_list(owner, "discount_allocations", path)):
        alloc_path = f"{_join(path, 'discount_allocations')}[{index}]"
        _obj(alloc, alloc_path)
        amount = _shop_amount(alloc, "amount", alloc_path)
        total += amount
        if by_index is not None:
            key = alloc.get("discount_application_index")
            by_index[key] = by_index.get(key, ZERO) + amount
    return total


REST_ADDRESS = {
    "first_name": "first_name", "last_name": "last_name", "company": "company", "street": "address1",
    "street2": "address2", "city": "city", "zip": "zip", "state_code": "province_code",
    "country_code": "country_code", "phone": "phone",
}


def _address(data, path):
    return build_address(data, path, REST_ADDRESS)


def _payment(tx, path, default_currency):
    _obj(tx, path)
    kinds = payment_kinds(tx.get("kind"), tx.get("status"))
    if kinds is None:
        return None
    amount = _shop_amount(tx, "amount", path)
    shop_money = (
        (tx.get("amount_set") or {}).get("shop_money") if isinstance(tx.get("amount_set"), Mapping) else None
    )
    if isinstance(shop_money, Mapping) and shop_money.get("amount") not in (None, ""):
        currency = _text(shop_money.get("currency_code")) or default_currency
    else:
        currency = _text(tx.get("currency")) or default_currency
    receipt = tx.get("receipt") if isinstance(tx.get("receipt"), Mapping) else {}
    return build_payment(
        kinds,
        gateway=tx.get("gateway"),
        transaction_id=_ident(tx.get("id")),
        amount=amount,
        currency=currency,
        processed_at=_datetime(
            tx.get("processed_at") or tx.get("created_at"), _join(path, "processed_at"), required=False
        ),
        reference=_ident(tx.get("authorization")) or _ident(receipt.get("charge_id")),
        parent=_ident(tx.get("parent_id")),
    )


def _inferred_payments(data, currency, financial_status, total):
    """Payments implied by a webhook body without ``transactions`` (see module docstring)."""
    return inferred_payments(
        data.get("payment_gateway_names"),
        lambda: _shop_amount(data, "total_outstanding", "", required=False),
        currency,
        financial_status,
        total,
    )


# -------------------------------------------------------------------------- order
def map_order(
    payload: Mapping[str, Any], *, payments: list | None = None, risk_level: str | None = None
) -> canonical.Order:
    """Shopify order (``orders/*`` webhook body, REST shape) -> validated canonical ``Order``.

    ``payments``: canonical payments read apart (the order's transactions through the API,
    ``mapper_graphql.map_graphql_transactions``); they replace the body's transactions and
    the inference from its gateways. ``risk_level``: the order's risk read apart (a webhook
    body has none; ``mapper_common.shopify_risk_level`` of the order's ``risk`` node).
    """
    data = _obj(payload, "$")
    errors = []
    guard = error_guard(errors)

    external_id = _ident(data.get("id"))
    if external_id is None:
        errors.append(FieldError("id", "is required"))
    currency = (_text(data.get("currency")) or "").upper()
    if not currency:
        errors.append(FieldError("currency", "is required"))
    taxes_included = data.get("taxes_included")
    if not isinstance(taxes_included, bool):
        errors.append(FieldError("taxes_included", "must be true or false"))
    financial_raw = data.get("financial_status")
    financial_status = _FINANCIAL.get(str(financial_raw).lower() if financial_raw is not None else None)
    if financial_status is None:
        errors.append(FieldError("financial_status", "is not a known Shopify financial status"))
    fulfillment_raw = data.get("fulfillment_status")
    fulfillment_status = _FULFILLMENT.get(
        str(fulfillment_raw).lower() if fulfillment_raw is not None else None
    )
    if fulfillment_status is None:
        errors.append(FieldError("fulfillment_status", "is not a known Shopify fulfillment status"))

    by_index = {}
    lines = []
    for index, item in enumerate(guard(_list, data, "line_items", "") or []):
        path = f"line_items[{index}]"
        line = guard(_line, item, path, by_index)
        if line is not None:
            lines.append(line)
    shipping_lines = []
    for index, item in enumerate(guard(_list, data, "shipping_lines", "") or []):
        path = f"shipping_lines[{index}]"
        line = guard(_shipping_line, item, path, by_index)
        if line is not None:
            shipping_lines.append(line)
    fee_lines = []
    tip = guard(_shop_amount, data, "total_tip_received", "", required=False)
    if tip:
        fee_lines.append(canonical.FeeLine(external_id="tip", name="Tip", amount=tip))

    discounts = guard(_discounts, data, by_index) or []
    total = guard(_shop_amount, data, "total_price", "")
    total_tax = guard(_shop_amount, data, "total_tax", "", required=False)
    total_untaxed = total - total_tax if total is not None and total_tax is not None else None

    email = _text(data.get("email")) or _text(data.get("contact_email"))
    customer = guard(_customer, data.get("customer"), email, data.get("billing_address"))
    billing = guard(_address, data.get("billing_address"), "billing_address")
    shipping = guard(_address, data.get("shipping_address"), "shipping_address")

    transactions = guard(_list, data, "transactions", "") or []
    read_apart = payments is not None
    transactions, payments = ((), list(payments)) if read_apart else (transactions, [])
    for index, tx in enumerate(transactions):
        payment = guard(_payment, tx, f"transactions[{index}]", currency)
        if payment is not None:
            payments.append(payment)
    if not transactions and not read_apart and financial_status and currency:
        payments = guard(_inferred_payments, data, currency, financial_status, total) or []

    note_attributes = {}
    for index, attr in enumerate(guard(_list, data, "note_attributes", "") or []):
        if not isinstance(attr, Mapping) or _text(attr.get("name")) is None:
            errors.append(FieldError(f"note_attributes[{index}].name", "is required"))
            continue
        value = attr.get("value")
        note_attributes[str(attr["name"]).strip()] = "" if value is None else str(value)

    created_at = guard(_datetime, data.get("created_at"), "created_at")
    updated_at = guard(_datetime, data.get("updated_at") or data.get("created_at"), "updated_at")
    cancelled_at = guard(_datetime, data.get("cancelled_at"), "cancelled_at", required=False)
    tags = data.get("tags")
    tags = [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else list(tags or [])
    presentment = (_text(data.get("presentment_currency")) or "").upper() or None
    if errors:
        raise ValidationError(errors)

    order = canonical.Order(
        external_id=external_id,
        name=_text(data.get("name")) or f"#{data.get('order_number') or external_id}",
        currency=currency,
        taxes_included=taxes_included,
        lines=lines,
        created_at=created_at,
        updated_at=updated_at,
        shipping_lines=shipping_lines,
        fee_lines=fee_lines,
        discounts=discounts,
        customer=customer,
        billing_address=billing,
        shipping_address=shipping,
        payments=payments,
        financial_status=financial_status,
        fulfillment_status=fulfillment_status,
        note=data.get("note") or "",
        note_attributes=note_attributes,
        cancelled_at=cancelled_at,
        cancel_reason=_text(data.get("cancel_reason")),
        total_untaxed=total_untaxed,
        total_tax=total_tax,
        total=total,
        is_test=bool(data.get("test")),
        source_name=_text(data.get("source_name")),
        tags=[str(t) for t in tags],
        presentment_currency=presentment,
        risk_level=risk_level,
        location_external_id=_ident(data.get("location_id")),
    )
    return validate(order)


def _line(item, path, by_index):
    _obj(item, path)
    quantity = _dec(item.get("quantity"), _join(path, "quantity"))
    if quantity == 0:
        return None  # a line removed by an order edit carries no money
    return canonical.Line(
        external_id=_ident(item.get("id")) or _fail(_join(path, "id"), "is required"),
        sku=_text(item.get("sku")),
        name=_text(item.get("name")) or _text(item.get("title")) or _fail(_join(path, "name"), "is required"),
        quantity=quantity,
        unit_price=_shop_amount(item, "price", path),
        discount_amount=_allocated(item, path, by_index),
        tax_lines=_tax_lines(item, path),
        product_external_id=_ident(item.get("product_id")),
        variant_external_id=_ident(item.get("variant_id")),
        barcode=_text(item.get("barcode")),
        requires_shipping=bool(item.get("requires_shipping", True)),
        is_gift_card=bool(item.get("gift_card")),
    )


def _shipping_line(item, path, by_index):
    _obj(item, path)
    if item.get("is_removed"):
        return None
    price = _shop_amount(item, "price", path)
    discount = _allocated(item, path, by_index)
    if not discount:
        discounted = _shop_amount(item, "discounted_price", path, required=False)
        if discounted is not None and discounted < price:
            discount = price - discounted
    return canonical.ShippingLine(
        external_id=_ident(item.get("id"))
        or _ident(item.get("code"))
        or _fail(_join(path, "id"), "is required"),
        code=_text(item.get("code")),
        title=_text(item.get("title")) or _text(item.get("code")) or "Shipping",
        price=price,
        discount_amount=discount,
        tax_lines=_tax_lines(item, path),
    )


def _discounts(data, by_index):
    result = []
    for index, code in enumerate(_list(data, "discount_codes", "")):
        path = f"discount_codes[{index}]"
        _obj(code, path)
        kind = _DISCOUNT_KIND.get(str(code.get("type") or "").lower(), "fixed")
        result.append(
            canonical.Discount(
                code=_text(code.get("code")),
                amount=_dec(code.get("amount"), _join(path, "amount"), required=False) or ZERO,
                kind=kind,
                description=_text(code.get("code")) or "",
            )
        )
    for index, app in enumerate(_list(data, "discount_applications", "")):
        _obj(app, f"discount_applications[{index}]")
        if app.get("type") == "discount_code":
            continue  # already listed from discount_codes, with its amount
        kind = (
            "shipping"
            if app.get("target_type") == "shipping_line"
            else _DISCOUNT_KIND.get(str(app.get("value_type") or "").lower(), "fixed")
        )
        result.append(
            canonical.Discount(
                code=None,
                amount=by_index.get(index, ZERO),
                kind=kind,
                description=_text(app.get("title"))
                or _text(app.get("description"))
                or str(app.get("type") or ""),
            )
        )
    return result


def _customer(data, order_email, billing):
    if data:
        _obj(data, "customer")
        return canonical.Customer(
            external_id=_ident(data.get("id")),
            email=_text(data.get("email")) or order_email,
            first_name=_text(data.get("first_name")),
            last_name=_text(data.get("last_name")),
            phone=_text(data.get("phone")),
        )
    return guest_customer(order_email, billing, REST_ADDRESS)


# ------------------------------------------------------------------------- refund
def map_refund(payload: Mapping[str, Any], *, currency: str | None = None) -> canonical.Refund:
    """``refunds/create`` body -> validated canonical ``Refund``.

    ``currency`` should be the refunded order's (shop) currency when the caller knows
    it (from the order binding); otherwise it is read from the lines' ``*_set`` or the
    transactions. ``amount`` is the money returned (successful refund transactions);
    shipping refunds and discrepancies come from ``refund_shipping_lines`` and
    ``order_adjustments`` (Shopify writes money going back to the buyer as negative
    adjustment amounts; the canonical ``adjustment_amount`` is their opposite).
    """
    data = _obj(payload, "$")
    errors = []
    external_id = _ident(data.get("id"))
    order_id = _ident(data.get("order_id"))
    if order_id is None:
        errors.append(FieldError("order_id", "is required"))

    lines = []
    shop_currency = None
    for index, item in enumerate(_list(data, "refund_line_items", "")):
        path = f"refund_line_items[{index}]"
        try:
            _obj(item, path)
            money_set = item.get("subtotal_set") or {}
            shop_currency = shop_currency or ((money_set.get("shop_money") or {}).get("currency_code"))
            line_item_id = _ident(item.get("line_item_id")) or _ident((item.get("line_item") or {}).get("id"))
            if line_item_id is None:
                _fail(_join(path, "line_item_id"), "is required")
            restock_type = str(item.get("restock_type") or "").lower()
            lines.append(
                canonical.RefundLine(
                    order_line_external_id=line_item_id,
                    quantity=_dec(item.get("quantity"), _join(path, "quantity")),
                    restock=restock_type in _RESTOCK_TYPES
                    or (not restock_type and bool(data.get("restock"))),
                    amount=_shop_amount(item, "subtotal", path),
                    tax_amount=_shop_amount(item, "total_tax", path, required=False) or ZERO,
                )
            )
        except ValidationError as exc:
            errors.extend(exc.errors)

    shipping_amount, shipping_tax, adjustment = ZERO, ZERO, ZERO
    try:
        for index, item in enumerate(_list(data, "refund_shipping_lines", "")):
            path = f"refund_shipping_lines[{index}]"
            _obj(item, path)
            shipping_amount += _shop_amount(item, "subtotal_amount", path, required=False) or ZERO
            shipping_tax += _shop_amount(item, "tax_amount", path, required=False) or ZERO
        for index, item in enumerate(_list(data, "order_adjustments", "")):
            path = f"order_adjustments[{index}]"
            _obj(item, path)
            amount = _shop_amount(item, "amount", path)
            tax = _shop_amount(item, "tax_amount", path, required=False) or ZERO
            if item.get("kind") == "shipping_refund":
                shipping_amount += -amount
                shipping_tax += -tax
            else:
                adjustment += -(amount + tax)
    except ValidationError as exc:
        errors.extend(exc.errors)

    currency = (currency or shop_currency or "").upper() or None
    transactions = []
    for index, tx in enumerate(_list(data, "transactions", "")):
        try:
            payment = _payment(tx, f"transactions[{index}]", currency)
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        if payment is not None:
            transactions.append(payment)
    if currency is None:
        currency = next((p.currency for p in transactions if p.currency), None)
    if currency is None:
        errors.append(FieldError("currency", "is unknown: no transaction or *_set names it"))
    amount = refund_amount(transactions, currency)
    created_at = None
    try:
        created_at = _datetime(data.get("created_at") or data.get("processed_at"), "created_at")
    except ValidationError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    refund = canonical.Refund(
        external_id=external_id,
        order_external_id=order_id,
        created_at=created_at,
        currency=currency,
        lines=lines,
        shipping_amount=shipping_amount,
        shipping_tax=shipping_tax,
        adjustment_amount=adjustment,
        amount=amount,
        transactions=transactions,
        note=data.get("note") or "",
    )
    return validate(refund)


# ----------------------------------------------------------------------- shipment
def map_fulfillment(payload: Mapping[str, Any]) -> canonical.Shipment:
    """``fulfillments/create`` / ``fulfillments/update`` body -> validated canonical ``Shipment``."""
    data = _obj(payload, "$")
    errors = []
    lines = []
    for index, item in enumerate(_list(data, "line_items", "")):
        path = f"line_items[{index}]"
        try:
            _obj(item, path)
            lines.append(
                canonical.ShipmentLine(
                    order_line_external_id=_ident(item.get("id")),
                    sku=_text(item.get("sku")),
                    quantity=_dec(item.get("quantity"), _join(path, "quantity")),
                )
            )
        except ValidationError as exc:
            errors.extend(exc.errors)
    numbers = data.get("tracking_numbers") or []
    urls = data.get("tracking_urls") or []
    tracking_number = _text(data.get("tracking_number")) or (_text(numbers[0]) if numbers else None)
    tracking_url = _text(data.get("tracking_url")) or (_text(urls[0]) if urls else None)
    if tracking_url and not tracking_url.lower().startswith(("http://", "https://")):
        tracking_url = None  # carriers sometimes send bare hosts; a non-http link is never rendered
    created_at = None
    try:
        created_at = _datetime(data.get("created_at"), "created_at", required=False)
    except ValidationError as exc:
        errors.extend(exc.errors)
    if _ident(data.get("order_id")) is None:
        errors.append(FieldError("order_id", "is required"))
    if errors:
        raise ValidationError(errors)
    shipment = canonical.Shipment(
        external_id=_ident(data.get("id")),
        order_external_id=_ident(data.get("order_id")),
        lines=lines,
        carrier=_text(data.get("tracking_company")),
        tracking_number=tracking_number,
        tracking_url=tracking_url,
        status=_text(data.get("shipment_status")) or _text(data.get("status")),
        created_at=created_at,
        notify_customer=bool(data.get("notify_customer")),
    )
    return validate(shipment)


# ----------------------------------------------------------------------- dispatch
ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
)


def map_webhook(topic: str, payload: Mapping[str, Any]):
    """The canonical record of a webhook body, by topic; None for topics without one.

    ``orders/delete`` (only an id) and ``orders/edited`` (an edit summary, not the
    order) map to None: re-read the order with ``ShopifyClient.get_order`` instead.
    """
    topic = (topic or "").strip().lower()
    if topic in ORDER_TOPICS:
        return map_order(payload)
    if topic == "refunds/create":
        return map_refund(payload)
    if topic in ("fulfillments/create", "fulfillments/update"):
        return map_fulfillment(payload)
    return None


__all__ = [
    "ORDER_TOPICS",
    "ValidationError",
    "load_payload",
    "map_fulfillment",
    "map_order",
    "map_refund",
    "map_webhook",
]
