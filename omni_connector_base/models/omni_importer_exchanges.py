"""The order importer's exchanges: what comes back and what goes out, and only the price
difference as money.

* What comes back: a credit note and a return picking, through the refund path (a canonical
  ``Refund`` keyed ``exchange:<id>``, so it is imported once), with the refund transactions.
* What goes out: new lines on the order (a new delivery for them), or a follow-up order linked
  to it, as the backend's *Exchange Delivery* says; invoiced (only those lines).
* Money: the credit note is offset against that invoice; a top-up (sale transaction) is paid in
  the gateway's clearing journal against the invoice, a partial refund against the credit note.
"""

from dataclasses import replace as dc_replace

from odoo import Command, api, fields, models

from ..canonical import Order, Refund, RefundLine, ValidationError
from ..canonical.exchange import exchange_from_dict
from ..importer.plan import plan_order_lines
from ..pipeline.errors import BusinessError, TransientError
from .omni_order_importer import ORDER_MODEL, naive_utc

EXCHANGE_TOPIC = "exchanges/create"


class OmniBackendExchange(models.Model):
    # The exchange setting of omni.backend, in a file of its own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    exchange_mode = fields.Selection(
        [("order", "New lines on the order"), ("followup", "Linked follow-up order")],
        default="order",
        required=True,
        string="Exchange Delivery",
        help="Where the goods an exchange sends out go: new lines on the original order (delivered by a new "
        "picking of that order), or a follow-up sale order linked to it. Either way only the new lines are "
        "invoiced, the returned goods get a credit note and a return, and only the price difference is paid "
        "or refunded.",
    )


class SaleOrderExchange(models.Model):
    # The exchange link of follow-up orders, beside the importer that sets it.
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    omni_exchange_of_id = fields.Many2one(
        "sale.order", string="Exchange Of", readonly=True, copy=False, index="btree_not_null",
        help="The channel order this follow-up order exchanges goods of.",
    )


