"""The order importer's refunds and returns: a credit note for what the channel refunded,
a return picking for restocked goods, the refund payment in the clearing journal."""

from decimal import Decimal

from odoo import Command, api, models

from ..canonical import record_digest
from ..pipeline.errors import BusinessError, TransientError
from .omni_order_importer import LINE_MODEL, ORDER_MODEL, REFUND_MODEL, as_decimal, naive_utc


class OmniOrderImporterRefunds(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _omni_import_refund(self, backend, refund, event=None):
        """Credit note for the refunded lines, shipping and adjustments; return for restocked
        quantities; refund payment in the clearing journal. Idempotent by refund id.

        ``event`` (the inbox event, if any) is unused: connectors pass it positionally."""
        Binding = self.env["omni.binding"]
        refund_key = refund.external_id or record_digest(refund)
        existing = Binding._omni_lookup(backend, REFUND_MODEL, [refund_key]).get(refund_key)
        if existing:
            return existing
        sale = Binding._omni_lookup(backend, ORDER_MODEL, [refund.order_external_id]).get(refund.order_external_id)
        if not sale:
            raise TransientError(
                self.env._("Order %s of this refund is not imported yet.", refund.order_external_id), retry_after=60
            )
        line_ids = [f"{sale.omni_external_id}/{line.order_line_external_id}" for line in refund.lines]
        sale_lines = Binding._omni_lookup(backend, LINE_MODEL, line_ids)
        invoice_lines = []
        restock = []
        for refund_line, key in zip(refund.lines, line_ids, strict=True):
            sale_line = sale_lines.get(key)
            if not sale_line:
                raise BusinessError(
                    self.env._(
                        "Refund %(refund)s names an order line %(line)s that Odoo does not know.",
                        refund=refund.external_id,
                        line=refund_line.order_line_external_id,
                    ),
                    category="validation",
                    record=(sale._name, sale.id),
                )
            if refund_line.quantity:
                invoice_lines.append((sale_line, refund_line.quantity, refund_line.amount))
            elif refund_line.amount:
                invoice_lines.append((sale_line, None, refund_line.amount))
            if refund_line.restock and refund_line.quantity:
                restock.append((sale_line, refund_line.quantity))
        credit_note = self._omni_create_credit_note(backend, sale, refund, invoice_lines)
        Binding._omni_bind(backend, credit_note, refund_key)
        if restock:
            self._omni_return_goods(sale, restock)
        self._omni_register_refund_payments(backend, sale, refund, credit_note)
        sale.message_post(
            body=self.env._(
                "Refund %(refund)s of %(amount)s %(currency)s imported from the channel.",
                refund=refund.external_id,
                amount=refund.amount,
                currency=refund.currency,
            )
        )
        return credit_note

    def _omni_create_credit_note(self, backend, sale, refund, invoice_lines):
        """Lines priced so the credit note equals what the channel refunded, taxes included."""
        move_lines = []
        for sale_line, quantity, amount in invoice_lines:
            qty = float(quantity) if quantity else 1.0
            price_unit = float(Decimal(amount) / Decimal(str(qty)))
            move_lines.append(
                Command.create(
                    {
                        "product_id": sale_line.product_id.id,
                        "name": sale_line.name,
                        "quantity": qty,
                        "price_unit": price_unit,
                        "tax_ids": [Command.set(sale_line.tax_ids.ids)],
                        "sale_line_ids": [Command.link(sale_line.id)],
                    }
                )
            )
        if refund.shipping_amount:
            shipping_line = sale.order_line.filtered(
                lambda line: (
                    line.product_id == backend._omni_shipping_product(None)
                    or line.product_id in backend.shipping_map_ids.product_id
                )
            )[:1]
            move_lines.append(
                Command.create(
                    {
                        "product_id": (shipping_line.product_id or backend._omni_shipping_product(None)).id,
                        "name": self.env._("Shipping refund"),
                        "quantity": 1,
                        "price_unit": float(refund.shipping_amount),
                        "tax_ids": [Command.set(shipping_line.tax_ids.ids)],
                    }
                )
            )
        if refund.adjustment_amount:
            move_lines.append(
                Command.create(
                    {
                        "product_id": backend._omni_service_product("rounding").id,
                        "name": self.env._("Refund adjustment"),
                        "quantity": 1,
                        "price_unit": float(refund.adjustment_amount),
                        "tax_ids": [Command.clear()],
                    }
                )
            )
        credit_note = (
            self.env["account.move"]
            .with_company(backend.company_id)
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": sale.partner_invoice_id.id,
                    "currency_id": sale.currency_id.id,
                    "invoice_origin": sale.name,
                    "ref": self.env._("Refund %s", refund.external_id or ""),
                    "invoice_date": naive_utc(refund.created_at).date(),
                    "omni_backend_id": backend.id,
                    "omni_external_id": refund.external_id or False,
                    "invoice_line_ids": move_lines,
                }
            )
        )
        difference = refund.amount - as_decimal(credit_note.amount_total)
        tolerance = backend._omni_total_tolerance(credit_note.currency_id)
        if abs(difference) > tolerance:
            raise BusinessError(
                self.env._(
                    "Credit note for refund %(refund)s comes to %(odoo)s but the channel refunded %(channel)s %(cur)s.",
                    refund=refund.external_id,
                    odoo=credit_note.amount_total,
                    channel=refund.amount,
                    cur=refund.currency,
                ),
                category="validation",
                record=(sale._name, sale.id),
            )
        if difference:
            rounding = backend._omni_service_product("rounding")
            values, taxed = self._omni_rounding_line(
                credit_note.invoice_line_ids, rounding, difference, credit_note.currency_id, "quantity"
            )
            credit_note.write({"invoice_line_ids": [Command.create(values)]})
            if taxed and as_decimal(credit_note.amount_total) != refund.amount:
                # Odoo taxed it otherwise than planned: untaxed then (as for orders).
                line = credit_note.invoice_line_ids.filtered(
                    lambda move_line: move_line.product_id == rounding and move_line.name == values["name"]
                )[:1]
                untaxed = {"price_unit": float(difference), "tax_ids": [Command.clear()]}
                credit_note.write({"invoice_line_ids": [Command.update(line.id, untaxed)]})
        credit_note.action_post()
        return credit_note

    def _omni_return_goods(self, sale, restock):
        """Return picking for restocked quantities of delivered goods (validated: the channel
        says they are back on the shelf). Undelivered quantities just lower the delivery."""
        done_pickings = sale.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        to_return = {}
        for sale_line, quantity in restock:
            delivered = as_decimal(sale_line.qty_delivered)
            returned = min(delivered, quantity)
            if returned:
                to_return[sale_line.product_id] = to_return.get(sale_line.product_id, Decimal(0)) + returned
        if not to_return or not done_pickings:
            return self.env["stock.picking"]
        picking = done_pickings.sorted("id")[-1]
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_id=picking.id, active_model="stock.picking")
            .create({"picking_id": picking.id})
        )
        for return_line in wizard.product_return_moves:
            return_line.quantity = float(to_return.get(return_line.product_id, 0))
        returned = wizard._create_return()
        for move in returned.move_ids:
            move.quantity = move.product_uom_qty
        returned.button_validate()
        return returned

    def _omni_register_refund_payments(self, backend, sale, refund, credit_note):
        Binding = self.env["omni.binding"]
        rule = backend._omni_payment_rule(self._omni_refund_gateway(refund), "refunded")
        payments = self.env["account.payment"]
        for transaction in refund.transactions:
            if transaction.status != "success" or transaction.kind != "refund":
                continue
            reference = transaction.transaction_id or f"{refund.external_id}:{transaction.gateway}"
            if Binding._omni_lookup(backend, "account.payment", [reference]):
                continue
            if transaction.currency != sale.currency_id.name:
                self._omni_payment_in_other_currency(backend, transaction, reference, credit_note)
                continue
            journal = (rule.journal_id if rule else None) or backend._omni_clearing_journal(transaction.gateway)
            payments |= self._omni_channel_payment(
                backend, sale, transaction, reference, journal, "outbound", refund.created_at
            )
        if payments:
            self._omni_reconcile_payments(payments, credit_note)
        return payments

    @staticmethod
    def _omni_refund_gateway(refund):
        return refund.transactions[0].gateway if refund.transactions else ""
