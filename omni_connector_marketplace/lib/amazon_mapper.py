"""Amazon SP-API payloads -> canonical records, and canonical -> Amazon payloads (no ``odoo`` import).

Orders are read from the **Orders API v2026-01-01** ``Order`` (``searchOrders`` / ``getOrder`` with
``includedData`` BUYER, RECIPIENT, PROCEEDS, PROMOTION, FULFILLMENT, PACKAGES, TAX, CANCELLATION):

* ``fulfillment.fulfilledBy`` says who ships: ``MERCHANT`` (FBM) or ``AMAZON`` (FBA);
  ``salesChannel.marketplaceId`` which marketplace of the account sold it;
* each order item's ``proceeds.breakdowns`` carry the money by type: ``ITEM`` (the item price x
  quantity), ``SHIPPING``, ``GIFT_WRAP``, ``COD_FEE``, ``OTHER``, ``TAX`` (split by
  ``detailedBreakdowns`` subtype ITEM / SHIPPING / GIFT_WRAP) and ``DISCOUNT`` (promotions, negative,
  split the same way). ITEM becomes the product line, SHIPPING a shipping line, GIFT_WRAP and the
  others fee lines, DISCOUNT the line's (or shipping's) discount, TAX the tax lines of the line it
  names, with the rate inferred from the amounts (:func:`collected_tax.infer_rate`: Amazon reports
  tax amounts only);
* ``tax.taxCollections[].model == MARKETPLACE_FACILITATOR`` marks the item's taxes as collected
  and remitted by Amazon (``AmazonOrderInfo.collected_line_ids``, for ``lib/collected_tax.py``);
* prices include tax on marketplaces that say so (EU, UK...: ``prices_include_tax``): the ITEM,
  SHIPPING and GIFT_WRAP subtotals then include the TAX amounts, which are not added again;
* Amazon charges the buyer when the order ships: UNSHIPPED / PARTIALLY_SHIPPED orders are
  ``authorized`` (payment final, confirmed), SHIPPED ones ``paid`` (invoice and payment), PENDING
  ones ``pending``; CANCELLED ones are cancelled (the importer's cancellation path).

Problems raise the canonical ``ValidationError`` naming Amazon's field path, never its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

try:
    from odoo.addons.omni_connector_base import canonical
    from odoo.addons.omni_connector_base.canonical import FieldError, ValidationError
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base import canonical
    from omni_connector_base.canonical import FieldError, ValidationError

from .collected_tax import infer_rate

ZERO = Decimal(0)
GATEWAY = "amazon"
FBM, FBA = "MERCHANT", "AMAZON"
FACILITATOR = "MARKETPLACE_FACILITATOR"
FINANCIAL_BY_STATUS = {
    "PENDING_AVAILABILITY": "pending",
    "PENDING": "pending",
    "UNSHIPPED": "authorized",
    "PARTIALLY_SHIPPED": "authorized",
    "SHIPPED": "paid",
    "CANCELLED": "voided",
    "UNFULFILLABLE": "voided",
}
FULFILLMENT_BY_STATUS = {"PARTIALLY_SHIPPED": "partial", "SHIPPED": "fulfilled"}
_FEE_NAMES = {"GIFT_WRAP": "Gift wrap", "COD_FEE": "Cash on delivery fee", "OTHER": "Other charge"}


@dataclass
class AmazonOrderInfo:
    """What the connector needs besides the canonical order."""

    order_id: str
    marketplace_id: str | None
    fulfilled_by: str | None
    status: str
    last_updated: datetime | None
    collected_line_ids: list[str] = field(default_factory=list)
    responsible_party: str | None = None
    item_ids: list[str] = field(default_factory=list)
    shipped: dict[str, Decimal] = field(default_factory=dict)  # orderItemId -> quantity shipped

    @property
    def is_fba(self):
        return self.fulfilled_by == FBA


def _fail(path, message):
    raise ValidationError([FieldError(path, message)])


def _obj(value, path):
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(path, "must be an object")
    return value


def _list(value, path):
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(path, "must be a list")
    return value


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _money(value, path):
    data = _obj(value, path)
    if not data:
        return None, None
    try:
        return Decimal(str(data.get("amount"))), _text(data.get("currencyCode"))
    except (InvalidOperation, ValueError):
        _fail(f"{path}.amount", "must be a decimal amount")
    return None, None


def parse_time(value, path="time"):
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(path, "must be an ISO 8601 date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def order_info(payload):
    """The keys of an order payload (``orderId``, marketplace, fulfilment, status, version)."""
    data = _obj(payload, "order")
    order_id = _text(data.get("orderId"))
    if not order_id:
        _fail("orderId", "is required")
    fulfillment = _obj(data.get("fulfillment"), "fulfillment")
    items = _list(data.get("orderItems"), "orderItems")
    collected, party = [], None
    shipped = {}
    for index, raw_item in enumerate(items):
        item = _obj(raw_item, f"orderItems[{index}]")
        item_id = _text(item.get("orderItemId")) or f"#{index}"
        item_fulfillment = _obj(item.get("fulfillment"), f"orderItems[{index}].fulfillment")
        shipped[item_id] = Decimal(int(item_fulfillment.get("quantityFulfilled") or 0))
        for collection in _list(_obj(item.get("tax"), f"orderItems[{index}].tax").get("taxCollections"),
                                f"orderItems[{index}].tax.taxCollections"):
            if _obj(collection, "taxCollection").get("model") == FACILITATOR:
                collected.extend([item_id, f"{item_id}-shipping", f"{item_id}-gift_wrap", f"{item_id}-cod_fee",
                                  f"{item_id}-other"])
                party = party or _text(collection.get("responsibleParty"))
    return AmazonOrderInfo(
        order_id=order_id,
        marketplace_id=_text(_obj(data.get("salesChannel"), "salesChannel").get("marketplaceId")),
        fulfilled_by=_text(fulfillment.get("fulfilledBy")),
        status=_text(fulfillment.get("fulfillmentStatus")) or "PENDING",
        last_updated=parse_time(data.get("lastUpdatedTime"), "lastUpdatedTime"),
        collected_line_ids=collected,
        responsible_party=party,
        item_ids=[_text(_obj(i, "orderItem").get("orderItemId")) for i in items],
        shipped=shipped,
    )


def _split_by_subtype(breakdown, path, default="ITEM"):
    """``{subtype: amount}`` of a TAX or DISCOUNT breakdown (absolute amounts)."""
    details = _list(breakdown.get("detailedBreakdowns"), f"{path}.detailedBreakdowns")
    split = {}
    for index, raw_detail in enumerate(details):
        detail = _obj(raw_detail, f"{path}.detailedBreakdowns[{index}]")
        amount, _currency = _money(detail.get("value"), f"{path}.detailedBreakdowns[{index}].value")
        subtype = _text(detail.get("subtype")) or default
        split[subtype] = split.get(subtype, ZERO) + abs(amount or ZERO)
    if not split:
        amount, _currency = _money(breakdown.get("subtotal"), f"{path}.subtotal")
        split[default] = abs(amount or ZERO)
    return split


def _tax_lines(tax, gross, discount, included):
    if not tax:
        return []
    base = gross - discount - (tax if included else ZERO)
    return [canonical.TaxLine(rate=infer_rate(base, tax), amount=tax, title="Amazon tax")]


def _address(address, email=None):
    data = address or {}
    name = _text(data.get("name")) or ""
    first, _sep, last = name.rpartition(" ")
    street = ", ".join(filter(None, (_text(data.get("addressLine1")), _text(data.get("addressLine2")))))
    return canonical.Address(
        first_name=first or None, last_name=last or None, company=_text(data.get("companyName")),
        street=street or None, street2=_text(data.get("addressLine3")), city=_text(data.get("city")),
        zip=_text(data.get("postalCode")), state_code=_text(data.get("stateOrRegion")),
        country_code=(_text(data.get("countryCode")) or "").upper() or None,
        phone=_text(data.get("phone")), email=email,
    )


def map_order(payload, prices_include_tax=False):
    """A v2026 ``Order`` -> ``(canonical Order, AmazonOrderInfo)``."""
    info = order_info(payload)
    data = payload
    errors = []
    lines, shipping_lines, fee_lines, discounts = [], [], [], []
    currency = None
    included = bool(prices_include_tax)
    service_level = _text(_obj(data.get("fulfillment"), "fulfillment").get("fulfillmentServiceLevel")) or "STANDARD"
    total = ZERO
    items = _list(data.get("orderItems"), "orderItems")
    if not items:
        _fail("orderItems", "must not be empty")
    for index, item in enumerate(items):
        path = f"orderItems[{index}]"
        item_id = _text(item.get("orderItemId"))
        if not item_id:
            errors.append(FieldError(f"{path}.orderItemId", "is required"))
            continue
        product = _obj(item.get("product"), f"{path}.product")
        try:
            quantity = Decimal(int(item.get("quantityOrdered")))
        except (TypeError, ValueError):
            errors.append(FieldError(f"{path}.quantityOrdered", "must be a whole number"))
            continue
        amounts, taxes, item_discounts = {}, {}, {}
        for number, raw_breakdown in enumerate(_list(_obj(item.get("proceeds"), f"{path}.proceeds").get("breakdowns"),
                                                 f"{path}.proceeds.breakdowns")):
            bpath = f"{path}.proceeds.breakdowns[{number}]"
            breakdown = _obj(raw_breakdown, bpath)
            kind = _text(breakdown.get("type")) or "OTHER"
            amount, code = _money(breakdown.get("subtotal"), f"{bpath}.subtotal")
            currency = currency or code
            if code and currency and code != currency:
                errors.append(FieldError(f"{bpath}.subtotal.currencyCode", "differs from the order's currency"))
            if kind == "TAX":
                for subtype, value in _split_by_subtype(breakdown, bpath).items():
                    taxes[subtype] = taxes.get(subtype, ZERO) + value
            elif kind == "DISCOUNT":
                for subtype, value in _split_by_subtype(breakdown, bpath).items():
                    item_discounts[subtype] = item_discounts.get(subtype, ZERO) + value
            else:
                amounts[kind] = amounts.get(kind, ZERO) + (amount or ZERO)
        item_tax_total = sum(taxes.values(), ZERO)
        total += ZERO if included else item_tax_total
        unit_price, _code = _money(_obj(product.get("price"), f"{path}.product.price").get("unitPrice"),
                                   f"{path}.product.price.unitPrice")
        gross = amounts.pop("ITEM", None)
        if gross is None:
            gross = (unit_price or ZERO) * quantity
        if unit_price is None or unit_price * quantity != gross:
            unit_price = gross / quantity if quantity else ZERO
        discount = item_discounts.pop("ITEM", ZERO)
        shipping = amounts.pop("SHIPPING", None)
        ship_discount = item_discounts.pop("SHIPPING", ZERO)
        item_tax = taxes.pop("ITEM", ZERO)
        for kind in list(taxes):  # tax of a charge the item does not have: the item's
            if kind != "SHIPPING" and kind not in amounts:
                item_tax += taxes.pop(kind)
        if shipping is None and "SHIPPING" in taxes:
            item_tax += taxes.pop("SHIPPING")
        lines.append(canonical.Line(
            external_id=item_id, sku=_text(product.get("sellerSku")),
            name=_text(product.get("title")) or _text(product.get("sellerSku")) or item_id,
            quantity=quantity, unit_price=unit_price, discount_amount=discount,
            tax_lines=_tax_lines(item_tax, gross, discount, included),
            product_external_id=_text(product.get("asin")),
        ))
        total += gross - discount
        if discount:
            promotion_ids = [_text(_obj(p, "promotion").get("promotionId")) for p in
                             _list(_obj(item.get("promotion"), f"{path}.promotion").get("breakdowns"),
                                   f"{path}.promotion.breakdowns")]
            discounts.append(canonical.Discount(code=", ".join(filter(None, promotion_ids)) or None,
                                                amount=discount, kind="fixed", description="Amazon promotion"))
        if shipping is not None:
            shipping_lines.append(canonical.ShippingLine(
                external_id=f"{item_id}-shipping", code=service_level, title=f"Amazon shipping ({service_level})",
                price=shipping, discount_amount=ship_discount,
                tax_lines=_tax_lines(taxes.pop("SHIPPING", ZERO), shipping, ship_discount, included)))
            total += shipping - ship_discount
        for kind, amount in amounts.items():
            key = kind.lower()
            fee_lines.append(canonical.FeeLine(
                external_id=f"{item_id}-{key}", name=_FEE_NAMES.get(kind, kind.title()), amount=amount,
                tax_lines=_tax_lines(taxes.pop(kind, ZERO), amount, ZERO, included)))
            total += amount
    if errors:
        raise ValidationError(errors)
    if not currency:
        _grand, currency = _money(_obj(data.get("proceeds"), "proceeds").get("grandTotal"), "proceeds.grandTotal")
    if not currency:
        _fail("orderItems[0].proceeds", "is required (ask for includedData PROCEEDS)")
    tax_total = sum((t.amount for line in (*lines, *shipping_lines, *fee_lines) for t in line.tax_lines), ZERO)
    buyer = _obj(data.get("buyer"), "buyer")
    email = _text(buyer.get("buyerEmail"))
    recipient = _obj(_obj(data.get("recipient"), "recipient").get("deliveryAddress"), "recipient.deliveryAddress")
    buyer_name = _text(buyer.get("buyerName")) or _text(recipient.get("name")) or "Amazon customer"
    first, _sep, last = buyer_name.rpartition(" ")
    shipping_address = _address(recipient, email) if recipient else None
    status = info.status
    financial = FINANCIAL_BY_STATUS.get(status, "pending")
    created = parse_time(data.get("createdTime"), "createdTime")
    if created is None:
        _fail("createdTime", "is required")
    payments = []
    if financial in ("authorized", "paid"):
        payments.append(canonical.Payment(
            gateway=GATEWAY, transaction_id=None, amount=total, currency=currency,
            kind="sale" if financial == "paid" else "authorization",
            status="success", processed_at=info.last_updated or created))
    cancellation = None
    if status == "CANCELLED":
        for item in items:
            execution = _obj(_obj(item.get("cancellation"), "cancellation").get("cancellationExecution"),
                             "cancellationExecution")
            cancellation = cancellation or _text(execution.get("cancelReason"))
    order = canonical.Order(
        external_id=info.order_id, name=info.order_id, currency=currency.upper(), taxes_included=included,
        lines=lines, created_at=created, updated_at=info.last_updated or created,
        shipping_lines=shipping_lines, fee_lines=fee_lines, discounts=discounts,
        customer=canonical.Customer(external_id=email, email=email, first_name=first or None,
                                    last_name=last or buyer_name, company=_text(buyer.get("buyerCompanyName"))),
        billing_address=shipping_address, shipping_address=shipping_address, payments=payments,
        financial_status=financial, fulfillment_status=FULFILLMENT_BY_STATUS.get(status, "unfulfilled"),
        cancelled_at=(info.last_updated or created) if status == "CANCELLED" else None,
        cancel_reason=cancellation if status == "CANCELLED" else None,
        total=total, total_tax=tax_total, source_name="amazon",
        note_attributes={"marketplaceId": info.marketplace_id or "", "fulfilledBy": info.fulfilled_by or ""},
        tags=[f"amazon:{(info.fulfilled_by or '').lower()}"],
    )
    problems = canonical.validation_errors(order)
    if problems:
        raise ValidationError(problems)
    return order, info


# ----------------------------------------------------------------------------- outgoing


def confirm_shipment_payload(package_reference, carrier_code, tracking_number, ship_date, items,
                             carrier_name=None, shipping_method=None):
    """``confirmShipment``'s ``packageDetail`` for one package: ``items`` is ``[(orderItemId, qty)]``."""
    detail = {
        "packageReferenceId": str(package_reference),
        "carrierCode": carrier_code or "Other",
        "trackingNumber": tracking_number,
        "shipDate": ship_date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "orderItems": [{"orderItemId": item_id, "quantity": int(quantity)} for item_id, quantity in items],
    }
    if carrier_name or not carrier_code:
        detail["carrierName"] = carrier_name or "Other"
    if shipping_method:
        detail["shippingMethod"] = shipping_method
    return detail


