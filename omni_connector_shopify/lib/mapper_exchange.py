"""A Shopify ``Return`` with exchange line items -> the canonical ``Exchange`` (no ``odoo`` import).

What comes back is the return's ``returnLineItems`` (each names the order's line item through its
fulfillment line item); what goes out is its ``exchangeLineItems`` (the new ``LineItem`` nodes,
mapped like an order's lines). A return carries no money of its own: the credited value of each
returned line is the order line's value per unit (``unit_amounts``, tax included, known to Odoo
from the imported order), and the price difference is what the order's transactions for the
exchange say (``transactions``: a sale for a top-up, a refund for a partial refund).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .graphql import nodes
from .mapper_common import FieldError, ValidationError, _datetime, _dec, _join, _obj, error_guard
from .mapper_graphql import _legacy, _line, map_graphql_transactions

try:
    from odoo.addons.omni_connector_base.canonical.exchange import Exchange, ExchangeReturnLine
    from odoo.addons.omni_connector_base.canonical.parse import validate
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.exchange import Exchange, ExchangeReturnLine
    from omni_connector_base.canonical.parse import validate

CENT = Decimal("0.01")


def map_graphql_exchange(node: Mapping, *, currency, taxes_included, unit_amounts, transactions=(),
                         restock=True) -> Exchange:
    """``Return`` node -> validated ``Exchange``.

    :param unit_amounts: ``{order line item legacy id: Decimal}``, what one unit of each order line
        is worth, tax included (what the customer is credited per unit returned)
    :param transactions: ``OrderTransaction`` nodes of the order for this exchange
    """
    _obj(node, "$")
    errors = []
    guard = error_guard(errors)
    external_id = _legacy(node.get("id"))
    if external_id is None:
        errors.append(FieldError("id", "is required"))
    order_id = _legacy((node.get("order") or {}).get("id"))
    if order_id is None:
        errors.append(FieldError("order.id", "is required"))
    returned = []
    for index, item in enumerate(nodes(node.get("returnLineItems"))):
        path = f"returnLineItems[{index}]"
        line_id = _legacy((((item or {}).get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id"))
        quantity = guard(_dec, (item or {}).get("quantity"), _join(path, "quantity"))
        if line_id is None:
            errors.append(FieldError(_join(path, "fulfillmentLineItem.lineItem.id"), "is required"))
            continue
        if line_id not in unit_amounts:
            errors.append(FieldError(_join(path, "fulfillmentLineItem.lineItem.id"), "is not a line of the order"))
            continue
        if quantity:
            amount = (Decimal(unit_amounts[line_id]) * quantity).quantize(CENT)
            returned.append(ExchangeReturnLine(order_line_external_id=line_id, quantity=quantity, amount=amount,
                                               restock=restock))
    new_lines = []
    for index, exchange_item in enumerate(nodes(node.get("exchangeLineItems"))):
        items = (exchange_item or {}).get("lineItems")
        items = items if isinstance(items, list) else [(exchange_item or {}).get("lineItem")]
        for sub, item in enumerate(items):
            line = guard(_line, item, f"exchangeLineItems[{index}].lineItems[{sub}]", {})
            if line is not None:
                new_lines.append(line)
    payments = guard(map_graphql_transactions, list(transactions), currency) or [] if transactions else []
    created_at = guard(_datetime, node.get("createdAt") or node.get("closedAt"), "createdAt")
    if errors:
        raise ValidationError(errors)
    return validate(Exchange(
        external_id=external_id, order_external_id=order_id, created_at=created_at, currency=currency,
        taxes_included=taxes_included, returned=returned, new_lines=new_lines, transactions=payments,
        note=str(node.get("name") or ""),
    ))
