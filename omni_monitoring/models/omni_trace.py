"""The trace: from a channel event to the bank line and back, from whichever record one starts.

``record.omni_trace_json()`` returns the chain as JSON; the *Trace* smart button shows it. Starting
points: sale orders, pickings, invoices and credit notes, payments, payout lines, payouts (and their
journal entries) and bank statement lines. From the order side the chain reaches the payout lines of
the orders, their payouts, the payouts' entries and bank lines; from the payout side, every order the
payout paid. Raw payloads are shown to system administrators only (the payload field's own group);
managers see every event of the chain, its state, attempts and error, without the payload.

The payout part of the chain (payout lines, payouts, their entries and bank lines) exists where
``omni_reconciliation`` is installed: the trace checks the registry, and without it stops at the
payments (``settlements`` empty). The Trace button on payouts and payout lines comes with the bridge
addon ``omni_monitoring_reconciliation``, installed automatically beside both.
"""

import json

from odoo import api, fields, models
from odoo.tools import html_escape

TRACE_MODELS = ("sale.order", "stock.picking", "account.move", "account.payment", "omni.settlement.line",
                "omni.settlement", "account.bank.statement.line")  # the payout models where they are installed
PAYLOAD_LIMIT = 20000


def _when(value):
    return fields.Datetime.to_string(value) if value else None


def _money(amount, currency):
    return float(currency.round(amount)) if currency else float(amount or 0.0)


