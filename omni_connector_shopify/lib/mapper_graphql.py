"""Shopify GraphQL nodes -> canonical records (no ``odoo`` import).

The client hands over what the GraphQL Admin API answers, unconverted; this module maps
each shape it reads directly:

* an ``Order`` node (selection ``graphql.ORDER_FIELDS``: polled orders) -> ``Order``;
* ``OrderTransaction`` nodes (an order's transactions, read to complete a webhook body)
  -> ``Payment`` records;
* ``Refund`` and ``Fulfillment`` nodes (an order's, ``graphql.Q_ORDER_AFTERMATH``: polled
  refunds and fulfillments) -> ``Refund`` and ``Shipment``;
* a ``ShopifyPaymentsPayout`` node and its ``ShopifyPaymentsBalanceTransaction`` nodes ->
  a canonical settlement (``payouts.settlement_from_shopify`` keeps the REST payloads).

The conventions are the webhook mapper's (``mapper.py``): shop-currency amounts
(``shopMoney``), discounts allocated on the lines, ``Payment.transaction_id`` the order
transaction's legacy id. Field paths in a ``ValidationError`` name the GraphQL field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .graphql import legacy_id, nodes
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
    _obj,
    _text,
    build_address,
    build_payment,
    canonical,
    error_guard,
    guest_customer,
    inferred_payments,
    payment_kinds,
    refund_amount,
    shopify_risk_level,
    validate,
)
from .payouts import build_settlement, check_payout, settlement_lines

# displayFulfillmentStatus -> the webhook's fulfillment_status (None: nothing shipped yet)
_FULFILLMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}
_APPLICATION_KINDS = {
    "DiscountCodeApplication": "discount_code",
    "ManualDiscountApplication": "manual",
    "AutomaticDiscountApplication": "automatic",
    "ScriptDiscountApplication": "script",
}


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _money(bag, which="shopMoney"):
    """A ``MoneyBag``'s amount as exact decimal text (GraphQL money is a string); None when absent."""
    money = (bag or {}).get(which) or {}
    amount = money.get("amount")
    return None if amount is None else format(Decimal(str(amount)), "f")


def _amount(bag, path, *, required=True):
    return _dec(_money(bag), path, required=required)


def _legacy(value):
    return _ident(legacy_id(value))


def _tax_lines(owner, path):
    result = []
    for index, tax in enumerate(owner.get("taxLines") or []):
        tax_path = f"{_join(path, 'taxLines')}[{index}]"
        _obj(tax, tax_path)
        amount = _amount(tax.get("priceSet"), _join(tax_path, "priceSet"))
        rate = tax.get("rate")
        if amount == 0 and rate in (None, ""):
            continue
        # taxes are mapped to Odoo by rate: an amount without its rate cannot be imported
        rate = _dec(None if rate is None else str(rate), _join(tax_path, "rate"))
        result.append(canonical.TaxLine(rate, amount, _text(tax.get("title")) or ""))
    return result


def _allocated(owner, path, by_index):
    total = ZERO
    for index, alloc in enumerate(owner.get("discountAllocations") or []):
        alloc_path = f"{_join(path, 'discountAllocations')}[{index}]"
        _obj(alloc, alloc_path)
        amount = _amount(alloc.get("allocatedAmountSet"), _join(alloc_path, "allocatedAmountSet"))
        total += amount
        key = (alloc.get("discountApplication") or {}).get("index")
        by_index[key] = by_index.get(key, ZERO) + amount
    return total


GRAPHQL_ADDRESS = {
    "first_name": "firstName", "last_name": "lastName", "company": "company", "street": "address1",
    "street2": "address2", "city": "city", "zip": "zip", "state_code": "provinceCode",
    "country_code": ("countryCodeV2", "countryCode"), "phone": "phone",
}