def listings_feed(seller_id, quantities, product_type="PRODUCT", locale="en_US"):
    """A ``JSON_LISTINGS_FEED`` document (dict) setting the FBM quantity of each SKU:
    ``PARTIAL_UPDATE`` of ``fulfillment_availability`` with ``fulfillment_channel_code`` DEFAULT.

    ``quantities``: ``[(sku, quantity)]``; message ids are their 1-based positions.
    """
    return {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": locale},
        "messages": [
            {"messageId": number, "sku": sku, "operationType": "PARTIAL_UPDATE", "productType": product_type,
             "attributes": {"fulfillment_availability": [
                 {"fulfillment_channel_code": "DEFAULT", "quantity": max(int(quantity), 0)}]}}
            for number, (sku, quantity) in enumerate(quantities, start=1)
        ],
    }


@dataclass
class FeedIssue:
    message_id: int | None
    sku: str | None
    code: str
    severity: str
    message: str


def feed_issues(report):
    """The issues of a listings feed processing report (dict): ``(errors, warnings, summary)``."""
    errors, warnings = [], []
    for raw_issue in _list(_obj(report, "report").get("issues"), "issues"):
        issue = _obj(raw_issue, "issue")
        entry = FeedIssue(issue.get("messageId"), _text(issue.get("sku")), str(issue.get("code") or ""),
                          (_text(issue.get("severity")) or "ERROR").upper(), _text(issue.get("message")) or "")
        (errors if entry.severity == "ERROR" else warnings).append(entry)
    return errors, warnings, _obj(report.get("summary"), "summary")


