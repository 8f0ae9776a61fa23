"""Warehouse allocation of imported orders: rules per channel, split delivery per line.

The channel's allocation rules (Governance tab), in priority order, pick the warehouse of a
new order by the channel location, the shipping country or region and the stock available at
import (``importer/allocation.py`` decides, pure); the fallback is the backend's warehouse.
With split delivery allowed, an order no single warehouse can ship is split by line: each line
is delivered from its own warehouse (``sale.order.line.omni_warehouse_id``), so confirming it
makes one picking per warehouse.
"""

from decimal import Decimal

from odoo import api, fields, models

from ..importer.allocation import LineNeed, OrderFacts, Rule, allocate


class OmniAllocationRule(models.Model):
    _name = "omni.allocation.rule"
    _description = "Omnichannel Warehouse Allocation Rule"
    _order = "sequence, id"
    _check_company_auto = True

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sequence = fields.Integer(default=10, help="Priority: the first rule that can take the order wins.")
    warehouse_id = fields.Many2one("stock.warehouse", required=True, check_company=True)
    channel_location = fields.Char(
        help="Only orders from these channel locations (comma separated ids, e.g. a Shopify location or a "
        "POS id); empty: any."
    )
    country_ids = fields.Many2many("res.country", string="Shipping Countries", help="Empty: any country.")
    state_ids = fields.Many2many("res.country.state", string="Shipping Regions", help="Empty: any region.")
    require_stock = fields.Boolean(
        default=True,
        string="Only With Stock",
        help="Take an order (or, split, a line) only when the warehouse has the quantity free at import: no "
        "allocation to a warehouse that cannot ship.",
    )

    def _omni_rule(self):
        self.ensure_one()
        return Rule(
            warehouse=self.warehouse_id.id,
            locations=frozenset(part.strip() for part in (self.channel_location or "").split(",") if part.strip()),
            countries=frozenset(code.upper() for code in self.country_ids.mapped("code")),
            regions=frozenset(f"{state.country_id.code}-{state.code}".upper() for state in self.state_ids),
            require_stock=self.require_stock,
        )


class OmniBackendAllocation(models.Model):
    # The allocation settings of omni.backend, in a file of their own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    allocation_rule_ids = fields.One2many(
        "omni.allocation.rule", "backend_id", string="Warehouse Allocation", copy=True,
        help="Rules picking the warehouse of a new order, first match wins; none: the backend's warehouse.",
    )
    allocation_split = fields.Boolean(
        string="Split Delivery per Line",
        help="When no warehouse of the matching rules can ship the whole order, deliver each line from the "
        "first matching warehouse that has its stock (one picking per warehouse).",
    )


class SaleOrderLineAllocation(models.Model):
    # The allocated warehouse of split lines, beside the importer that sets it.
    _inherit = "sale.order.line"  # pylint: disable=consider-merging-classes-inherited

    omni_warehouse_id = fields.Many2one(
        "stock.warehouse", string="Allocated Warehouse", readonly=True, copy=False,
        help="The warehouse the channel's allocation rules gave this line (split delivery).",
    )

    @api.depends("omni_warehouse_id")
    def _compute_warehouse_id(self):
        result = super()._compute_warehouse_id()
        for line in self.filtered("omni_warehouse_id"):
            line.warehouse_id = line.omni_warehouse_id
        return result


class OmniOrderImporterAllocation(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_create_order(self, backend, order, digest=None):
        sale = super()._omni_create_order(backend, order, digest)
        if backend.allocation_rule_ids:
            self._omni_allocate_warehouses(backend, sale, order)
        return sale

    def _omni_allocate_warehouses(self, backend, sale, order):
        """Apply the backend's allocation rules to a new sale order (before it is confirmed)."""
        rules = backend.allocation_rule_ids.sorted(lambda rule: (rule.sequence, rule.id))
        address = order.shipping_address or order.billing_address
        facts = OrderFacts(
            location=order.location_external_id,
            country=address.country_code if address else None,
            state=address.state_code if address else None,
        )
        lines = sale.order_line.filtered(lambda line: line.product_id.type == "consu" and not line.display_type)
        needs = [
            LineNeed(line.id, line.product_id.id, Decimal(repr(line.product_uom_qty)),
                     bool(line.product_id.is_storable))
            for line in lines
        ]
        free = {}

        def available(warehouse_id, product_id):
            if warehouse_id not in free:
                products = lines.product_id.with_context(warehouse_id=warehouse_id)
                free[warehouse_id] = {product.id: Decimal(repr(product.free_qty)) for product in products}
            return free[warehouse_id].get(product_id, Decimal(0))

        fallback = (backend.warehouse_id or sale.warehouse_id).id
        result = allocate([rule._omni_rule() for rule in rules], facts, needs, available, fallback,
                          split_allowed=backend.allocation_split)
        Warehouse = self.env["stock.warehouse"]
        if result.warehouse and result.warehouse != sale.warehouse_id.id:
            sale.warehouse_id = result.warehouse
        if result.split:
            for line in lines:
                line.omni_warehouse_id = result.lines[line.id]
        used = set(result.lines.values()) or {result.warehouse}
        names = ", ".join(sorted(set(Warehouse.browse(used).mapped("name"))))
        sale.message_post(body=self.env._("Warehouse allocation (%(reason)s): %(warehouses)s.",
                                          reason=result.reason, warehouses=names))
        return result