def _line(item, path, by_index):
    _obj(item, path)
    quantity = _dec(item.get("quantity"), _join(path, "quantity"))
    if quantity == 0:
        return None  # a line removed by an order edit carries no money
    return canonical.Line(
        external_id=_legacy(item.get("id")) or _fail(_join(path, "id"), "is required"),
        sku=_text(item.get("sku")),
        name=_text(item.get("name")) or _text(item.get("title")) or _fail(_join(path, "name"), "is required"),
        quantity=quantity,
        unit_price=_amount(item.get("originalUnitPriceSet"), _join(path, "originalUnitPriceSet")),
        discount_amount=_allocated(item, path, by_index),
        tax_lines=_tax_lines(item, path),
        product_external_id=_legacy((item.get("product") or {}).get("id")),
        variant_external_id=_legacy((item.get("variant") or {}).get("id")),
        barcode=None,  # not selected: lines resolve by variant, then SKU
        requires_shipping=bool(item.get("requiresShipping")),
        is_gift_card=bool(item.get("isGiftCard")),
    )


def _shipping_line(item, path, by_index):
    _obj(item, path)
    if item.get("isRemoved"):
        return None
    price = _amount(item.get("originalPriceSet"), _join(path, "originalPriceSet"))
    discount = _allocated(item, path, by_index)
    if not discount:
        discounted = _amount(item.get("discountedPriceSet"), _join(path, "discountedPriceSet"), required=False)
        if discounted is not None and discounted < price:
            discount = price - discounted
    return canonical.ShippingLine(
        external_id=_legacy(item.get("id")) or _ident(item.get("code")) or _fail(_join(path, "id"), "is required"),
        code=_text(item.get("code")),
        title=_text(item.get("title")) or _text(item.get("code")) or "Shipping",
        price=price,
        discount_amount=discount,
        tax_lines=_tax_lines(item, path),
    )


def _application_kind(app):
    return _APPLICATION_KINDS.get(app.get("__typename"), "discount_code" if app.get("code") else "manual")


def _allocated_per_application(node):
    """What each discount application took, over every line and shipping line (removed ones too):
    the amount a discount code is listed with."""
    allocated = {}
    for owner in [*nodes(node.get("lineItems")), *nodes(node.get("shippingLines"))]:
        for alloc in owner.get("discountAllocations") or []:
            index = (alloc.get("discountApplication") or {}).get("index")
            allocated[index] = allocated.get(index, ZERO) + Decimal(_money(alloc.get("allocatedAmountSet")) or "0")
    return allocated


def _discounts(node, by_index):
    """Codes first (with the amount allocated to them), then the other applications."""
    applications = nodes(node.get("discountApplications"))
    per_application = _allocated_per_application(node)
    result = []
    for position, app in enumerate(applications):
        _obj(app, f"discountApplications[{position}]")
        if not app.get("code"):
            continue
        value = app.get("value") or {}
        kind = "shipping" if app.get("targetType") == "SHIPPING_LINE" else (
            "percentage" if "percentage" in value else "fixed")
        code = _text(app["code"])
        amount = format(per_application.get(app.get("index", position), ZERO), "f")
        result.append(canonical.Discount(
            code=code, amount=_dec(amount, f"discountApplications[{position}]") or ZERO, kind=kind,
            description=code or ""))
    if not result:  # codes no application covered (e.g. not allocated yet)
        result = [canonical.Discount(code=_text(c), amount=ZERO, kind="fixed", description=_text(c) or "")
                  for c in node.get("discountCodes") or []]
    for position, app in enumerate(applications):
        if _application_kind(app) == "discount_code":
            continue  # listed above, with its amount
        value = app.get("value") or {}
        kind = "shipping" if app.get("targetType") == "SHIPPING_LINE" else _DISCOUNT_KIND[
            "percentage" if "percentage" in value else "fixed_amount"]
        result.append(canonical.Discount(
            code=None,
            amount=by_index.get(position, ZERO),
            kind=kind,
            description=_text(app.get("title")) or _text(app.get("code")) or _application_kind(app),
        ))
    return result