def inventory_quantities(summaries):
    """``{sellerSku: fulfillable quantity}`` of ``getInventorySummaries`` (``details=true``)."""
    quantities = {}
    for summary in summaries:
        sku = _text(summary.get("sellerSku"))
        if not sku:
            continue
        details = summary.get("inventoryDetails") or {}
        quantity = details.get("fulfillableQuantity", summary.get("totalQuantity"))
        quantities[sku] = quantities.get(sku, 0) + int(quantity or 0)
    return quantities


# ----------------------------------------------------------------------------- polling


def poll_decision(info, import_fba=True, pending_policy="skip"):
    """Whether a polled order version goes to the inbox: ``None`` (store it) or the reason not to.

    FBA orders are imported once SHIPPED (Amazon delivered them; nothing is pushed back);
    PENDING orders wait until payment is final unless imported as quotations; a version not
    stored now is read again by a later poll, since its status change moves ``lastUpdatedTime``.
    """
    if info.is_fba:
        if not import_fba:
            return "FBA orders are not imported"
        if info.status != "SHIPPED":
            return "FBA order not shipped yet"
        return None
    if info.status in ("PENDING", "PENDING_AVAILABILITY") and pending_policy != "quotation":
        return "payment not final yet"
    return None


def polled_event_values(info):
    """The inbox keys of a polled order version: one event per (order, lastUpdatedTime)."""
    stamp = info.last_updated.strftime("%Y-%m-%dT%H:%M:%SZ") if info.last_updated else "none"
    return {
        "idempotency_key": f"poll:{info.order_id}:{stamp}",
        "topic": "orders/polled",
        "resource_model": "sale.order",
        "resource_key": info.order_id,
        "source_ts": info.last_updated.replace(tzinfo=None) if info.last_updated else False,
    }


