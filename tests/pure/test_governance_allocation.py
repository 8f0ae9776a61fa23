"""Governance, warehouse allocation (pure): rules by location, country, region, stock and priority;
the fallback; split per line with stock counted down."""

from decimal import Decimal as D

from omni_connector_base.importer.allocation import LineNeed, OrderFacts, Rule, allocate

STOCK = {("east", "hoodie"): D(1), ("main", "socks"): D(5), ("main", "hoodie"): D(0), ("east", "socks"): D(0)}
NEEDS = [LineNeed("l1", "hoodie", D(1)), LineNeed("l2", "socks", D(2))]


def available(warehouse, product):
    return STOCK.get((warehouse, product), D(0))


def test_conditions_select_the_rule():
    rules = [Rule("east", countries=frozenset({"DE"}), require_stock=False),
             Rule("pos", locations=frozenset({"7"}), require_stock=False),
             Rule("west", regions=frozenset({"US-CA"}), require_stock=False)]
    assert allocate(rules, OrderFacts(country="de"), NEEDS, available, "main").warehouse == "east"
    assert allocate(rules, OrderFacts(location="7", country="FR"), NEEDS, available, "main").warehouse == "pos"
    assert allocate(rules, OrderFacts(country="US", state="ca"), NEEDS, available, "main").warehouse == "west"
    fallback = allocate(rules, OrderFacts(country="US", state="NY"), NEEDS, available, "main")
    assert (fallback.warehouse, fallback.split, fallback.reason) == ("main", False, "fallback: no matching rule")


def test_priority_and_stock():
    rules = [Rule("east"), Rule("main", require_stock=False)]
    result = allocate(rules, OrderFacts(), NEEDS, available, "fallback")
    assert result.warehouse == "main", "east lacks the socks: the next rule"
    assert allocate([Rule("east"), Rule("main")], OrderFacts(), NEEDS, available, "fb").warehouse == "fb"
    assert allocate([Rule("east")], OrderFacts(), [LineNeed("l1", "hoodie", D(1))], available, "fb").warehouse == "east"
    services = [LineNeed("l3", "gift-wrap", D(1), needs_stock=False)]
    assert allocate([Rule("east")], OrderFacts(), services, available, "fb").warehouse == "east"


def test_split_per_line_counts_stock_down():
    rules = [Rule("east"), Rule("main")]
    result = allocate(rules, OrderFacts(), NEEDS, available, "fb", split_allowed=True)
    assert result.split
    assert result.lines == {"l1": "east", "l2": "main"}
    two_hoodies = [LineNeed("a", "hoodie", D(1)), LineNeed("b", "hoodie", D(1)), LineNeed("c", "socks", D(1))]
    result = allocate(rules, OrderFacts(), two_hoodies, available, "fb", split_allowed=True)
    assert result.lines == {"a": "east", "b": "fb", "c": "main"}, "east had one hoodie only"
    assert result.warehouse == "east", "the most lines, first seen on a tie"
    assert not allocate([], OrderFacts(), NEEDS, available, "fb", split_allowed=True).split
