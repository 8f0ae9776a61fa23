"""eBay Fulfillment API orders -> canonical ``Order`` / ``Refund``; canonical shipments and
stock -> eBay payloads. Pure (no ``odoo`` import).

Taxes come from ``fieldGroups=TAX_BREAKDOWN``: each line item's ``taxes`` (and
``ebayCollectAndRemitTaxes`` for the part eBay collects and remits itself). A line's tax
covers the item and its shipping, so a line item with a shipping cost gets its own
shipping line and the tax is split between them at one rate.

Tax eBay collects and remits is not the seller's to owe. The mapper keeps it on the order
as tax lines titled ``ebayCollectAndRemit:<taxType>`` and ``collected_line_ids(order)``
names the lines that carry it; the marketplace's treatment (``lib/collected_tax.py``,
shared with Amazon) then either books it through a non-payable "collected tax" (``tax``)
or takes it off the order with a memo (``exclude``). The payout mapper
(``lib.ebay_payouts``) follows the same treatment.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

try:
    from odoo.addons.omni_connector_base.canonical import model as cm
    from odoo.addons.omni_connector_base.canonical.settlement import parse_iso_datetime
except ImportError:  # pure tests
    from omni_connector_base.canonical import model as cm
    from omni_connector_base.canonical.settlement import parse_iso_datetime

ValidationError = cm.ValidationError
# The values of lib/collected_tax.py's TREATMENT_EXCLUDE / TREATMENT_TAX.
COLLECTED_EXCLUDE = "exclude"
COLLECTED_KEEP = "tax"
COLLECTED_TAX_TITLE = "ebayCollectAndRemit"
CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")
FINANCIAL_STATUS = {
    "PAID": "paid",
    "PENDING": "pending",
    "FAILED": "unpaid",
    "PARTIALLY_REFUNDED": "partially_refunded",
    "FULLY_REFUNDED": "refunded",
}
FULFILLMENT_STATUS = {"NOT_STARTED": "unfulfilled", "IN_PROGRESS": "partial", "FULFILLED": "fulfilled"}
# Orders that become confirmed sale orders (orderPaymentStatus, orderFulfillmentStatus).
IMPORTABLE_PAYMENT = frozenset({"PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED"})


def _fail(path, message):
    raise ValidationError([cm.FieldError(path, message)])


def money(node, path):
    """``{"value": "45.00", "currency": "USD"}`` -> (Decimal, currency)."""
    if not isinstance(node, dict):
        _fail(path, "is missing")
    try:
        value = Decimal(str(node.get("value")))
    except (InvalidOperation, TypeError, ValueError):
        _fail(f"{path}.value", "is not a decimal amount")
    if not value.is_finite():
        _fail(f"{path}.value", "is not a decimal amount")
    return value, str(node.get("currency") or "").upper()


def amount(node, path, default=None):
    if node is None and default is not None:
        return default
    return money(node, path)[0]


def when(text, path):
    try:
        moment = parse_iso_datetime(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None:
        _fail(path, "is not an ISO 8601 date-time")
    return moment


def _split_name(full):
    parts = (full or "").strip().split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return None, parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _address(node):
    if not isinstance(node, dict):
        return None
    contact = node.get("contactAddress") or {}
    first, last = _split_name(node.get("fullName"))
    return cm.Address(
        first_name=first, last_name=last, company=node.get("companyName") or None,
        street=contact.get("addressLine1") or None, street2=contact.get("addressLine2") or None,
        city=contact.get("city") or None, zip=contact.get("postalCode") or None,
        state_code=contact.get("stateOrProvince") or None,
        country_code=(contact.get("countryCode") or "").upper() or None,
        phone=(node.get("primaryPhone") or {}).get("phoneNumber") or None,
        email=node.get("email") or None,
    )


def collected_taxes(item, path):
    """The tax eBay collects and remits on one line item: ``{taxType: amount}``."""
    result = {}
    for index, tax in enumerate(item.get("ebayCollectAndRemitTaxes") or []):
        value = amount(tax.get("amount"), f"{path}.ebayCollectAndRemitTaxes[{index}].amount")
        key = tax.get("taxType") or "TAX"
        result[key] = result.get(key, Decimal(0)) + value
    return result


def _line_taxes(item, path):
    """``[(title, amount)]`` of the line's taxes the order keeps, and the collected total."""
    collected = collected_taxes(item, path)
    remaining = dict(collected)
    kept = []
    for index, tax in enumerate(item.get("taxes") or []):
        value = amount(tax.get("amount"), f"{path}.taxes[{index}].amount")
        kind = tax.get("taxType") or "TAX"
        covered = min(value, remaining.get(kind, Decimal(0)))
        if covered:
            remaining[kind] -= covered
            kept.append((f"{COLLECTED_TAX_TITLE}:{kind}", covered))
        if value - covered:
            kept.append((kind, value - covered))
    # Collected taxes that ``taxes`` did not list (older answers list them only there).
    for kind, value in remaining.items():
        if value:
            kept.append((f"{COLLECTED_TAX_TITLE}:{kind}", value))
    return kept, sum(collected.values(), Decimal(0))