# ---------------------------------------------------------------------- refunds (settlement report)

REFUND_TRANSACTION = "refund"


def _is_tax_label(label):
    return label.replace("-", "").replace("_", "").lower().endswith("tax")


def settlement_refunds(lines):
    """The Refund transactions of a parsed settlement report (omni_reconciliation's
    ``parse_settlement_v2`` lines, not netted) -> one JSON-able payload per refund (Amazon's
    ``adjustment-id`` on an order), oldest first::

        {"adjustmentId", "orderId", "currency", "postedAt",
         "items": [{"orderItemId", "sku", "price": {label: amount}, "promotion": {label: amount},
                    "withheldTax": amount}]}

    Amounts are strings, signed as in the report (the seller's side: a refunded price is negative,
    a promotion given back positive). The lines' keys are ``transaction|order|adjustment|item|sku|kind``.
    """
    refunds = {}
    for line in lines:
        parts = str(line.external_id).split("|")
        if len(parts) != 6 or parts[0].replace(" ", "").lower() != REFUND_TRANSACTION:
            continue
        _ttype, order_id, adjustment_id, item_id, sku, kind = parts
        if not order_id or not adjustment_id or kind not in ("refund", "promotion", "withheld_tax"):
            continue
        refund = refunds.setdefault((order_id, adjustment_id), {
            "adjustmentId": adjustment_id, "orderId": order_id, "currency": line.currency, "postedAt": None,
            "items": {}})
        if line.occurred_at and (refund["postedAt"] is None or line.occurred_at.isoformat() < refund["postedAt"]):
            refund["postedAt"] = line.occurred_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        item = refund["items"].setdefault(item_id or sku, {
            "orderItemId": item_id, "sku": sku, "price": {}, "promotion": {}, "withheldTax": "0"})
        if kind == "withheld_tax":
            item["withheldTax"] = str(Decimal(item["withheldTax"]) + Decimal(line.gross))
            continue
        target = item["price"] if kind == "refund" else item["promotion"]
        for label, amount in (line.components or {}).items():
            target[label] = str(Decimal(target.get(label, "0")) + Decimal(amount))
    result = []
    for refund in refunds.values():
        refund["items"] = [refund["items"][key] for key in sorted(refund["items"])]
        result.append(refund)
    return sorted(result, key=lambda r: (r["postedAt"] or "", r["orderId"], r["adjustmentId"]))


