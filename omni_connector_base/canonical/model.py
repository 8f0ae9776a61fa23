"""Canonical records: the one shape every channel's data is translated into.

Why: channel connectors (Shopify, WooCommerce, Amazon, the custom REST API) only translate
their payloads into these records and back; the shared importer, the exporters and the
reconciliation know this shape alone. Field names are a contract: add fields, never rename.

Conventions
    * money is ``Decimal`` in the record's currency (the order's for orders), never float;
    * quantities are ``Decimal``;
    * datetimes are timezone-aware (``*_from_dict`` always gives UTC);
    * tax rates are fractions: ``Decimal('0.19')`` for 19 %;
    * when ``Order.taxes_included`` is true, every price and discount of the order (lines,
      shipping, fees) includes tax; tax amounts are always given separately in ``tax_lines``.

Constructors are keyword-only: the records are long and positional construction would
silently shift values when a field is added (``TaxLine`` is the exception, it is tiny).
Constructing a record does not validate it; ``parse.validate(record)`` does (the
``*_from_dict`` functions always do). Field metadata ``check`` holds the single-field rule
that ``validate`` applies; ``_cross_checks`` holds rules spanning several fields.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

ZERO = Decimal(0)

DiscountKind = Literal["fixed", "percentage", "shipping"]
PaymentKind = Literal["sale", "authorization", "capture", "refund", "void"]
PaymentStatus = Literal["success", "pending", "failure", "error"]
FinancialStatus = Literal[
    "pending", "authorized", "paid", "partially_paid", "refunded", "partially_refunded", "voided", "unpaid"
]
FulfillmentStatus = Literal["unfulfilled", "partial", "fulfilled"]

# The allowed values as tuples, e.g. for Odoo selection fields.
DISCOUNT_KINDS = get_args(DiscountKind)
PAYMENT_KINDS = get_args(PaymentKind)
PAYMENT_STATUSES = get_args(PaymentStatus)
FINANCIAL_STATUSES = get_args(FinancialStatus)
FULFILLMENT_STATUSES = get_args(FulfillmentStatus)

# Payments that move money from the buyer (an authorization only reserves it).
COLLECTING_KINDS = ("sale", "capture")


# --- errors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``field`` is a path such as ``lines[0].quantity``.

    ``message`` never repeats the offending value: values may be personal data.
    """

    field: str
    message: str

    def __str__(self):
        return f"{self.field}: {self.message}"


class ValidationError(ValueError):
    """Raised with every problem found in one pass, so a caller can fix them all at once."""

    def __init__(self, errors):
        self.errors = list(errors)
        shown = "; ".join(str(error) for error in self.errors[:10])
        more = f" (and {len(self.errors) - 10} more)" if len(self.errors) > 10 else ""
        super().__init__(f"{len(self.errors)} invalid field(s): {shown}{more}")

    def as_dict(self):
        """The custom-channel API's 422 body: ``{"error": "validation", "fields": [...]}``."""
        return {
            "error": "validation",
            "fields": [{"field": error.field, "message": error.message} for error in self.errors],
        }


# --- single-field rules (value -> message or None), applied by parse.validate -----------

_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
# Loose on purpose: one "@", something before it, a dot in the domain, no blanks.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def _non_empty(value):
    return None if value.strip() else "must not be empty"


def _currency(value):
    return None if _CURRENCY.fullmatch(value) else "must be an ISO 4217 currency code (3 upper-case letters)"


def _country(value):
    if not value or _COUNTRY.fullmatch(value):
        return None
    return "must be an ISO 3166-1 alpha-2 country code (2 upper-case letters)"


def _email(value):
    return None if not value or _EMAIL.fullmatch(value) else "is not a valid email address"


def _risk_level(value):
    return None if value in ("low", "medium", "high") else "must be low, medium or high"


def _positive(value):
    return None if value > 0 else "must be greater than 0"


def _non_negative(value):
    return None if value >= 0 else "must not be negative"


def _rate(value):
    return None if 0 <= value <= 1 else "must be a fraction between 0 and 1 (0.19 for 19 %)"


def _not_empty_list(value):
    return None if value else "must contain at least one entry"