def _split_tax(kept, goods, shipping):
    """Split each tax between the goods and the shipping of the line at one rate."""
    base = goods + shipping
    goods_taxes, ship_taxes = [], []
    for title, value in kept:
        rate = (value / base).quantize(RATE_STEP, ROUND_HALF_UP) if base else Decimal(0)
        on_goods = (goods * value / base).quantize(CENT, ROUND_HALF_UP) if base else value
        goods_taxes.append(cm.TaxLine(rate, on_goods, title))
        if value - on_goods:
            ship_taxes.append(cm.TaxLine(rate, value - on_goods, title))
    return goods_taxes, ship_taxes


def is_importable(payload):
    """PAID (and refunded) orders become sale orders; pending/failed payments wait."""
    return payload.get("orderPaymentStatus") in IMPORTABLE_PAYMENT


def collected_line_ids(order):
    """External ids of the order's lines (products and shipping) whose taxes eBay collected."""
    return [
        line.external_id for line in (*order.lines, *order.shipping_lines)
        if line.tax_lines and all(tax.title.startswith(COLLECTED_TAX_TITLE) for tax in line.tax_lines)
    ]


def marketplace_of(payload):
    """The eBay marketplace id (EBAY_US, EBAY_DE...) the order was bought on."""
    for item in payload.get("lineItems") or []:
        ref = item.get("purchaseMarketplaceId") or item.get("listingMarketplaceId")
        if ref:
            return ref
    return None