def map_settlement_refund(payload, *, prices_include_tax=False, exclude_collected_tax=False, order_lines=None):
    """One settlement refund payload (:func:`settlement_refunds`) -> canonical ``Refund``.

    What the buyer got back is the refunded price components (``Principal``, ``Shipping``, ``GiftWrap``
    and their taxes), less the promotions given back. As for orders (:func:`map_order`):

    * ``prices_include_tax`` (the marketplace's setting): the price components already include the tax,
      whose own components are not added again;
    * else the tax components are the line's tax (``RefundLine.tax_amount``, ``Refund.shipping_tax``) and
      part of the amount, except under the marketplace's *Excluded* collected-tax treatment
      (``exclude_collected_tax``) for an item whose tax Amazon withheld (``ItemWithheldTax``): the order
      carried no tax, so neither does the refund.

    ``order_lines``: ``{orderItemId: (quantity, price_total)}`` of the imported order, to tell a refund of
    the whole item (its quantity is credited) from a partial one (money only). Goods are never restocked
    here: Amazon's refund does not say they came back (FBA returns go to Amazon's stock, which the FBA
    inventory sync reads; an FBM return is received on a return picking).
    """
    payload = _obj(payload, "refund")
    adjustment_id = _text(payload.get("adjustmentId"))
    order_id = _text(payload.get("orderId"))
    if not adjustment_id:
        _fail("adjustmentId", "is required")
    if not order_id:
        _fail("orderId", "is required")
    currency = (_text(payload.get("currency")) or "").upper()
    created = parse_time(payload.get("postedAt"), "postedAt") or datetime.now(timezone.utc)
    order_lines = order_lines or {}
    lines, shipping, shipping_tax, adjustment = [], ZERO, ZERO, ZERO
    for index, raw_item in enumerate(_list(payload.get("items"), "items")):
        path = f"items[{index}]"
        item = _obj(raw_item, path)
        item_id = _text(item.get("orderItemId"))
        try:
            price = {label: -Decimal(str(value)) for label, value in _obj(item.get("price"), f"{path}.price").items()}
            promotion = {label: Decimal(str(value))
                         for label, value in _obj(item.get("promotion"), f"{path}.promotion").items()}
            withheld = Decimal(str(item.get("withheldTax") or 0))
        except (InvalidOperation, ValueError, TypeError):
            _fail(f"{path}.price", "holds an amount that is not a number")
        keep_tax = not prices_include_tax and not (exclude_collected_tax and withheld)
        goods = goods_tax = ZERO
        for label, amount in price.items():
            key = label.replace(" ", "").lower()
            if _is_tax_label(label):
                if not keep_tax:
                    continue
                if key.startswith("shipping"):
                    shipping_tax += amount
                elif key == "tax":
                    goods_tax += amount
                else:
                    adjustment += amount
            elif key == "principal":
                goods += amount
            elif key.startswith("shipping"):
                shipping += amount
            else:
                adjustment += amount  # gift wrap, restocking fee (negative), goodwill...
        for label, amount in promotion.items():  # a promotion given back lowers what the buyer got
            if label.replace(" ", "").lower().startswith("shipping"):
                shipping -= amount
            else:
                goods -= amount
        if not item_id:
            adjustment += goods + goods_tax
            continue
        quantity, line_total = order_lines.get(item_id, (None, None))
        whole = line_total is not None and abs(goods + goods_tax - Decimal(str(line_total))) <= Decimal("0.01")
        lines.append(canonical.RefundLine(
            order_line_external_id=item_id, quantity=Decimal(str(quantity)) if whole and quantity else ZERO,
            restock=False, amount=max(goods, ZERO), tax_amount=max(goods_tax, ZERO)))
        adjustment += min(goods, ZERO) + min(goods_tax, ZERO)
    if shipping < 0:
        adjustment, shipping = adjustment + shipping, ZERO
    if shipping_tax < 0:
        adjustment, shipping_tax = adjustment + shipping_tax, ZERO
    amount = sum((line.amount + line.tax_amount for line in lines), ZERO) + shipping + shipping_tax + adjustment
    if amount < 0:
        _fail("items", "refund nothing to the buyer")
    refund = canonical.Refund(
        external_id=adjustment_id, order_external_id=order_id, created_at=created, currency=currency,
        lines=lines, shipping_amount=shipping, shipping_tax=shipping_tax, adjustment_amount=adjustment, amount=amount,
        transactions=[canonical.Payment(gateway=GATEWAY, transaction_id=adjustment_id, amount=amount,
                                        currency=currency, kind="refund", status="success", processed_at=created)],
        note=f"Amazon refund {adjustment_id}",
    )
    problems = canonical.validation_errors(refund)
    if problems:
        raise ValidationError(problems)
    return refund