def _http_url(value):
    # Rendered as a link in Odoo: refuse javascript: and friends.
    if value.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in value):
        return None
    return "must be an http(s) URL"


def _meta(check=None, *, ident=False):
    """Field metadata: the single-field rule ``parse.validate`` applies, and whether the
    field is an identifier (``*_from_dict`` also accepts JSON integers for those, as text:
    many systems number their records)."""
    return {"check": check, "ident": ident}


def _duplicates(records, collection):
    """Problems for records of ``collection`` that repeat an earlier record's external id."""
    if not isinstance(records, list):
        return []
    seen = set()
    problems = []
    for index, record in enumerate(records):
        key = getattr(record, "external_id", None)
        if not isinstance(key, str) or not key:
            continue
        if key in seen:
            problems.append((f"{collection}[{index}].external_id", "duplicates an earlier external_id"))
        seen.add(key)
    return problems


def _sum(amounts):
    return sum(amounts, ZERO)


# --- order ----------------------------------------------------------------------------


@dataclass(slots=True)
class TaxLine:
    """One tax applied to a line; ``amount`` is in the order's currency, ``rate`` a fraction."""

    rate: Decimal = field(metadata=_meta(_rate))
    amount: Decimal = field(metadata=_meta(_non_negative))
    title: str = ""


@dataclass(slots=True, kw_only=True)
class Line:
    """A product line as sold on the channel.

    ``unit_price`` is before discount and includes tax when the order's ``taxes_included``;
    ``discount_amount`` is the whole line's discount (all units), in the same tax basis.
    """

    external_id: str = field(metadata=_meta(_non_empty, ident=True))
    sku: str | None = None
    name: str = field(metadata=_meta(_non_empty))
    quantity: Decimal = field(metadata=_meta(_positive))
    unit_price: Decimal = field(metadata=_meta(_non_negative))
    discount_amount: Decimal = field(default=ZERO, metadata=_meta(_non_negative))
    tax_lines: list[TaxLine] = field(default_factory=list)
    product_external_id: str | None = field(default=None, metadata=_meta(ident=True))
    variant_external_id: str | None = field(default=None, metadata=_meta(ident=True))
    barcode: str | None = None
    requires_shipping: bool = True
    is_gift_card: bool = False

    @property
    def subtotal(self):
        """Quantity times unit price, before discount (unrounded)."""
        return self.quantity * self.unit_price

    @property
    def net(self):
        """What the line costs the buyer: subtotal minus discount (unrounded)."""
        return self.subtotal - self.discount_amount

    @property
    def tax_amount(self):
        return _sum(tax.amount for tax in self.tax_lines)

    def _cross_checks(self):
        # Only between values that are valid on their own: one error per mistake.
        amounts = (self.quantity, self.unit_price, self.discount_amount)
        if all(isinstance(v, Decimal) and v.is_finite() for v in amounts) and self.quantity > 0 \
                and self.unit_price >= 0 and self.discount_amount > self.quantity * self.unit_price:
            return [("discount_amount", "must not exceed quantity * unit_price")]
        return []


@dataclass(slots=True, kw_only=True)
class ShippingLine:
    """A shipping charge; ``price`` before ``discount_amount``, tax basis as the order's."""

    external_id: str = field(metadata=_meta(_non_empty, ident=True))
    code: str | None = None
    title: str = field(metadata=_meta(_non_empty))
    price: Decimal = field(metadata=_meta(_non_negative))
    discount_amount: Decimal = field(default=ZERO, metadata=_meta(_non_negative))
    tax_lines: list[TaxLine] = field(default_factory=list)

    @property
    def net(self):
        return self.price - self.discount_amount

    @property
    def tax_amount(self):
        return _sum(tax.amount for tax in self.tax_lines)

    def _cross_checks(self):
        amounts = (self.price, self.discount_amount)
        if all(isinstance(v, Decimal) and v.is_finite() for v in amounts) \
                and self.price >= 0 and self.discount_amount > self.price:
            return [("discount_amount", "must not exceed price")]
        return []


