"""The GraphQL -> REST converters the Shopify client had before ``lib/mapper_graphql.py`` mapped GraphQL
nodes directly: kept here, frozen, only as the oracle ``test_shopify_mapper_graphql.py`` compares the
direct mappers with (old converter + REST mapper == direct mapper). Not used by the addons."""

# ruff: noqa
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from omni_connector_shopify.lib.graphql import _PAYOUT_SUMMARY, legacy_id
from omni_connector_shopify.lib.graphql import nodes as _nodes
from omni_connector_shopify.lib.mapper_graphql import _legacy_text, _money_text

# ------------------------------------------------------ GraphQL -> REST-shaped order
_FULFILLMENT_STATUS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


def _money(bag, which="shopMoney"):
    money = (bag or {}).get(which) or {}
    amount = money.get("amount")
    return None if amount is None else format(Decimal(str(amount)), "f")


def _money_set(bag):
    if not bag:
        return None
    out = {}
    for src, dst in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money")):
        money = bag.get(src)
        if money:
            out[dst] = {"amount": _money(bag, src), "currency_code": money.get("currencyCode")}
    return out


def _tax_lines(items):
    return [
        {
            "title": t.get("title"),
            "rate": None if t.get("rate") is None else str(t.get("rate")),
            "price": _money(t.get("priceSet")),
            "price_set": _money_set(t.get("priceSet")),
        }
        for t in items or []
    ]


def _allocations(items):
    return [
        {
            "amount": _money(a.get("allocatedAmountSet")),
            "amount_set": _money_set(a.get("allocatedAmountSet")),
            "discount_application_index": (a.get("discountApplication") or {}).get("index"),
        }
        for a in items or []
    ]


def _address(addr):
    if not addr:
        return None
    return {
        "first_name": addr.get("firstName"),
        "last_name": addr.get("lastName"),
        "company": addr.get("company"),
        "address1": addr.get("address1"),
        "address2": addr.get("address2"),
        "city": addr.get("city"),
        "zip": addr.get("zip"),
        "province": addr.get("province"),
        "province_code": addr.get("provinceCode"),
        "country": addr.get("country"),
        "country_code": addr.get("countryCodeV2") or addr.get("countryCode"),
        "phone": addr.get("phone"),
    }


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def rest_transactions_from_graphql(nodes) -> list[dict]:
    """GraphQL ``OrderTransaction`` nodes -> the REST ``transactions`` items the mapper reads."""
    return [
        {
            "id": legacy_id(t.get("id")),
            "kind": _lower(t.get("kind")),
            "status": _lower(t.get("status")),
            "gateway": t.get("gateway"),
            "amount": _money(t.get("amountSet")),
            "currency": ((t.get("amountSet") or {}).get("shopMoney") or {}).get("currencyCode"),
            "authorization": t.get("authorizationCode"),
            "parent_id": legacy_id((t.get("parentTransaction") or {}).get("id")),
            "processed_at": t.get("processedAt"),
            "test": t.get("test"),
        }
        for t in _nodes(nodes)
    ]


