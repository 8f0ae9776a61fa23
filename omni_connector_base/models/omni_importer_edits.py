"""The order importer's edits and cancellations of an order already imported."""

from odoo import Command, models
from odoo.tools import html2plaintext

from ..canonical import order_lines_digest
from ..importer.plan import plan_order_lines
from ..pipeline.errors import BusinessError
from .omni_order_importer import LINE_MODEL


class OmniOrderImporterEdits(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_update_order(self, backend, sale, order):
        """Apply a channel edit: allowed until something shipped or got invoiced."""
        if sale.state == "cancel":
            raise BusinessError(
                self.env._("Order %s was cancelled in Odoo but changed on the channel.", order.name),
                category="validation",
                record=(sale._name, sale.id),
            )
        if sale.omni_content_digest == order_lines_digest(order):
            # Only statuses, payments or notes moved (paid, fulfilled...): no line to touch.
            values = {"omni_financial_status": order.financial_status}
            if order.note and order.note != html2plaintext(sale.note or ""):
                values["note"] = order.note
            sale.write(values)
            self._omni_apply_workflow(backend, sale, order)
            return
        shipped = any(line.qty_delivered for line in sale.order_line)
        invoiced = sale.invoice_ids.filtered(lambda move: move.state == "posted")
        if shipped or invoiced:
            raise BusinessError(
                self.env._(
                    "Order %s changed on the channel after it was shipped or invoiced in Odoo; review it by hand.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        planned = plan_order_lines(order, backend.discount_mode, self._omni_discount_digits())
        line_values = self._omni_line_values(backend, order, planned)
        Binding = self.env["omni.binding"]
        external_ids = [f"{sale.omni_external_id}/{p.external_id}" for p, _v in line_values]
        existing = Binding._omni_lookup(backend, LINE_MODEL, external_ids)
        commands, new_planned = [], []
        kept = self.env["sale.order.line"]
        for (planned_line, values), external_id in zip(line_values, external_ids, strict=True):
            line = existing.get(external_id)
            if line:
                kept |= line
                commands.append(
                    Command.update(
                        line.id,
                        {k: v for k, v in values.items() if k != "product_id"}
                        if line.product_id.id == values["product_id"]
                        else values,
                    )
                )
            else:
                commands.append(Command.create(values))
                new_planned.append(planned_line)
        rounding = backend._omni_service_product("rounding")
        for line in sale.order_line - kept:
            if sale.state in ("draft", "sent"):
                commands.append(Command.unlink(line.id))
            elif line.product_id == rounding:
                # A confirmed order's line cannot be deleted: zeroed, the totals check reuses it.
                commands.append(
                    Command.update(line.id, {"product_uom_qty": 0, "price_unit": 0, "tax_ids": [Command.clear()]})
                )
            else:
                commands.append(Command.update(line.id, {"product_uom_qty": 0}))
        before = set(sale.order_line.ids)
        sale.write(
            {"order_line": commands, "omni_financial_status": order.financial_status, "note": order.note or sale.note}
        )
        added = sale.order_line.filtered(lambda line: line.id not in before).sorted("id")
        self._omni_bind_lines(backend, sale, new_planned, added)
        self._omni_check_totals(backend, sale, order)
        sale.omni_content_digest = order_lines_digest(order)
        sale.message_post(body=self.env._("Updated from the channel (order edited before shipping)."))
        self._omni_apply_workflow(backend, sale, order)

    def _omni_cancel_order(self, sale, order):
        """Cancel the sale order and its pickings when nothing has shipped; else a person decides."""
        if sale.state == "cancel":
            return
        shipped = any(
            picking.state == "done" and picking.picking_type_code == "outgoing" for picking in sale.picking_ids
        )
        posted = sale.invoice_ids.filtered(lambda move: move.state == "posted" and move.move_type == "out_invoice")
        if shipped:
            raise BusinessError(
                self.env._(
                    "Order %s was cancelled on the channel but has already shipped: arrange the return and "
                    "refund by hand.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        if posted:
            raise BusinessError(
                self.env._(
                    "Order %s was cancelled on the channel but is invoiced: the channel's refund will credit it; "
                    "cancel the order once refunded.",
                    order.name,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        sale.with_context(disable_cancel_warning=True)._action_cancel()
        sale.message_post(
            body=self.env._("Cancelled on the channel (%s).", order.cancel_reason or self.env._("no reason given"))
        )