@dataclass(slots=True, kw_only=True)
class FeeLine:
    """An extra charge (gift wrap, handling). ``amount`` may be negative: some shops use
    negative fees as ad-hoc discounts."""

    external_id: str = field(metadata=_meta(_non_empty, ident=True))
    name: str = field(metadata=_meta(_non_empty))
    amount: Decimal
    tax_lines: list[TaxLine] = field(default_factory=list)

    @property
    def net(self):
        return self.amount

    @property
    def tax_amount(self):
        return _sum(tax.amount for tax in self.tax_lines)


@dataclass(slots=True, kw_only=True)
class Discount:
    """A discount applied to the order, for information only.

    Its money is already allocated to ``Line.discount_amount`` and
    ``ShippingLine.discount_amount``; totals never subtract it a second time.
    """

    code: str | None = None
    amount: Decimal = field(metadata=_meta(_non_negative))
    kind: DiscountKind = "fixed"
    description: str = ""


@dataclass(slots=True, kw_only=True)
class Address:
    """A postal address with its recipient; every part is optional (channels omit freely)."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    zip: str | None = None
    state_code: str | None = None
    country_code: str | None = field(default=None, metadata=_meta(_country))
    phone: str | None = None
    email: str | None = field(default=None, metadata=_meta(_email))

    @property
    def name(self):
        """Recipient's full name, else the company, else ``''``."""
        return _full_name(self.first_name, self.last_name) or (self.company or "").strip()


@dataclass(slots=True, kw_only=True)
class Customer:
    """The buyer's account on the channel (``external_id`` None for guest checkouts)."""

    external_id: str | None = field(default=None, metadata=_meta(ident=True))
    email: str | None = field(default=None, metadata=_meta(_email))
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    vat: str | None = None

    @property
    def name(self):
        """Full name, else the company, else ``''``."""
        return _full_name(self.first_name, self.last_name) or (self.company or "").strip()


def _full_name(first, last):
    return " ".join(part.strip() for part in (first, last) if part and part.strip())


@dataclass(slots=True, kw_only=True)
class Payment:
    """A payment transaction; ``amount`` is in the payment's own ``currency``.

    ``transaction_id`` is the id the payout/settlement reports refer to (Shopify: the order
    transaction id; Stripe: the charge id). ``gateway_reference`` holds a processor's other
    reference when it differs (Shopify's ``authorization``), ``parent_transaction_id`` the
    transaction a capture or refund applies to.
    """

    gateway: str = field(metadata=_meta(_non_empty))
    transaction_id: str | None = field(default=None, metadata=_meta(ident=True))
    amount: Decimal = field(metadata=_meta(_non_negative))
    currency: str = field(metadata=_meta(_currency))
    kind: PaymentKind = "sale"
    status: PaymentStatus = "success"
    method: str | None = None
    processed_at: datetime | None = None
    is_gift_card: bool = False
    gateway_reference: str | None = field(default=None, metadata=_meta(ident=True))
    parent_transaction_id: str | None = field(default=None, metadata=_meta(ident=True))

    @property
    def collected(self):
        """True when this transaction took money from the buyer (successful sale/capture)."""
        return self.status == "success" and self.kind in COLLECTING_KINDS