def map_order(payload):
    """A Fulfillment API order (``getOrder``/``getOrders`` item) -> canonical ``Order``, every
    tax kept (collected ones titled ``ebayCollectAndRemit:...``, see ``collected_line_ids``)."""
    if not isinstance(payload, dict):
        _fail("order", "is not a JSON object")
    order_id = payload.get("orderId")
    if not order_id:
        _fail("orderId", "is missing")
    pricing = payload.get("pricingSummary") or {}
    total, currency = money(pricing.get("total"), "pricingSummary.total")
    ship_to = None
    carrier = None
    for instruction in payload.get("fulfillmentStartInstructions") or []:
        step = instruction.get("shippingStep") or {}
        if step.get("shipTo"):
            ship_to = step["shipTo"]
            carrier = step.get("shippingServiceCode") or step.get("shippingCarrierCode")
            break
    lines, shipping_lines = [], []
    collected_total = Decimal(0)
    declared_tax = Decimal(0)
    items = payload.get("lineItems")
    if not isinstance(items, list) or not items:
        _fail("lineItems", "must contain at least one entry")
    for index, item in enumerate(items):
        path = f"lineItems[{index}]"
        line_id = str(item.get("lineItemId") or "")
        if not line_id:
            _fail(f"{path}.lineItemId", "is missing")
        try:
            quantity = Decimal(str(item.get("quantity")))
        except (InvalidOperation, TypeError, ValueError):
            _fail(f"{path}.quantity", "is not a number")
        cost = amount(item.get("lineItemCost"), f"{path}.lineItemCost")
        discount = Decimal(0)
        for pindex, promo in enumerate(item.get("appliedPromotions") or []):
            discount += amount(promo.get("discountAmount"), f"{path}.appliedPromotions[{pindex}].discountAmount",
                               Decimal(0))
        ship_node = (item.get("deliveryCost") or {}).get("shippingCost")
        ship = amount(ship_node, f"{path}.deliveryCost.shippingCost", Decimal(0))
        kept, collected = _line_taxes(item, path)
        collected_total += collected
        declared_tax += sum((value for _title, value in kept), Decimal(0))
        goods_taxes, ship_taxes = _split_tax(kept, cost - discount, ship)
        unit_price = (cost / quantity) if quantity else cost
        lines.append(cm.Line(
            external_id=line_id, sku=item.get("sku") or None, name=item.get("title") or line_id,
            quantity=quantity, unit_price=unit_price, discount_amount=discount, tax_lines=goods_taxes,
            product_external_id=item.get("legacyItemId") or None,
            variant_external_id=item.get("legacyVariationId") or None,
        ))
        if ship:
            shipping_lines.append(cm.ShippingLine(
                external_id=f"ship-{line_id}", code=carrier, title=carrier or "Shipping", price=ship,
                tax_lines=ship_taxes))
    payments = []
    for index, pay in enumerate((payload.get("paymentSummary") or {}).get("payments") or []):
        value, pay_currency = money(pay.get("amount"), f"paymentSummary.payments[{index}].amount")
        status = pay.get("paymentStatus")
        payments.append(cm.Payment(
            gateway="ebay", transaction_id=order_id, amount=value,
            currency=pay_currency or currency, kind="sale",
            status="success" if status == "PAID" else ("failure" if status == "FAILED" else "pending"),
            method=pay.get("paymentMethod") or None,
            processed_at=when(pay["paymentDate"], f"paymentSummary.payments[{index}].paymentDate")
            if pay.get("paymentDate") else None,
        ))
    buyer = payload.get("buyer") or {}
    registration = buyer.get("buyerRegistrationAddress") or {}
    first, last = _split_name(registration.get("fullName") or (ship_to or {}).get("fullName"))
    customer = cm.Customer(
        external_id=buyer.get("username") or None, email=registration.get("email") or (ship_to or {}).get("email"),
        first_name=first, last_name=last, phone=(registration.get("primaryPhone") or {}).get("phoneNumber"),
    )
    cancel = payload.get("cancelStatus") or {}
    cancelled_at = cancel_reason = None
    if cancel.get("cancelState") == "CANCELED":
        requests_ = cancel.get("cancelRequests") or [{}]
        cancelled_at = when(requests_[0].get("cancelCompletedDate") or payload.get("lastModifiedDate"),
                            "cancelStatus.cancelRequests[0].cancelCompletedDate")
        cancel_reason = requests_[0].get("cancelReason") or "eBay cancellation"
    note_attributes = {"ebay_username": buyer.get("username") or ""}
    if collected_total:
        note_attributes["ebay_collected_tax"] = f"{collected_total} {currency}"
    total_tax = declared_tax
    return cm.Order(
        external_id=order_id, name=order_id, currency=currency, taxes_included=False,
        lines=lines, shipping_lines=shipping_lines,
        created_at=when(payload.get("creationDate"), "creationDate"),
        updated_at=when(payload.get("lastModifiedDate"), "lastModifiedDate"),
        customer=customer, billing_address=_address(registration) or _address(ship_to),
        shipping_address=_address(ship_to), payments=payments,
        financial_status=FINANCIAL_STATUS.get(payload.get("orderPaymentStatus"), "pending"),
        fulfillment_status=FULFILLMENT_STATUS.get(payload.get("orderFulfillmentStatus"), "unfulfilled"),
        note_attributes=note_attributes, cancelled_at=cancelled_at, cancel_reason=cancel_reason,
        total_tax=total_tax, total=total, source_name="ebay",
    )


