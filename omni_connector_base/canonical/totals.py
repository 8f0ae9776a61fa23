"""Order totals recomputed from the canonical lines, and THE comparison of two totals.

Why: a sale order must cost what the buyer paid. Recomputing the totals from the parts the
importer will create (lines, shipping, fees, taxes) and comparing them with the totals the
channel declares catches mapping mistakes (a lost discount, a tax counted twice) before an
order reaches invoicing.

One comparison (:func:`compare_totals`, reporting a :class:`TotalsCheck`) serves both
checks, so they cannot drift apart: ``check_totals`` compares what a canonical order's parts
add up to with what the channel declared (mappers, tests), and the importer compares the
totals Odoo computed for the sale order with the channel's (:func:`channel_totals`). It
lives here, beside ``Totals``, rather than in ``importer.plan``: it is a totals rule that
holds without Odoo, and ``importer.plan`` only plans lines.

Semantics
    * line net = quantity * unit_price - discount_amount;
      shipping net = price - discount_amount; fee net = amount;
    * each net and each tax line amount is rounded to the order currency's minor unit
      (ROUND_HALF_UP) before summing, as channels round per line;
    * tax = sum of all tax_lines amounts (lines, shipping, fees);
    * ``taxes_included``:  total = sum of nets;  untaxed = total - tax;
    * taxes excluded:      untaxed = sum of nets;  total = untaxed + tax;
    * ``Order.discounts`` are informative only: their money already sits on the lines' and
      shipping lines' ``discount_amount`` and is never subtracted again.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .model import ZERO
from .money import currency_exponent, quantize

DEFAULT_TOLERANCE = Decimal("0.01")
DEFAULT_TOLERANCE_UNITS = 1  # one minor unit of the order's currency
_PARTS = ("total", "tax", "untaxed")  # reporting order: what a person checks first


@dataclass(frozen=True, slots=True)
class Totals:
    """Untaxed amount, tax and total of an order, in the order's currency.

    When it describes what a channel declared, a part is None if the channel said nothing.
    """

    untaxed: Decimal | None
    tax: Decimal | None
    total: Decimal | None


@dataclass(frozen=True, slots=True)
class TotalsCheck:
    """Outcome of :func:`compare_totals` (and ``check_totals``).

    ``differences`` maps each declared part (``total``, ``tax``, ``untaxed``) to
    computed - declared; ``difference`` is the largest of them by magnitude (sign kept),
    ``0`` when nothing was declared (then there is nothing to contradict).
    """

    ok: bool
    computed: Totals
    declared: Totals
    difference: Decimal
    differences: dict = field(default_factory=dict)
    tolerance: Decimal = DEFAULT_TOLERANCE

    @property
    def total_gap(self):
        """What must be added to the computed total to reach the declared one (0 when no
        total was declared): the amount of a rounding line."""
        if self.declared.total is None:
            return ZERO
        return self.declared.total - self.computed.total  # not -difference: no "-0.00" in messages

    def describe(self):
        """One line for a person reading an exception, e.g.
        ``total: computed 70.61, declared 70.60 (difference 0.01)``."""
        if not self.differences:
            return "the channel declared no totals"
        return "; ".join(
            f"{part}: computed {getattr(self.computed, part)}, declared {getattr(self.declared, part)}"
            f" (difference {difference})"
            for part, difference in self.differences.items()
        )

    def describe_sides(self, currency, computed_name, declared_name):
        """Both sides in full, for complete totals, e.g. ``Odoo: untaxed 59.33 + tax 11.27 =
        70.6 EUR; channel: untaxed ... ; difference 1.00 (tolerance 0.01)``."""
        computed, declared = self.computed, self.declared
        return (
            f"{computed_name}: untaxed {computed.untaxed} + tax {computed.tax} = {computed.total} {currency}; "
            f"{declared_name}: untaxed {declared.untaxed} + tax {declared.tax} = {declared.total} {currency}; "
            f"difference {self.total_gap} (tolerance {self.tolerance})"
        )


def compute_totals(order):
    """Untaxed, tax and total of ``order`` computed from its parts (see module docstring).

    Expects a valid order (``parse.validate``): amounts must be Decimals.
    """
    currency = order.currency
    charged = [*order.lines, *order.shipping_lines, *order.fee_lines]
    nets = sum((quantize(item.net, currency) for item in charged), ZERO)
    tax = sum((quantize(tax_line.amount, currency) for item in charged for tax_line in item.tax_lines), ZERO)
    # Keep the currency's exponent even for an order whose sums are all zero.
    nets, tax = quantize(nets, currency), quantize(tax, currency)
    if order.taxes_included:
        return Totals(untaxed=nets - tax, tax=tax, total=nets)
    return Totals(untaxed=nets, tax=tax, total=nets + tax)


def compare_totals(computed, declared, tolerance=DEFAULT_TOLERANCE):
    """Compare two ``Totals``: ``computed`` (what we make of an order) with ``declared``
    (what it must come to).

    A declared part that is None is not compared. ``ok`` when every compared part is within
    ``tolerance`` (inclusive). The default of 0.01 suits 2-decimal currencies; pass e.g.
    ``Decimal(1)`` to allow one yen of rounding.
    """
    differences = {
        part: getattr(computed, part) - getattr(declared, part)
        for part in _PARTS
        if getattr(declared, part) is not None
    }
    difference = max(differences.values(), key=abs, default=ZERO)
    ok = all(abs(value) <= tolerance for value in differences.values())
    return TotalsCheck(ok=ok, computed=computed, declared=declared, difference=difference,
                       differences=differences, tolerance=tolerance)


def minor_units_tolerance(units, exponent):
    """``units`` minor units of a currency with ``exponent`` decimals, as an amount:
    ``(1, 2) -> 0.01``, ``(1, 0) -> 1`` (JPY), ``(1, 3) -> 0.001`` (KWD). One absolute 0.01
    would be a hundredth of a yen, or ten fils."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError("a tolerance is a non-negative number of minor units")
    return Decimal(units).scaleb(-int(exponent))


def currency_tolerance(currency, units=DEFAULT_TOLERANCE_UNITS):
    """``units`` minor units of the ISO currency ``currency`` (see ``money.currency_exponent``)."""
    return minor_units_tolerance(units, currency_exponent(currency))


def check_totals(order, tolerance=None):
    """Compare ``compute_totals(order)`` with the channel's declared totals (see
    :func:`compare_totals`; a part the channel did not declare is not compared). The default
    tolerance is one minor unit of the order's currency."""
    declared = Totals(untaxed=order.total_untaxed, tax=order.total_tax, total=order.total)
    if tolerance is None:
        tolerance = currency_tolerance(order.currency)
    return compare_totals(compute_totals(order), declared, tolerance)


def channel_totals(order):
    """What the channel says ``order`` comes to, every part filled: a part it did not declare
    is taken from the order's lines (``compute_totals``), the untaxed amount from the total
    less the tax. What the sale order Odoo computed must match."""
    computed = compute_totals(order)
    total = order.total if order.total is not None else computed.total
    tax = order.total_tax if order.total_tax is not None else computed.tax
    untaxed = order.total_untaxed if order.total_untaxed is not None else total - tax
    return Totals(untaxed=untaxed, tax=tax, total=total)