@dataclass(slots=True, kw_only=True)
class Order:
    """A channel order. ``total_untaxed``/``total_tax``/``total`` are what the channel
    declares (None when it does not say); ``totals.check_totals`` compares them with what the
    lines add up to."""

    external_id: str = field(metadata=_meta(_non_empty, ident=True))
    name: str = field(metadata=_meta(_non_empty))
    currency: str = field(metadata=_meta(_currency))
    taxes_included: bool
    lines: list[Line] = field(metadata=_meta(_not_empty_list))
    created_at: datetime
    updated_at: datetime
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    fee_lines: list[FeeLine] = field(default_factory=list)
    discounts: list[Discount] = field(default_factory=list)
    customer: Customer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    payments: list[Payment] = field(default_factory=list)
    financial_status: FinancialStatus = "pending"
    fulfillment_status: FulfillmentStatus = "unfulfilled"
    note: str = ""
    note_attributes: dict[str, str] = field(default_factory=dict)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    total_untaxed: Decimal | None = None
    total_tax: Decimal | None = None
    total: Decimal | None = None
    is_test: bool = False
    source_name: str | None = None
    tags: list[str] = field(default_factory=list)
    presentment_currency: str | None = field(default=None, metadata=_meta(_currency))
    # The channel's fraud assessment, normalized by canonical/risk.py; None: the channel gave none.
    risk_level: str | None = field(default=None, metadata=_meta(_risk_level))
    # The channel location (store, POS, fulfilment location) the order came from: allocation rules use it.
    location_external_id: str | None = field(default=None, metadata=_meta(ident=True))

    @property
    def cancelled(self):
        return self.cancelled_at is not None

    def _collected(self):
        return [p for p in self.payments if p.collected and p.currency == self.currency]

    @property
    def paid_amount(self):
        """Money collected in the order's currency: successful sale/capture payments,
        gift cards included. Payments in another currency (presentment) are not converted
        and not counted."""
        return _sum(p.amount for p in self._collected())

    @property
    def gift_card_amount(self):
        """The part of ``paid_amount`` paid with gift cards (not cash for the ledger)."""
        return _sum(p.amount for p in self._collected() if p.is_gift_card)

    @property
    def refunded_amount(self):
        """Successful refund transactions in the order's currency."""
        return _sum(
            p.amount for p in self.payments
            if p.kind == "refund" and p.status == "success" and p.currency == self.currency
        )

    def line_by_external_id(self, external_id):
        """The line with this external id, or None (refunds and shipments refer to lines)."""
        return next((line for line in self.lines if line.external_id == external_id), None)

    def _cross_checks(self):
        return (
            _duplicates(self.lines, "lines")
            + _duplicates(self.shipping_lines, "shipping_lines")
            + _duplicates(self.fee_lines, "fee_lines")
        )


# --- after-sale records -------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class RefundLine:
    """A refunded order line. ``amount`` includes tax when the order's prices do;
    ``quantity`` 0 refunds money on the line without returning goods."""

    order_line_external_id: str = field(metadata=_meta(_non_empty, ident=True))
    quantity: Decimal = field(metadata=_meta(_non_negative))
    restock: bool = False
    amount: Decimal = field(metadata=_meta(_non_negative))
    tax_amount: Decimal = field(default=ZERO, metadata=_meta(_non_negative))


@dataclass(slots=True, kw_only=True)
class Refund:
    """A refund on an order; ``amount`` is the money actually returned to the buyer.

    ``external_id`` is None for a refund Odoo is about to push to the channel.
    ``adjustment_amount`` (either sign) covers what lines and shipping do not explain.
    """

    external_id: str | None = field(default=None, metadata=_meta(_non_empty, ident=True))
    order_external_id: str = field(metadata=_meta(_non_empty, ident=True))
    created_at: datetime
    currency: str = field(metadata=_meta(_currency))
    lines: list[RefundLine] = field(default_factory=list)
    shipping_amount: Decimal = field(default=ZERO, metadata=_meta(_non_negative))
    shipping_tax: Decimal = field(default=ZERO, metadata=_meta(_non_negative))
    adjustment_amount: Decimal = ZERO
    amount: Decimal = field(metadata=_meta(_non_negative))
    transactions: list[Payment] = field(default_factory=list)
    note: str = ""


@dataclass(slots=True, kw_only=True)
class ShipmentLine:
    """Shipped quantity of an order line, identified by line id or, failing that, SKU."""

    order_line_external_id: str | None = field(default=None, metadata=_meta(ident=True))
    sku: str | None = None
    quantity: Decimal = field(metadata=_meta(_positive))

    def _cross_checks(self):
        if not self.order_line_external_id and not self.sku:
            return [("order_line_external_id", "order_line_external_id or sku is required")]
        return []


@dataclass(slots=True, kw_only=True)
class Shipment:
    """A shipment (fulfillment) of order lines; ``external_id`` None when Odoo is about
    to push it and the channel has not numbered it yet."""

    external_id: str | None = field(default=None, metadata=_meta(_non_empty, ident=True))
    order_external_id: str = field(metadata=_meta(_non_empty, ident=True))
    lines: list[ShipmentLine] = field(metadata=_meta(_not_empty_list))
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = field(default=None, metadata=_meta(_http_url))
    status: str | None = None
    created_at: datetime | None = None
    notify_customer: bool = False