def rest_order_from_graphql(node: Mapping[str, Any]) -> dict:
    """Turn a GraphQL ``Order`` node (selection :data:`ORDER_FIELDS`) into the REST shape.

    The result has the keys of the ``orders/*`` webhook body the mapper reads, so
    polled and pushed orders take one mapping path. Amounts are decimal strings
    (shop currency; ``*_set`` keep both currencies); the dict is JSON-serializable.
    ``total_discount`` is deliberately absent from line items: discounts are in
    ``discount_allocations`` only, as in current webhook bodies.
    """
    applications = _nodes(node.get("discountApplications"))
    lines = _nodes(node.get("lineItems"))
    shipping = _nodes(node.get("shippingLines"))

    allocated = {}
    for owner in [*lines, *shipping]:
        for alloc in owner.get("discountAllocations") or []:
            index = (alloc.get("discountApplication") or {}).get("index")
            amount = Decimal(_money(alloc.get("allocatedAmountSet")) or "0")
            allocated[index] = allocated.get(index, Decimal("0")) + amount

    rest_apps, discount_codes = [], []
    for position, app in enumerate(applications):
        index = app.get("index", position)
        value = app.get("value") or {}
        if "percentage" in value:
            value_type, amount_value = "percentage", str(value.get("percentage"))
        else:
            value_type, amount_value = "fixed_amount", _money({"shopMoney": value}) or "0"
        kind = {
            "DiscountCodeApplication": "discount_code",
            "ManualDiscountApplication": "manual",
            "AutomaticDiscountApplication": "automatic",
            "ScriptDiscountApplication": "script",
        }.get(app.get("__typename"), "discount_code" if app.get("code") else "manual")
        rest_apps.append(
            {
                "target_type": _lower(app.get("targetType")),
                "type": kind,
                "value": amount_value,
                "value_type": value_type,
                "allocation_method": _lower(app.get("allocationMethod")),
                "target_selection": _lower(app.get("targetSelection")),
                "code": app.get("code"),
                "title": app.get("title") or app.get("code"),
            }
        )
        if app.get("code"):
            code_type = "shipping" if app.get("targetType") == "SHIPPING_LINE" else value_type
            discount_codes.append(
                {
                    "code": app["code"],
                    "amount": format(allocated.get(index, Decimal("0")), "f"),
                    "type": code_type,
                }
            )
    if not discount_codes:  # codes the applications did not cover (e.g. no allocation yet)
        discount_codes = [
            {"code": c, "amount": "0.00", "type": None} for c in node.get("discountCodes") or []
        ]

    line_items, line_total = [], Decimal("0")
    for line in lines:
        price = _money(line.get("originalUnitPriceSet"))
        line_total += Decimal(price or "0") * int(line.get("quantity") or 0)
        line_items.append(
            {
                "id": legacy_id(line.get("id")),
                "admin_graphql_api_id": line.get("id"),
                "product_id": legacy_id((line.get("product") or {}).get("id")),
                "variant_id": legacy_id((line.get("variant") or {}).get("id")),
                "sku": line.get("sku"),
                "name": line.get("name"),
                "title": line.get("title"),
                "variant_title": line.get("variantTitle"),
                "vendor": line.get("vendor"),
                "quantity": line.get("quantity"),
                "current_quantity": line.get("currentQuantity"),
                "price": price,
                "price_set": _money_set(line.get("originalUnitPriceSet")),
                "taxable": line.get("taxable"),
                "requires_shipping": line.get("requiresShipping"),
                "gift_card": bool(line.get("isGiftCard")),
                "tax_lines": _tax_lines(line.get("taxLines")),
                "discount_allocations": _allocations(line.get("discountAllocations")),
            }
        )

    shipping_lines = [
        {
            "id": legacy_id(s.get("id")),
            "code": s.get("code"),
            "title": s.get("title"),
            "source": s.get("source"),
            "price": _money(s.get("originalPriceSet")),
            "price_set": _money_set(s.get("originalPriceSet")),
            "discounted_price": _money(s.get("discountedPriceSet")),
            "is_removed": bool(s.get("isRemoved")),
            "tax_lines": _tax_lines(s.get("taxLines")),
            "discount_allocations": _allocations(s.get("discountAllocations")),
        }
        for s in shipping
    ]

    transactions = rest_transactions_from_graphql(node.get("transactions"))

    customer = node.get("customer")
    if customer:
        tags = customer.get("tags")
        customer = {
            "id": legacy_id(customer.get("id")),
            "email": (customer.get("defaultEmailAddress") or {}).get("emailAddress"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
            "phone": (customer.get("defaultPhoneNumber") or {}).get("phoneNumber"),
            "tags": ", ".join(tags) if isinstance(tags, list) else tags,
        }

    tags = node.get("tags")
    return {
        "id": legacy_id(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "confirmation_number": node.get("confirmationNumber"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "closed_at": node.get("closedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "currency": node.get("currencyCode"),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "taxes_included": node.get("taxesIncluded"),
        "tax_exempt": node.get("taxExempt"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "source_name": node.get("sourceName"),
        "test": node.get("test"),
        "tags": ", ".join(tags) if isinstance(tags, list) else tags,
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus")),
        "payment_gateway_names": list(node.get("paymentGatewayNames") or []),
        "total_line_items_price": format(line_total, "f"),
        "total_discounts": _money(node.get("totalDiscountsSet")),
        "total_discounts_set": _money_set(node.get("totalDiscountsSet")),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "subtotal_price_set": _money_set(node.get("subtotalPriceSet")),
        "total_shipping_price_set": _money_set(node.get("totalShippingPriceSet")),
        "total_tax": _money(node.get("totalTaxSet")),
        "total_tax_set": _money_set(node.get("totalTaxSet")),
        "total_price": _money(node.get("totalPriceSet")),
        "total_price_set": _money_set(node.get("totalPriceSet")),
        "total_outstanding": _money(node.get("totalOutstandingSet")),
        "current_total_price": _money(node.get("currentTotalPriceSet")),
        "current_subtotal_price": _money(node.get("currentSubtotalPriceSet")),
        "current_total_tax": _money(node.get("currentTotalTaxSet")),
        "discount_codes": discount_codes,
        "discount_applications": rest_apps,
        "note": node.get("note"),
        "note_attributes": [
            {"name": a.get("key"), "value": a.get("value")} for a in node.get("customAttributes") or []
        ],
        "tax_lines": _tax_lines(node.get("taxLines")),
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "transactions": transactions,
        "customer": customer,
        "billing_address": _address(node.get("billingAddress")),
        "shipping_address": _address(node.get("shippingAddress")),
    }


# ------------------------------------------- GraphQL -> REST-shaped Shopify Payments
# Balance transaction types whose GraphQL name differs from the REST one; every other
# type is the REST name upper-cased (CHARGE/charge, DISPUTE_WITHDRAWAL/dispute_withdrawal).
_BALANCE_TYPES = {
    "TRANSFER": "payout",
    "TRANSFER_FAILURE": "payout_failure",
    "TRANSFER_CANCEL": "payout_cancellation",
}


def rest_payout_from_graphql(node: Mapping[str, Any]) -> dict:
    """A ``ShopifyPaymentsPayout`` node -> the REST ``payout`` dict (``settlement_from_shopify``).

    ``amount`` is the payout's ``net`` as a decimal string, negative for a ``WITHDRAWAL``
    (money taken back from the bank), ``date`` the issue day (UTC), ``status`` and
    ``transaction_type`` lower-cased, ids legacy numeric strings.
    """
    net = node.get("net") or {}
    amount = _money_text(net)
    direction = _lower(node.get("transactionType"))
    if amount is not None and direction == "withdrawal":
        amount = format(-abs(Decimal(amount)), "f")
    summary = node.get("summary") or {}
    issued_at = node.get("issuedAt")
    return {
        "id": _legacy_text(node.get("legacyResourceId") or node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "status": _lower(node.get("status")),
        "transaction_type": direction,
        "date": str(issued_at)[:10] if issued_at else None,
        "issued_at": issued_at,
        "currency": net.get("currencyCode"),
        "amount": amount,
        "summary": {key: _money_text(summary.get(name)) or "0.00" for name, key in _PAYOUT_SUMMARY},
    }


def rest_balance_transaction_from_graphql(node: Mapping[str, Any]) -> dict:
    """A ``ShopifyPaymentsBalanceTransaction`` node -> the REST ``transactions`` item.

    The payout's own transfer (``TRANSFER``) becomes type ``payout``, as in REST; the
    associated order and payout become ``source_order_id`` / ``payout_id`` (legacy ids).
    """
    raw_type = str(node.get("type") or "").upper()
    source_type = str(node.get("sourceType") or "").upper()
    amount = node.get("amount") or {}
    payout = node.get("associatedPayout") or {}
    return {
        "id": _legacy_text(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "type": _BALANCE_TYPES.get(raw_type, raw_type.lower()),
        "test": bool(node.get("test")),
        "payout_id": _legacy_text(payout.get("id")),
        "payout_status": _lower(payout.get("status")),
        "currency": amount.get("currencyCode"),
        "amount": _money_text(amount),
        "fee": _money_text(node.get("fee")) or "0",
        "net": _money_text(node.get("net")),
        "source_id": _legacy_text(node.get("sourceId")),
        "source_type": "payout" if source_type == "TRANSFER" else source_type.lower() or None,
        "source_order_id": _legacy_text((node.get("associatedOrder") or {}).get("id")),
        "source_order_transaction_id": _legacy_text(node.get("sourceOrderTransactionId")),
        "processed_at": node.get("transactionDate"),
        "adjustment_reason": node.get("adjustmentReason"),
    }
