"""The canonical exchange: goods coming back and goods going out in one after-sale operation
(a Shopify return with exchange line items, a storefront's exchange through the custom API).

Pure (no ``odoo`` import). ``returned`` lines name lines of the original order and what they
are worth (tax included, what the customer is credited); ``new_lines`` are canonical order
``Line`` records for what goes out; ``transactions`` move only the price difference: a ``sale``
(or capture) for a top-up the customer pays, a ``refund`` for what the customer gets back.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .model import Line, Payment, _currency, _meta, _non_empty, _non_negative, _positive, _sum
from .parse import _from_dict, to_dict


@dataclass(slots=True, kw_only=True)
class ExchangeReturnLine:
    """A line of the original order coming back, and what it is worth (tax included)."""

    order_line_external_id: str = field(metadata=_meta(_non_empty, ident=True))
    quantity: Decimal = field(metadata=_meta(_positive))
    amount: Decimal = field(metadata=_meta(_non_negative))
    restock: bool = True


@dataclass(slots=True, kw_only=True)
class Exchange:
    external_id: str = field(metadata=_meta(_non_empty, ident=True))
    order_external_id: str = field(metadata=_meta(_non_empty, ident=True))
    created_at: datetime
    currency: str = field(metadata=_meta(_currency))
    taxes_included: bool
    returned: list[ExchangeReturnLine] = field(default_factory=list)
    new_lines: list[Line] = field(default_factory=list)
    transactions: list[Payment] = field(default_factory=list)
    note: str = ""

    @property
    def returned_amount(self):
        """What the customer is credited for the goods coming back."""
        return _sum(line.amount for line in self.returned)

    @property
    def new_amount(self):
        """What the goods going out cost, tax included."""
        return _sum(line.net + (Decimal(0) if self.taxes_included else line.tax_amount) for line in self.new_lines)

    @property
    def difference(self):
        """Positive: the customer pays a top-up; negative: the customer is refunded; zero: even."""
        return self.new_amount - self.returned_amount

    def _cross_checks(self):
        if not self.returned and not self.new_lines:
            return [("returned", "an exchange needs returned lines or new lines")]
        return []


def exchange_from_dict(data):
    """Canonical JSON object -> validated ``Exchange``; raises ``ValidationError``."""
    return _from_dict(Exchange, data)


def exchange_to_dict(exchange):
    """``Exchange`` -> JSON-able dict; ``exchange_from_dict`` reads it back to an equal record."""
    return to_dict(exchange)