def _customer(data, order_email, billing):
    if data:
        _obj(data, "customer")
        return canonical.Customer(
            external_id=_legacy(data.get("id")),
            email=_text((data.get("defaultEmailAddress") or {}).get("emailAddress")) or order_email,
            first_name=_text(data.get("firstName")),
            last_name=_text(data.get("lastName")),
            phone=_text((data.get("defaultPhoneNumber") or {}).get("phoneNumber")),
        )
    return guest_customer(order_email, billing, GRAPHQL_ADDRESS)


def _payment(tx, path, default_currency):
    _obj(tx, path)
    kinds = payment_kinds(tx.get("kind"), tx.get("status"))
    if kinds is None:
        return None
    amount_set = tx.get("amountSet") or {}
    return build_payment(
        kinds,
        gateway=tx.get("gateway"),
        transaction_id=_legacy(tx.get("id")),
        amount=_amount(amount_set, _join(path, "amountSet")),
        currency=_text((amount_set.get("shopMoney") or {}).get("currencyCode")) or default_currency,
        processed_at=_datetime(tx.get("processedAt"), _join(path, "processedAt"), required=False),
        reference=_ident(tx.get("authorizationCode")),
        parent=_legacy((tx.get("parentTransaction") or {}).get("id")),
    )


def map_graphql_transactions(transactions, currency) -> list[canonical.Payment]:
    """``OrderTransaction`` nodes -> canonical payments (``currency``: the order's, for nodes without one)."""
    errors, payments = [], []
    for index, tx in enumerate(nodes(transactions)):
        try:
            payment = _payment(tx, f"transactions[{index}]", currency)
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        if payment is not None:
            payments.append(payment)
    if errors:
        raise ValidationError(errors)
    return payments


def _inferred_payments(node, currency, financial_status, total):
    """Payments implied when the order lists no transaction (as for a webhook body)."""
    return inferred_payments(
        node.get("paymentGatewayNames"),
        lambda: _amount(node.get("totalOutstandingSet"), "totalOutstandingSet", required=False),
        currency,
        financial_status,
        total,
    )


def graphql_order_keys(node: Mapping[str, Any]) -> tuple[str, Any]:
    """``(legacy order id, updatedAt or createdAt)`` of an ``Order`` node (the inbox keys)."""
    order_id = _legacy(node.get("legacyResourceId") or node.get("id"))
    return order_id, node.get("updatedAt") or node.get("createdAt")