class OmniOrderImporterExchanges(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _omni_handle_canonical_event(self, backend, event):
        if event.topic == EXCHANGE_TOPIC:
            try:
                exchange = exchange_from_dict(event._omni_payload_json())
            except ValidationError as error:
                raise BusinessError(
                    self.env._("The payload is not a valid canonical exchange: %s", error), category="validation"
                ) from error
            return self._omni_import_exchange(backend, exchange, event)
        return super()._omni_handle_canonical_event(backend, event)

    @api.model
    def _omni_import_exchange(self, backend, exchange, event=None):
        """Apply a canonical ``Exchange``; return the sale order that ships the new goods.
        Idempotent by exchange id (the credit note's binding, then the new lines' bindings)."""
        Binding = self.env["omni.binding"]
        sale = Binding._omni_lookup(backend, ORDER_MODEL, [exchange.order_external_id]).get(exchange.order_external_id)
        if not sale:
            raise TransientError(
                self.env._("Order %s of this exchange is not imported yet.", exchange.order_external_id), retry_after=60
            )
        if exchange.currency != sale.currency_id.name:
            raise BusinessError(
                self.env._("Exchange %(exchange)s is in %(currency)s, its order in %(order_currency)s.",
                           exchange=exchange.external_id, currency=exchange.currency,
                           order_currency=sale.currency_id.name),
                category="validation", record=(sale._name, sale.id),
            )
        credit_note = self.env["account.move"]
        if exchange.returned:
            refund = Refund(
                external_id=f"exchange:{exchange.external_id}",
                order_external_id=exchange.order_external_id,
                created_at=exchange.created_at,
                currency=exchange.currency,
                lines=[RefundLine(order_line_external_id=line.order_line_external_id, quantity=line.quantity,
                                  restock=line.restock, amount=line.amount) for line in exchange.returned],
                amount=exchange.returned_amount,
                transactions=[tx for tx in exchange.transactions if tx.kind == "refund"],
                note=exchange.note,
            )
            credit_note = self._omni_import_refund(backend, refund, event)
        target, invoice = self._omni_exchange_new_goods(backend, sale, exchange)
        if invoice:
            self._omni_exchange_payments(backend, target, exchange, invoice)
        if credit_note and invoice:
            # The returned value pays (part of) the new goods: offset the two receivables.
            (credit_note.line_ids | invoice.line_ids).filtered(
                lambda line: line.display_type == "payment_term" and not line.reconciled
            ).reconcile()
        sale.message_post(body=self.env._(
            "Exchange %(exchange)s: %(back)s %(currency)s back, %(out)s %(currency)s out; difference %(diff)s "
            "%(currency)s.", exchange=exchange.external_id, back=exchange.returned_amount,
            out=exchange.new_amount, diff=exchange.difference, currency=exchange.currency))
        return target

    def _omni_exchange_new_goods(self, backend, sale, exchange):
        """The new lines on ``sale`` or on a follow-up order; their invoice (posted), or None."""
        if not exchange.new_lines:
            return sale, None
        Binding = self.env["omni.binding"]
        prefix = f"{exchange.order_external_id}:exchange:{exchange.external_id}"
        followup_key = prefix if backend.exchange_mode == "followup" else None
        target = sale
        if followup_key:
            target = Binding._omni_lookup(backend, ORDER_MODEL, [followup_key]).get(followup_key)
            if target:
                return target, target.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")[:1] or None
        order = Order(
            external_id=followup_key or sale.omni_external_id,
            name=f"{sale.omni_channel_order_name or sale.name} / {exchange.external_id}",
            currency=exchange.currency,
            taxes_included=exchange.taxes_included,
            lines=[dc_replace(line, external_id=f"x{exchange.external_id}-{line.external_id}")
                   for line in exchange.new_lines],
            created_at=exchange.created_at,
            updated_at=exchange.created_at,
        )
        first_key = f"{order.external_id}/{order.lines[0].external_id}"
        if not followup_key and Binding._omni_lookup(backend, "sale.order.line", [first_key]):
            return sale, None  # already added by an earlier delivery of this exchange
        planned = plan_order_lines(order, backend.discount_mode, self._omni_discount_digits())
        line_values = self._omni_line_values(backend, order, planned)
        if followup_key:
            target = sale.copy({
                "order_line": [Command.create(values) for _planned, values in line_values],
                "omni_backend_id": backend.id,
                "omni_external_id": followup_key,
                "omni_channel_order_name": order.name,
                "omni_exchange_of_id": sale.id,
                "client_order_ref": order.name,
                "origin": self.env._("Exchange %(exchange)s of %(order)s", exchange=exchange.external_id,
                                     order=sale.name),
                "date_order": naive_utc(exchange.created_at),
            })
            self._omni_bind_lines(backend, target, [p for p, _v in line_values],
                                  also=[(target, followup_key, naive_utc(exchange.created_at), None)])
            target.action_confirm()
            new_lines = target.order_line
        else:
            before = sale.order_line
            sale.write({"order_line": [Command.create(values) for _planned, values in line_values]})
            new_lines = (sale.order_line - before).sorted("id")
            self._omni_bind_lines(backend, sale, [p for p, _v in line_values], sale_lines=new_lines)
        invoice_values = target._prepare_invoice()
        invoice_values["invoice_line_ids"] = [
            Command.create(line._prepare_invoice_line(quantity=line.product_uom_qty)) for line in new_lines
        ]
        invoice = self.env["account.move"].with_company(target.company_id).create(invoice_values)
        invoice.action_post()
        return target, invoice

    def _omni_exchange_payments(self, backend, target, exchange, invoice):
        """The top-up the customer paid (sale transactions), against the new goods' invoice."""
        Binding = self.env["omni.binding"]
        payments = self.env["account.payment"]
        for transaction in exchange.transactions:
            if not transaction.collected:
                continue
            reference = transaction.transaction_id or f"exchange:{exchange.external_id}:{transaction.gateway}"
            if Binding._omni_lookup(backend, "account.payment", [reference]):
                continue
            journal = backend._omni_clearing_journal(transaction.gateway)
            payments |= self._omni_channel_payment(
                backend, target, transaction, reference, journal, "inbound", exchange.created_at
            )
        if payments:
            self._omni_reconcile_payments(payments, invoice)
            target.omni_payment_ids |= payments
        return payments