def _refund(refund_id, order_id, created_at, currency, value, parts, order, restock):
    """A canonical refund of ``value`` from ``parts`` = ``[(lineItemId, amount)]``: each part
    pays the line first, then its shipping; a part covering both returns the goods."""
    lines = []
    shipping_amount = Decimal(0)
    explained = Decimal(0)
    for line_id, line_amount in parts:
        line = order.line_by_external_id(line_id) if order else None
        ship = next((s for s in order.shipping_lines if s.external_id == f"ship-{line_id}"), None) if order else None
        goods = line.net if line else line_amount
        on_line = min(line_amount, goods)
        on_ship = min(line_amount - on_line, ship.net if ship else Decimal(0))
        full = line is not None and on_line >= goods
        lines.append(cm.RefundLine(
            order_line_external_id=line_id, quantity=line.quantity if full else Decimal(0),
            restock=full and restock, amount=on_line))
        shipping_amount += on_ship
        explained += on_line + on_ship
    return cm.Refund(
        external_id=refund_id, order_external_id=order_id, created_at=created_at, currency=currency,
        lines=lines, shipping_amount=shipping_amount, adjustment_amount=value - explained, amount=value,
        transactions=[cm.Payment(gateway="ebay", transaction_id=refund_id, amount=value, currency=currency,
                                 kind="refund", status="success")],
    )


def map_order_refunds(payload, *, restock=True):
    """``paymentSummary.refunds`` of an order -> canonical ``Refund`` records (completed ones).

    A line item's ``refunds`` entry with the same ``refundId`` names the line; a refund of
    the whole line returns the goods (``restock``), a smaller one is money only.
    """
    order = map_order(payload)
    by_refund = {}
    for index, item in enumerate(payload.get("lineItems") or []):
        for rindex, refund in enumerate(item.get("refunds") or []):
            key = refund.get("refundId") or refund.get("refundReferenceId")
            by_refund.setdefault(key, []).append(
                (str(item["lineItemId"]), amount(refund.get("amount"), f"lineItems[{index}].refunds[{rindex}].amount")))
    result = []
    for index, refund in enumerate((payload.get("paymentSummary") or {}).get("refunds") or []):
        if refund.get("refundStatus") not in (None, "REFUNDED"):
            continue
        refund_id = refund.get("refundId") or refund.get("refundReferenceId")
        if not refund_id:
            _fail(f"paymentSummary.refunds[{index}].refundId", "is missing")
        value = amount(refund.get("amount"), f"paymentSummary.refunds[{index}].amount")
        created = when(refund.get("refundDate"), f"paymentSummary.refunds[{index}].refundDate")
        result.append(_refund(str(refund_id), order.external_id, created, order.currency, value,
                              by_refund.get(refund_id, []), order, restock))
    return result


def map_refund_transaction(transaction, order=None, *, restock=True):
    """A Finances ``REFUND`` transaction -> canonical ``Refund`` (same external id as the
    order's ``paymentSummary.refunds[].refundId``: one credit note either way).

    ``order`` is the canonical order when known, to tell a whole-line refund (goods come
    back) from a partial one; ``totalFeeBasisAmount`` is what the buyer got back.
    """
    refund_id = str(transaction.get("transactionId") or "")
    if not refund_id:
        _fail("transactionId", "is missing")
    value, currency = money(transaction.get("totalFeeBasisAmount") or transaction.get("amount"),
                            "totalFeeBasisAmount")
    parts = [
        (str(item.get("lineItemId") or ""), amount(item.get("feeBasisAmount"), f"orderLineItems[{i}].feeBasisAmount"))
        for i, item in enumerate(transaction.get("orderLineItems") or [])
    ]
    return _refund(refund_id, str(transaction.get("orderId") or ""),
                   when(transaction.get("transactionDate"), "transactionDate"), currency, value, parts, order, restock)


# ---------------------------------------------------------------------- outbound


def shipping_fulfillment_payload(lines, carrier, tracking_number, shipped_at):
    """``createShippingFulfillment`` body: ``lines`` is ``[(lineItemId, quantity)]``."""
    return {
        "lineItems": [{"lineItemId": str(line_id), "quantity": int(qty)} for line_id, qty in lines],
        "shippedDate": shipped_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "shippingCarrierCode": carrier or "OTHER",
        "trackingNumber": tracking_number or "",
    }


def stock_requests(levels):
    """``{sku: quantity}`` -> ``bulkUpdatePriceQuantity`` entries (one per SKU)."""
    return [
        {"sku": sku, "shipToLocationAvailability": {"quantity": max(int(qty), 0)}}
        for sku, qty in sorted(levels.items())
    ]


def chunks(items, size=25):
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]