def map_graphql_order(node: Mapping[str, Any]) -> canonical.Order:
    """An ``Order`` node (``graphql.ORDER_FIELDS``, all line items) -> validated canonical ``Order``."""
    _obj(node, "$")
    errors = []
    guard = error_guard(errors)

    external_id, _updated = graphql_order_keys(node)
    if external_id is None:
        errors.append(FieldError("id", "is required"))
    currency = (_text(node.get("currencyCode")) or "").upper()
    if not currency:
        errors.append(FieldError("currencyCode", "is required"))
    taxes_included = node.get("taxesIncluded")
    if not isinstance(taxes_included, bool):
        errors.append(FieldError("taxesIncluded", "must be true or false"))
    financial_status = _FINANCIAL.get(_lower(node.get("displayFinancialStatus")))
    if financial_status is None:
        errors.append(FieldError("displayFinancialStatus", "is not a known Shopify financial status"))
    fulfillment_status = _FULFILLMENT[_FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus"))]

    by_index = {}
    lines = [line for index, item in enumerate(nodes(node.get("lineItems")))
             if (line := guard(_line, item, f"lineItems[{index}]", by_index)) is not None]
    shipping_lines = [line for index, item in enumerate(nodes(node.get("shippingLines")))
                      if (line := guard(_shipping_line, item, f"shippingLines[{index}]", by_index)) is not None]
    discounts = guard(_discounts, node, by_index) or []
    total = guard(_amount, node.get("totalPriceSet"), "totalPriceSet")
    total_tax = guard(_amount, node.get("totalTaxSet"), "totalTaxSet", required=False)
    total_untaxed = total - total_tax if total is not None and total_tax is not None else None

    email = _text(node.get("email"))
    customer = guard(_customer, node.get("customer"), email, node.get("billingAddress"))
    billing = guard(build_address, node.get("billingAddress"), "billingAddress", GRAPHQL_ADDRESS)
    shipping = guard(build_address, node.get("shippingAddress"), "shippingAddress", GRAPHQL_ADDRESS)

    transactions = nodes(node.get("transactions"))
    payments = guard(map_graphql_transactions, transactions, currency) or []
    if not transactions and financial_status and currency:
        payments = guard(_inferred_payments, node, currency, financial_status, total) or []

    note_attributes = {}
    for index, attr in enumerate(node.get("customAttributes") or []):
        if not isinstance(attr, Mapping) or _text(attr.get("key")) is None:
            errors.append(FieldError(f"customAttributes[{index}].key", "is required"))
            continue
        value = attr.get("value")
        note_attributes[str(attr["key"]).strip()] = "" if value is None else str(value)

    created_at = guard(_datetime, node.get("createdAt"), "createdAt")
    updated_at = guard(_datetime, node.get("updatedAt") or node.get("createdAt"), "updatedAt")
    cancelled_at = guard(_datetime, node.get("cancelledAt"), "cancelledAt", required=False)
    tags = node.get("tags")
    tags = ", ".join(tags) if isinstance(tags, list) else tags  # Shopify's tags never hold a comma
    tags = [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else []
    if errors:
        raise ValidationError(errors)
    order = canonical.Order(
        external_id=external_id,
        name=_text(node.get("name")) or f"#{external_id}",
        currency=currency,
        taxes_included=taxes_included,
        lines=lines,
        created_at=created_at,
        updated_at=updated_at,
        shipping_lines=shipping_lines,
        fee_lines=[],
        discounts=discounts,
        customer=customer,
        billing_address=billing,
        shipping_address=shipping,
        payments=payments,
        financial_status=financial_status,
        fulfillment_status=fulfillment_status,
        note=node.get("note") or "",
        note_attributes=note_attributes,
        cancelled_at=cancelled_at,
        cancel_reason=_text(_lower(node.get("cancelReason"))),
        total_untaxed=total_untaxed,
        total_tax=total_tax,
        total=total,
        is_test=bool(node.get("test")),
        source_name=_text(node.get("sourceName")),
        tags=tags,
        presentment_currency=(_text(node.get("presentmentCurrencyCode")) or "").upper() or None,
        risk_level=shopify_risk_level(node.get("risk")),
    )
    return validate(order)


# ------------------------------------------------------------- refunds, fulfillments
def _guarded(errors, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None


def _refund_line(item, path):
    _obj(item, path)
    line_item_id = _legacy((item.get("lineItem") or {}).get("id")) or _fail(_join(path, "lineItem.id"), "is required")
    return canonical.RefundLine(
        order_line_external_id=line_item_id,
        quantity=_dec(item.get("quantity"), _join(path, "quantity")),
        restock=str(_lower(item.get("restockType")) or "") in _RESTOCK_TYPES,
        amount=_amount(item.get("subtotalSet"), _join(path, "subtotalSet")),
        tax_amount=_amount(item.get("totalTaxSet"), _join(path, "totalTaxSet"), required=False) or ZERO,
    )


def _refund_extras(node):
    """``(shipping, shipping tax, adjustment)``: refunded shipping lines, and the order adjustments
    (refund discrepancies, written like the webhook's: money back to the buyer is negative)."""
    shipping, shipping_tax, adjustment = ZERO, ZERO, ZERO
    for index, item in enumerate(nodes(node.get("refundShippingLines"))):
        path = f"refundShippingLines[{index}]"
        _obj(item, path)
        shipping += _amount(item.get("subtotalAmountSet"), _join(path, "subtotalAmountSet"), required=False) or ZERO
        shipping_tax += _amount(item.get("taxAmountSet"), _join(path, "taxAmountSet"), required=False) or ZERO
    for index, item in enumerate(nodes(node.get("orderAdjustments"))):
        path = f"orderAdjustments[{index}]"
        _obj(item, path)
        amount = _amount(item.get("amountSet"), _join(path, "amountSet"))
        tax = _amount(item.get("taxAmountSet"), _join(path, "taxAmountSet"), required=False) or ZERO
        adjustment += -(amount + tax)
    return shipping, shipping_tax, adjustment


def map_graphql_refund(node: Mapping[str, Any], order_id, *, currency: str | None = None) -> canonical.Refund:
    """A ``Refund`` node of order ``order_id`` (legacy id or gid) -> validated canonical ``Refund``.

    ``currency``: the order's (shop) currency when known, else the shop money of the node.
    The conventions are ``mapper.map_refund``'s: ``amount`` is what successful refund
    transactions returned; restocked lines are those returned or cancelled.
    """
    _obj(node, "$")
    errors = []
    order_external_id = _legacy(order_id)
    if order_external_id is None:
        errors.append(FieldError("order.id", "is required"))
    lines = [line for index, item in enumerate(nodes(node.get("refundLineItems")))
             if (line := _guarded(errors, _refund_line, item, f"refundLineItems[{index}]")) is not None]
    shipping, shipping_tax, adjustment = _guarded(errors, _refund_extras, node) or (ZERO, ZERO, ZERO)
    shop_currency = next(
        (((bag or {}).get("shopMoney") or {}).get("currencyCode")
         for bag in [node.get("totalRefundedSet"), *(i.get("subtotalSet") for i in nodes(node.get("refundLineItems"))
                                                     if isinstance(i, Mapping))]
         if ((bag or {}).get("shopMoney") or {}).get("currencyCode")),
        None,
    )
    currency = (currency or shop_currency or "").upper() or None
    transactions = _guarded(errors, map_graphql_transactions, node.get("transactions"), currency) or []
    currency = currency or next((p.currency for p in transactions if p.currency), None)
    if currency is None:
        errors.append(FieldError("currency", "is unknown: no transaction or money bag names it"))
    created_at = _guarded(errors, _datetime, node.get("createdAt"), "createdAt")
    if errors:
        raise ValidationError(errors)
    return validate(canonical.Refund(
        external_id=_legacy(node.get("id")), order_external_id=order_external_id, created_at=created_at,
        currency=currency, lines=lines, transactions=transactions, amount=refund_amount(transactions, currency),
        shipping_amount=shipping, shipping_tax=shipping_tax, adjustment_amount=adjustment,
        note=node.get("note") or "",
    ))


def _shipment_line(item, path):
    _obj(item, path)
    line_item = item.get("lineItem") or {}
    return canonical.ShipmentLine(
        order_line_external_id=_legacy(line_item.get("id")) or _fail(_join(path, "lineItem.id"), "is required"),
        sku=_text(line_item.get("sku")),
        quantity=_dec(item.get("quantity"), _join(path, "quantity")),
    )


def map_graphql_fulfillment(node: Mapping[str, Any], order_id) -> canonical.Shipment:
    """A ``Fulfillment`` node of order ``order_id`` -> validated canonical ``Shipment`` (the first
    tracking entry gives carrier, number and URL; a URL that is not http(s) is dropped)."""
    _obj(node, "$")
    errors = []
    lines = [line for index, item in enumerate(nodes(node.get("fulfillmentLineItems")))
             if (line := _guarded(errors, _shipment_line, item, f"fulfillmentLineItems[{index}]")) is not None]
    tracking = next((t for t in node.get("trackingInfo") or [] if isinstance(t, Mapping)), {})
    url = _text(tracking.get("url"))
    if url and not url.lower().startswith(("http://", "https://")):
        url = None  # carriers sometimes send bare hosts; a non-http link is never rendered
    created_at = _guarded(errors, _datetime, node.get("createdAt"), "createdAt", required=False)
    order_external_id = _legacy(order_id)
    if order_external_id is None:
        errors.append(FieldError("order.id", "is required"))
    if errors:
        raise ValidationError(errors)
    return validate(canonical.Shipment(
        external_id=_legacy(node.get("id")),
        order_external_id=order_external_id,
        lines=lines,
        carrier=_text(tracking.get("company")),
        tracking_number=_text(tracking.get("number")),
        tracking_url=url,
        status=_text(_lower(node.get("status"))),
        created_at=created_at,
        notify_customer=False,
    ))


# ---------------------------------------------------------------- Shopify Payments
# Balance transaction types whose GraphQL name differs from the REST one; every other type is
# the REST name upper-cased (CHARGE/charge, DISPUTE_WITHDRAWAL/dispute_withdrawal).
_BALANCE_TYPES = {"TRANSFER": "payout", "TRANSFER_FAILURE": "payout_failure", "TRANSFER_CANCEL": "payout_cancellation"}


def _money_text(money):
    """A ``MoneyV2`` (or a bare amount) -> exact decimal text; None stays None."""
    amount = money.get("amount") if isinstance(money, Mapping) else money
    if amount is None or amount == "":
        return None
    return format(Decimal(str(amount)), "f")


def _legacy_text(value):
    legacy = legacy_id(value)
    return None if legacy is None else str(legacy)


def graphql_payout_id(node: Mapping[str, Any]) -> str:
    """The legacy id of a ``ShopifyPaymentsPayout`` node (what reconciliation knows payouts by)."""
    return _legacy_text(node.get("legacyResourceId") or node.get("id"))


def graphql_balance_lines(node: Mapping[str, Any], payout_id=None, default_currency=""):
    """One ``ShopifyPaymentsBalanceTransaction`` node -> its canonical settlement lines.

    The payout's own transfer (``TRANSFER``) gives no line; a dispute with a fee gives two.
    """
    raw_type = str(node.get("type") or "").upper()
    source_type = str(node.get("sourceType") or "").upper()
    amount = node.get("amount") or {}
    return settlement_lines(
        txn_type=_BALANCE_TYPES.get(raw_type, raw_type.lower()),
        external_id=_legacy_text(node.get("id")),
        amount=_money_text(amount),
        fee=_money_text(node.get("fee")) or "0",
        net=_money_text(node.get("net")),
        source_type="payout" if source_type == "TRANSFER" else source_type.lower(),
        source_id=_legacy_text(node.get("sourceId")),
        order_txn=_legacy_text(node.get("sourceOrderTransactionId")),
        order_ref=_legacy_text((node.get("associatedOrder") or {}).get("id")),
        currency=amount.get("currencyCode") or default_currency,
        processed_at=node.get("transactionDate"),
        payout_id=payout_id,
    )


def settlement_from_graphql(payout: Mapping[str, Any], balance_transactions):
    """A ``ShopifyPaymentsPayout`` node and its balance transaction nodes -> canonical settlement.

    ``expected_amount`` is the payout's ``net``, negative for a ``WITHDRAWAL`` (money taken back
    from the bank); the payout date is its issue day (UTC). No I/O.
    """
    payout_id = graphql_payout_id(payout)
    net = payout.get("net") or {}
    currency = net.get("currencyCode")
    lines = []
    for txn in nodes(balance_transactions):
        associated = _legacy_text((txn.get("associatedPayout") or {}).get("id"))
        check_payout(_legacy_text(txn.get("id")), associated, payout_id)
        lines.extend(graphql_balance_lines(txn, payout_id=payout_id, default_currency=currency))
    amount = _dec(_money_text(net) or "0", "net")
    if _lower(payout.get("transactionType")) == "withdrawal":
        amount = -abs(amount)
    issued_at = payout.get("issuedAt")
    return build_settlement(
        payout_id,
        currency,
        lines,
        payout_date=str(issued_at)[:10] if issued_at else None,
        account_ref=None,
        expected_amount=amount,
        status=str(payout.get("status") or "").lower(),
        raw=dict(payout),
    )
