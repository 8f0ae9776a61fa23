"""Canonical order -> the sale order lines to create, without Odoo.

The Odoo importer only resolves what this plan names (products, taxes) and writes records;
every money decision is made here, in ``Decimal``, and unit-tested without a database.

Discounts are kept visible in one of two ways (a backend option):

* ``line``: the discount becomes the sale line's discount percentage, as Odoo stores it
  (rounded to the *Discount* decimal precision, 2 decimals by default), **when that
  percentage reproduces the channel's line total to the minor unit**. 7.77 off a 1,000.00
  line is 0.777 %, which Odoo would store as 0.78 % and charge 992.20 instead of 992.23:
  such a discount becomes a separate line instead, as in ``product`` mode (Odoo's own idiom
  for a fixed-amount discount), so no order is blocked by the precision of a percentage and
  the global Discount precision never needs raising;
* ``product``: the line keeps its full price and each discount becomes a separate negative
  line of the discount product carrying the same taxes (so tax totals stay right).

Either way every planned line's net, as Odoo computes it from the stored values, adds up to
the channel's line total to the minor unit (property-tested in ``tests/pure``).
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ..canonical.money import currency_exponent, quantize

ZERO = Decimal(0)
HUNDRED = Decimal(100)
DISCOUNT_PRECISION = Decimal("0.000001")
ODOO_DISCOUNT_DIGITS = 2  # Odoo's default "Discount" decimal precision


@dataclass(frozen=True)
class TaxKey:
    """How a tax is looked up in Odoo: percentage and whether prices include it."""

    percent: Decimal
    included: bool


@dataclass
class PlannedLine:
    """One sale order line to create (or update), in the order's currency."""

    kind: str  # product, shipping, fee, discount
    external_id: str
    name: str
    quantity: Decimal
    price_unit: Decimal
    discount_percent: Decimal = ZERO
    tax_keys: tuple = ()
    sku: str | None = None
    variant_external_id: str | None = None
    barcode: str | None = None
    shipping_code: str | None = None
    is_gift_card: bool = False
    source_line: object = field(default=None, repr=False, compare=False)

    @property
    def net(self):
        """Quantity x price less the discount, unrounded (what the channel charged)."""
        return self.quantity * self.price_unit * (1 - self.discount_percent / HUNDRED)


def tax_keys_for(tax_lines, included):
    """Distinct (percent, included) keys of a line's tax lines, in their order."""
    keys = []
    for tax in tax_lines:
        key = TaxKey(percent=(tax.rate * HUNDRED).normalize(), included=included)
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def discount_percent(discount_amount, quantity, unit_price):
    """Exact percentage a line discount amount represents (0 when nothing to discount)."""
    gross = quantity * unit_price
    if not discount_amount or gross <= 0:
        return ZERO
    percent = discount_amount / gross * HUNDRED
    return min(percent, HUNDRED).quantize(DISCOUNT_PRECISION, rounding=ROUND_HALF_UP)


def storable_discount_percent(discount_amount, quantity, unit_price, currency, digits=ODOO_DISCOUNT_DIGITS):
    """The discount percentage with ``digits`` decimals (how Odoo stores it) that charges
    exactly the channel's line total ``quantity * unit_price - discount_amount`` in
    ``currency``'s minor unit, or None when no such percentage exists (then the discount
    needs a line of its own)."""
    percent = discount_percent(discount_amount, quantity, unit_price).quantize(
        Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP
    )
    gross = quantity * unit_price
    if quantize(gross * (1 - percent / HUNDRED), currency) == quantize(gross - discount_amount, currency):
        return percent
    return None


def _discount_line(external_id, name, amount, keys):
    return PlannedLine(
        kind="discount",
        external_id=f"{external_id}:discount",
        name=f"Discount on {name}",
        quantity=Decimal(1),
        price_unit=-amount,
        tax_keys=keys,
    )


def plan_order_lines(order, discount_mode="line", discount_digits=ODOO_DISCOUNT_DIGITS):
    """The lines of the sale order for a canonical order.

    :param order: canonical ``Order``
    :param discount_mode: ``'line'`` or ``'product'`` (see module doc)
    :param discount_digits: decimals Odoo keeps of a line's discount (its *Discount* precision)
    :return: list of :class:`PlannedLine`, products first, then discounts, shipping, fees
    """
    included = bool(order.taxes_included)
    product_lines, discount_lines = [], []

    def apply_discount(planned, external_id, name, amount, quantity, unit_price):
        """Discount % on ``planned`` when it is exact in Odoo, else a discount line."""
        percent = None
        if discount_mode != "product":
            percent = storable_discount_percent(amount, quantity, unit_price, order.currency, discount_digits)
        if percent is None:
            discount_lines.append(_discount_line(external_id, name, amount, planned.tax_keys))
        else:
            planned.discount_percent = percent

    for line in order.lines:
        keys = tax_keys_for(line.tax_lines, included)
        planned = PlannedLine(
            kind="product",
            external_id=line.external_id,
            name=line.name,
            quantity=line.quantity,
            price_unit=line.unit_price,
            tax_keys=keys,
            sku=line.sku,
            variant_external_id=line.variant_external_id,
            barcode=line.barcode,
            is_gift_card=line.is_gift_card,
            source_line=line,
        )
        if line.discount_amount:
            apply_discount(planned, line.external_id, line.name, line.discount_amount, line.quantity, line.unit_price)
        product_lines.append(planned)

    shipping_lines = []
    for shipping in order.shipping_lines:
        keys = tax_keys_for(shipping.tax_lines, included)
        planned = PlannedLine(
            kind="shipping",
            external_id=f"shipping:{shipping.external_id}",
            name=shipping.title,
            quantity=Decimal(1),
            price_unit=shipping.price,
            tax_keys=keys,
            shipping_code=shipping.code,
        )
        if shipping.discount_amount:
            apply_discount(
                planned, planned.external_id, shipping.title, shipping.discount_amount, Decimal(1), shipping.price
            )
        shipping_lines.append(planned)

    fee_lines = [
        PlannedLine(
            kind="fee",
            external_id=f"fee:{fee.external_id}",
            name=fee.name,
            quantity=Decimal(1),
            price_unit=fee.amount,
            tax_keys=tax_keys_for(fee.tax_lines, included),
        )
        for fee in order.fee_lines
    ]
    return product_lines + discount_lines + shipping_lines + fee_lines



def rounding_line_price(gap, rates, included, currency):
    """Unit price of a rounding line taxed at ``rates`` (fractions: ``0.19``) that adds exactly
    ``gap`` to the order's total in ``currency``, or None when no price does (then the line
    goes untaxed). Tax-included: the price is the gap. Tax-excluded: the price whose per-line
    rounded taxes bring it to the gap (0.01 at 8.75 % is 0.01 + 0.00)."""
    if included or not rates:
        return gap
    unit = Decimal(1).scaleb(-currency_exponent(currency))
    first = quantize(gap / (1 + sum(rates, ZERO)), currency)
    for price in (first, first + unit, first - unit):
        if price + sum((quantize(price * rate, currency) for rate in rates), ZERO) == gap:
            return price
    return None