class OmniTrace(models.AbstractModel):
    _name = "omni.trace"
    _description = "Omnichannel Trace"

    @api.private
    @api.model
    def _omni_trace(self, record):
        """The chain of ``record`` as a JSON-serialisable dict (the user must be able to read it)."""
        record.ensure_one()
        record.check_access("read")
        with_payload = self.env.su or self.env.user.has_group("base.group_system")
        env = self.env(su=True)
        record = record.with_env(env)
        orders, settlements, lines = self._omni_roots(record)
        if settlements is not None:
            if orders:
                lines |= env["omni.settlement.line"].search([("order_id", "in", orders.ids)])
            settlements |= lines.settlement_id
            if record._name in ("omni.settlement", "account.bank.statement.line") or (
                    record._name == "account.move" and record.omni_settlement_id):
                lines |= settlements.line_ids
                orders |= lines.order_id
        return {
            "start": {"model": record._name, "id": record.id, "name": record.display_name},
            "orders": [self._omni_order_node(order, lines, with_payload) for order in orders.sorted("id")],
            "settlements": [self._omni_settlement_node(settlement, lines) for settlement in settlements.sorted("id")]
            if settlements is not None else [],
        }

    @api.model
    def _omni_has_payouts(self):
        """Whether payouts exist here (``omni_reconciliation`` installed): checked in the registry."""
        return "omni.settlement.line" in self.env

    def _omni_roots(self, record):
        env = record.env
        payouts = self._omni_has_payouts()
        orders = env["sale.order"]
        # Without omni_reconciliation there are no payouts or payout lines: None, not a recordset.
        settlements = env["omni.settlement"] if payouts else None
        lines = env["omni.settlement.line"] if payouts else None
        if record._name == "sale.order":
            orders = record
        elif record._name == "stock.picking":
            orders = record.sale_id
        elif record._name == "account.move":
            if payouts and record.omni_settlement_id:
                settlements = record.omni_settlement_id
            elif record.origin_payment_id:
                return self._omni_roots(record.origin_payment_id)
            else:
                invoices = record | record.reversed_entry_id
                orders = invoices.invoice_line_ids.sale_line_ids.order_id
                if payouts:
                    lines = env["omni.settlement.line"].search(
                        ["|", ("invoice_id", "=", record.id), ("credit_note_id", "=", record.id)])
                    orders |= lines.order_id
        elif record._name == "account.payment":
            orders = env["sale.order"].search([("omni_payment_ids", "in", record.ids)])
            orders |= record.reconciled_invoice_ids.invoice_line_ids.sale_line_ids.order_id
            if payouts:
                lines = env["omni.settlement.line"].search([("payment_id", "=", record.id)])
                orders |= lines.order_id
        elif record._name == "omni.settlement.line":
            lines, orders, settlements = record, record.order_id, record.settlement_id
        elif record._name == "omni.settlement":
            settlements = record
        elif record._name == "account.bank.statement.line" and payouts:
            settlements = env["omni.settlement"].search([("statement_line_id", "=", record.id)])
        return orders, settlements, lines

    # ----------------------------------------------------------------- nodes

    def _omni_events(self, order):
        Event = order.env["omni.event"]
        domain = [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]
        if order.omni_backend_id and order.omni_external_id:
            domain = ["|", *domain, "&", ("backend_id", "=", order.omni_backend_id.id),
                      ("resource_key", "=", order.omni_external_id)]
        return Event.search(domain, order="received_at, id")

    def _omni_order_node(self, order, lines, with_payload):
        invoices = order.invoice_ids
        own_lines = lines.filtered(lambda line: line.order_id == order) if lines is not None else None
        payments = order.omni_payment_ids | invoices._get_reconciled_payments()
        if own_lines is not None:
            payments |= own_lines.payment_id
        return {
            "model": "sale.order", "id": order.id, "name": order.name,
            "channel_order": order.omni_channel_order_name or order.omni_external_id or None,
            "backend": order.omni_backend_id.name or None, "state": order.state,
            "amount_total": _money(order.amount_total, order.currency_id), "currency": order.currency_id.name,
            "events": [self._omni_event_node(event, with_payload) for event in self._omni_events(order)],
            "pickings": [{"model": "stock.picking", "id": picking.id, "name": picking.name, "state": picking.state,
                          "type": picking.picking_type_code} for picking in order.picking_ids.sorted("id")],
            "invoices": [self._omni_move_node(move) for move in invoices.filtered(
                lambda move: move.move_type == "out_invoice").sorted("id")],
            "credit_notes": [self._omni_move_node(move) for move in invoices.filtered(
                lambda move: move.move_type == "out_refund").sorted("id")],
            "payments": [{"model": "account.payment", "id": payment.id, "name": payment.name,
                          "memo": payment.memo or None, "type": payment.payment_type, "state": payment.state,
                          "amount": _money(payment.amount, payment.currency_id), "currency": payment.currency_id.name}
                         for payment in payments.sorted("id")],
            "settlement_lines": [self._omni_line_node(line) for line in own_lines.sorted("id")]
            if own_lines is not None else [],
        }

    @staticmethod
    def _omni_event_node(event, with_payload):
        node = {"model": "omni.event", "id": event.id, "topic": event.topic, "direction": event.direction,
                "state": event.state, "attempts": event.attempts, "received_at": _when(event.received_at),
                "processed_at": _when(event.processed_at), "last_error": event.last_error or None}
        if with_payload:
            node["payload"] = (event.payload or "")[:PAYLOAD_LIMIT]
        return node

    @staticmethod
    def _omni_move_node(move):
        return {"model": "account.move", "id": move.id, "name": move.name, "state": move.state,
                "payment_state": move.payment_state, "amount_total": _money(move.amount_total, move.currency_id),
                "currency": move.currency_id.name}

    @staticmethod
    def _omni_line_node(line):
        return {"model": "omni.settlement.line", "id": line.id, "external_id": line.external_id, "kind": line.kind,
                "gross": _money(line.gross, line.currency_id), "fee": _money(line.fee, line.currency_id),
                "net": _money(line.net, line.currency_id), "match_state": line.match_state,
                "order_id": line.order_id.id or None, "payment_id": line.payment_id.id or None,
                "settlement_id": line.settlement_id.id}

    def _omni_settlement_node(self, settlement, lines):
        move, bank = settlement.move_id, settlement.statement_line_id
        return {
            "model": "omni.settlement", "id": settlement.id, "name": settlement.name,
            "external_id": settlement.external_id, "state": settlement.state,
            "amount": _money(settlement.expected_amount, settlement.currency_id),
            "currency": settlement.currency_id.name, "payout_date": fields.Date.to_string(settlement.payout_date),
            "lines": [self._omni_line_node(line) for line in lines.filtered(
                lambda line: line.settlement_id == settlement).sorted("id")],
            "move": {"model": "account.move", "id": move.id, "name": move.name, "state": move.state} if move else None,
            "bank_statement_line": {
                "model": "account.bank.statement.line", "id": bank.id, "name": bank.payment_ref,
                "amount": _money(bank.amount, bank.currency_id), "date": fields.Date.to_string(bank.date),
                "is_reconciled": bank.is_reconciled} if bank else None,
        }

    # ------------------------------------------------------------------ html

    @api.model
    def _omni_trace_html(self, chain):
        def link(node, text=None):
            label = html_escape(text or node.get("name") or node.get("external_id") or node.get("topic") or node["id"])
            return f'<a href="/odoo/{node["model"]}/{node["id"]}">{label}</a>'

        parts = [f"<h3>{html_escape(self.env._('Trace of %s', chain['start']['name']))}</h3>"]
        for order in chain["orders"]:
            parts.append(f"<h4>{link(order)} ({html_escape(order['channel_order'] or '')}, "
                         f"{html_escape(order['backend'] or '')}) {order['amount_total']} {order['currency']}</h4><ul>")
            for event in order["events"]:
                parts.append(f"<li>{self.env._('Event')} {link(event, event['topic'])}: {event['state']}, "
                             f"{event['attempts']} {self.env._('attempt(s)')}, {event['received_at']} → "
                             f"{event['processed_at'] or '-'} {html_escape(event['last_error'] or '')}")
                if "payload" in event:
                    parts.append(f"<details><summary>{self.env._('Payload')}</summary>"
                                 f"<pre>{html_escape(event['payload'])}</pre></details>")
                parts.append("</li>")
            for key, title in (("pickings", self.env._("Transfer")), ("invoices", self.env._("Invoice")),
                               ("credit_notes", self.env._("Credit note")), ("payments", self.env._("Payment")),
                               ("settlement_lines", self.env._("Payout line"))):
                for node in order[key]:
                    state = node.get("state") or node.get("match_state")
                    parts.append(f"<li>{title} {link(node)}: {html_escape(str(state))}</li>")
            parts.append("</ul>")
        for settlement in chain["settlements"]:
            parts.append(f"<h4>{self.env._('Payout')} {link(settlement)}: {settlement['amount']} "
                         f"{settlement['currency']} ({settlement['state']})</h4><ul>")
            for line in settlement["lines"]:
                parts.append(f"<li>{link(line)} {line['kind']} {line['net']} ({line['match_state']})</li>")
            if settlement["move"]:
                parts.append(f"<li>{self.env._('Journal entry')} {link(settlement['move'])}</li>")
            if settlement["bank_statement_line"]:
                bank = settlement["bank_statement_line"]
                parts.append(f"<li>{self.env._('Bank line')} {link(bank)} {bank['amount']} {bank['date']}</li>")
            parts.append("</ul>")
        return "".join(parts)


class OmniTraceMixin(models.AbstractModel):
    _name = "omni.trace.mixin"
    _description = "Omnichannel Trace Button"

    def omni_trace_json(self):
        """The trace of this record (see ``omni.trace``) as a JSON string."""
        self.ensure_one()
        return json.dumps(self.env["omni.trace"]._omni_trace(self))

    def action_omni_trace(self):
        self.ensure_one()
        chain = self.env["omni.trace"]._omni_trace(self)
        view = self.env["omni.trace.view"].create({
            "res_model": self._name, "res_id": self.id,
            "trace_html": self.env["omni.trace"]._omni_trace_html(chain)})
        return {"type": "ir.actions.act_window", "res_model": "omni.trace.view", "res_id": view.id,
                "view_mode": "form", "target": "new", "name": self.env._("Trace")}
