"""The order importer's workflow and payments: confirm, invoice and register the channel's
payments into the gateway's clearing journal, as the backend's payment rules say."""

from decimal import Decimal

from odoo import models

from .omni_order_importer import as_decimal, naive_utc


class OmniOrderImporterWorkflow(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    @staticmethod
    def _omni_gateway(order):
        """The gateway that collected the money (a gift card only when nothing else did)."""
        collected = [p for p in order.payments if p.collected]
        preferred = [p for p in collected if not p.is_gift_card] or collected or order.payments
        return preferred[0].gateway if preferred else None

    def _omni_apply_workflow(self, backend, sale, order):
        """Confirm, invoice and register the payment as the first matching rule says.

        Idempotent, and applied again after every channel update: an order imported as
        authorized and later captured gets its invoice and payment then, exactly once.
        """
        if self._omni_governance_holds(backend, sale, order):  # approvals and risk (omni_importer_governance)
            return
        rule = backend._omni_payment_rule(self._omni_gateway(order) or "", order.financial_status)
        if not rule or not rule.confirm_order or sale.state == "cancel":
            return
        if sale.state in ("draft", "sent"):
            sale.action_confirm()  # keeps the channel's order date (see sale.order._prepare_confirmation_values)
        invoice = sale.invoice_ids.filtered(lambda move: move.move_type == "out_invoice" and move.state == "posted")
        if rule.create_invoice and not invoice and sale.invoice_status == "to invoice":
            invoice = sale._create_invoices()
            invoice.action_post()
        if rule.register_payment:
            self._omni_register_payments(backend, sale, order, rule, invoice=invoice[:1] or None)

    def _omni_register_payments(self, backend, sale, order, rule, invoice):
        """One payment per collected channel transaction, memo = the channel transaction id.

        Gift-card payments go to the gift-card rule's journal when one exists; the payout
        matching finds order-time payments by that memo. A payment in another currency than the
        order opens an exception instead (see ``_omni_payment_in_other_currency``).
        """
        Binding = self.env["omni.binding"]
        payments = self.env["account.payment"]
        for transaction in order.payments:
            if not transaction.collected:
                continue
            reference = transaction.transaction_id or f"{order.name}:{transaction.gateway}"
            if Binding._omni_lookup(backend, "account.payment", [reference]):
                continue
            if transaction.currency != sale.currency_id.name:
                self._omni_payment_in_other_currency(backend, transaction, reference, invoice or sale)
                continue
            journal = rule.journal_id or backend._omni_clearing_journal(transaction.gateway)
            if transaction.is_gift_card:
                gift_rule = backend._omni_payment_rule(transaction.gateway, order.financial_status)
                journal = (gift_rule.journal_id if gift_rule else None) or journal
            payments |= self._omni_channel_payment(
                backend, sale, transaction, reference, journal, "inbound", order.created_at
            )
        if invoice and payments:
            self._omni_reconcile_payments(payments, invoice)
        sale.omni_payment_ids |= payments
        return payments

    def _omni_payment_in_other_currency(self, backend, transaction, reference, record):
        """A channel payment (or refund) in another currency than the order is not booked: the
        channel gives no rate to convert it at, and booking its amount in the order's currency
        would be wrong. An exception tells a person, once per transaction, with both currencies
        and amounts (no personal data); ``record`` (the invoice, credit note or order) stays open.
        """
        key = f"payment-currency:{reference}"
        Exception_ = self.env["omni.exception"].sudo()
        if Exception_.search([("backend_id", "=", backend.id), ("resource_key", "=", key)], limit=1):
            return Exception_.browse()
        kind = self.env._("Refund") if transaction.kind == "refund" else self.env._("Payment")
        message = self.env._(
            "%(kind)s %(reference)s (%(gateway)s) of %(amount)s %(currency)s was not registered: %(record)s is "
            "in %(record_currency)s (%(expected)s %(record_currency)s). Register it by hand in the %(gateway)s "
            "clearing journal (Odoo converts it at its rate), then resolve this exception.",
            kind=kind,
            reference=reference,
            gateway=transaction.gateway,
            amount=transaction.amount,
            currency=transaction.currency,
            record=record.display_name,
            expected=as_decimal(record.amount_total).quantize(Decimal(1).scaleb(-record.currency_id.decimal_places)),
            record_currency=record.currency_id.name,
        )
        return Exception_._omni_raise(
            message, backend=backend, category="validation", severity="warning", record=record, resource_key=key
        )

    def _omni_channel_payment(self, backend, sale, transaction, reference, journal, payment_type, fallback_time):
        """Post the payment (``inbound``) or refund (``outbound``) of one channel transaction into
        ``journal`` and bind it to ``reference``, which is also its memo: the payout matching of
        the reconciliation finds order-time payments by it."""
        payment = (
            self.env["account.payment"]
            .with_company(backend.company_id)
            .create(
                {
                    "payment_type": payment_type,
                    "partner_type": "customer",
                    "partner_id": sale.partner_invoice_id.commercial_partner_id.id,
                    "amount": float(transaction.amount),
                    "currency_id": sale.currency_id.id,
                    "journal_id": journal.id,
                    "date": naive_utc(transaction.processed_at or fallback_time).date(),
                    "memo": reference,
                    "payment_reference": reference,
                    "omni_backend_id": backend.id,
                    "omni_gateway": transaction.gateway,
                    "omni_transaction_id": transaction.transaction_id or False,
                }
            )
        )
        payment.action_post()
        self.env["omni.binding"]._omni_bind(backend, payment, reference)
        return payment

    @staticmethod
    def _omni_reconcile_payments(payments, move):
        """Reconcile payments with the open receivable (payment term) lines of an invoice or credit note."""
        account = move.line_ids.filtered(lambda line: line.display_type == "payment_term").account_id[:1]
        (payments.move_id.line_ids | move.line_ids).filtered(
            lambda line: line.account_id == account and not line.reconciled
        ).reconcile()
