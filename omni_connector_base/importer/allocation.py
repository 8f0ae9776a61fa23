"""Warehouse allocation of a channel order (pure: no ``odoo`` import).

The backend's allocation rules, in priority order, each name a warehouse and the orders it
takes: the channel location the order came from, the shipping country and region, and
whether the warehouse must have the stock available at import. The first rule that takes
the whole order wins; when split delivery is allowed and no warehouse takes the whole
order, each line goes to the first rule's warehouse that can ship it (its stock is counted
down as lines are given to it). What no rule takes goes to the fallback (the backend's
warehouse).
"""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Rule:
    """One allocation rule. Empty conditions match every order."""

    warehouse: object
    locations: frozenset = frozenset()  # channel location ids
    countries: frozenset = frozenset()  # ISO country codes (upper case)
    regions: frozenset = frozenset()  # "CC-SS" (country and state code, upper case)
    require_stock: bool = True

    def matches(self, order):
        if self.locations and (order.location or "") not in self.locations:
            return False
        if self.countries and (order.country or "").upper() not in self.countries:
            return False
        if self.regions and f"{(order.country or '').upper()}-{(order.state or '').upper()}" not in self.regions:
            return False
        return True


@dataclass(frozen=True)
class OrderFacts:
    """What the rules look at: the channel location and the shipping country and region."""

    location: str | None = None
    country: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class LineNeed:
    """A line to ship: its key, the product, the quantity (only stored products need stock)."""

    key: object
    product: object
    quantity: Decimal
    needs_stock: bool = True


@dataclass
class Allocation:
    """The result: the order's warehouse, each line's warehouse, and why (for the chatter)."""

    warehouse: object
    lines: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def split(self):
        return len(set(self.lines.values())) > 1


def _can_ship(rule, needs, available):
    if not rule.require_stock:
        return True
    return all(not need.needs_stock or available(rule.warehouse, need.product) >= need.quantity for need in needs)


def allocate(rules, order, needs, available, fallback, split_allowed=False):
    """Allocate ``needs`` (``LineNeed``) of ``order`` (``OrderFacts``).

    :param rules: ``Rule`` records in priority order
    :param available: ``available(warehouse, product) -> Decimal`` (stock free at import)
    :param fallback: the warehouse when no rule takes the order (or a line)
    :return: an ``Allocation``
    """
    candidates = [rule for rule in rules if rule.matches(order)]
    for index, rule in enumerate(candidates):
        if _can_ship(rule, needs, available):
            return Allocation(rule.warehouse, {need.key: rule.warehouse for need in needs},
                              f"rule {index + 1} of {len(candidates)} matching")
    if not split_allowed or not candidates:
        reason = "no matching rule" if not candidates else "no matching warehouse has the stock"
        return Allocation(fallback, {need.key: fallback for need in needs}, f"fallback: {reason}")
    left = {}

    def remaining(warehouse, product):
        key = (warehouse, product)
        if key not in left:
            left[key] = Decimal(available(warehouse, product))
        return left[key]

    lines = {}
    for need in needs:
        for rule in candidates:
            counted = rule.require_stock and need.needs_stock
            if not counted or remaining(rule.warehouse, need.product) >= need.quantity:
                lines[need.key] = rule.warehouse
                if counted:
                    left[(rule.warehouse, need.product)] -= need.quantity
                break
        else:
            lines[need.key] = fallback
    counts = {}
    for warehouse in lines.values():
        counts[warehouse] = counts.get(warehouse, 0) + 1
    main = max(counts, key=lambda warehouse: (counts[warehouse], -list(lines.values()).index(warehouse))) \
        if counts else fallback
    return Allocation(main, lines, "split by line: no matching warehouse has the whole order")
