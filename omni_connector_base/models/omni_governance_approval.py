"""Approvals and risk holds on the records people work on: channel orders and credit notes.

* An order held by the order approval policy waits as a quotation (``omni_approval_state``
  pending); one held for its channel risk (``omni_risk_state`` held) has a "Risky order"
  exception. Approving/releasing confirms it through the backend's workflow, with the channel
  order the importer last saw (kept on the order while it waits).
* A credit note made in Odoo on a channel order, above the backend's threshold, is posted but
  not pushed to the channel (``omni_refund_approval_state`` pending) until approved; approval
  calls the connector's export hook ``_omni_export_refund`` (the outbox), rejection records why.

Both put an activity for each approver and keep the decision in the chatter.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

APPROVAL_STATES = [("pending", "Waiting for Approval"), ("approved", "Approved"), ("rejected", "Rejected")]
RISK_STATES = [("held", "Held for Review"), ("released", "Released"), ("cancelled", "Cancelled")]
ACTIVITY_TYPE = "mail.mail_activity_data_todo"
# Outgoing topic of an order cancelled by governance (rejected risky order): connectors push it.
OUT_ORDER_CANCEL = "orders/cancel"


def schedule_approval_activities(record, backend, summary, note):
    """One to-do activity per approver of ``backend`` on ``record``."""
    for user in backend._omni_approvers():
        record.sudo().activity_schedule(ACTIVITY_TYPE, summary=summary, note=note, user_id=user.id)


def close_approval_activities(record, feedback):
    """Mark the approval activities done (kept in the chatter with ``feedback``)."""
    activities = record.sudo().activity_ids.filtered(
        lambda activity: activity.activity_type_id == record.env.ref(ACTIVITY_TYPE)
        and activity.summary
        and activity.summary.startswith(record.env._("Approve"))
    )
    if activities:
        activities.action_feedback(feedback=feedback)


class SaleOrderGovernance(models.Model):
    # The governance fields of channel orders, in a file of their own (see module doc).
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited

    omni_approval_state = fields.Selection(
        APPROVAL_STATES,
        string="Channel Approval",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set when the channel's order approval policy (Governance tab of the channel) held this "
        "order: it stays a quotation until an approver approves it.",
    )
    omni_approval_reason = fields.Char(
        string="Approval Reason", readonly=True, copy=False, help="Why the order waits, or why it was rejected."
    )
    omni_risk_level = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Channel Risk",
        readonly=True,
        copy=False,
        help="The channel's fraud risk assessment of the order, as it was imported.",
    )
    omni_risk_state = fields.Selection(
        RISK_STATES,
        string="Risk Review",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set when the channel's risk policy held this order: it stays a quotation until a person "
        "releases it (or cancels it) from the order or its 'Risky order' exception.",
    )
    omni_held_order = fields.Json(
        string="Held Channel Order",
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="The canonical channel order while the order waits (the workflow applies it on approval); "
        "cleared once decided.",
    )

    @api.private
    def _omni_governance_waiting(self):
        """Whether an approval or a risk review keeps this order from confirming."""
        self.ensure_one()
        return self.omni_approval_state == "pending" or self.omni_risk_state == "held"

    def action_omni_approve(self):
        """Approve a held order: the channel's workflow confirms it (unless a risk review still holds it)."""
        for sale in self:
            if sale.omni_approval_state != "pending":
                raise UserError(self.env._("Order %s is not waiting for approval.", sale.name))
            sale.omni_backend_id._omni_check_approver()
            sale.sudo().write({"omni_approval_state": "approved"})
            close_approval_activities(sale, self.env._("Approved by %s", self.env.user.name))
            sale.message_post(body=self.env._("Order approved by %s.", self.env.user.name))
            sale._omni_governance_resume()
        return True

    def action_omni_release(self):
        """Release an order held for its channel risk: the channel's workflow confirms it."""
        for sale in self:
            if sale.omni_risk_state != "held":
                raise UserError(self.env._("Order %s is not held for review.", sale.name))
            sale.omni_backend_id._omni_check_approver()
            sale.sudo().write({"omni_risk_state": "released"})
            sale._omni_risk_exceptions().sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
            sale.message_post(body=self.env._("Risk review: released by %s.", self.env.user.name))
            sale._omni_governance_resume()
        return True

    def action_omni_reject(self):
        """Ask why, then reject (an approval) or cancel (a risk hold) the order."""
        self.ensure_one()
        return self.env["omni.governance.reject.wizard"]._omni_open(self)

    @api.private
    def _omni_governance_reject(self, reason):
        """Reject what holds the order (approval, risk review): cancel it in Odoo; a risk hold
        is also cancelled on the channel (outbox)."""
        for sale in self:
            if not sale._omni_governance_waiting():
                raise UserError(self.env._("Order %s is not waiting for a decision.", sale.name))
            sale.omni_backend_id._omni_check_approver()
            values = {"omni_approval_reason": reason}
            if sale.omni_approval_state == "pending":
                values["omni_approval_state"] = "rejected"
            risk_held = sale.omni_risk_state == "held"
            if risk_held:
                values["omni_risk_state"] = "cancelled"
            sale.sudo().write(values)
            sale.sudo().omni_held_order = False
            close_approval_activities(sale, self.env._("Rejected by %(user)s: %(reason)s",
                                                       user=self.env.user.name, reason=reason))
            sale._omni_risk_exceptions().sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
            sale.sudo()._action_cancel()
            sale.message_post(body=self.env._("Rejected by %(user)s: %(reason)s", user=self.env.user.name,
                                              reason=reason))
            if risk_held:
                sale._omni_enqueue_channel_cancel(reason)
        return True

    @api.private
    def _omni_governance_resume(self):
        """Apply the channel's workflow with the held channel order, once nothing holds it."""
        self.ensure_one()
        if self._omni_governance_waiting():
            return
        from ..canonical import order_from_dict  # noqa: PLC0415

        held = self.sudo().omni_held_order
        if not held:
            return
        self.sudo().omni_held_order = False
        importer = self.env["omni.order.importer"].sudo()
        importer._omni_apply_workflow(self.omni_backend_id.sudo(), self.sudo(), order_from_dict(held))

    @api.private
    def _omni_risk_exceptions(self):
        self.ensure_one()
        return self.env["omni.exception"].sudo().search([
            ("res_model", "=", self._name), ("res_id", "=", self.id),
            ("category", "=", "risk"), ("state", "in", ("open", "assigned")),
        ])

    @api.private
    def _omni_enqueue_channel_cancel(self, reason):
        """Queue the order's cancellation on the channel (topic ``orders/cancel``); the connector
        pushes it. A connector that cannot dead-letters it: a person sees it in the queue."""
        self.ensure_one()
        if not self.omni_external_id:
            return None
        return self.env["omni.event"].sudo()._omni_enqueue_outgoing(
            self.omni_backend_id,
            OUT_ORDER_CANCEL,
            {"order_id": self.omni_external_id, "reason": "fraud", "note": reason or ""},
            resource_model="sale.order",
            resource_key=self.omni_external_id,
            idempotency_key=f"cancel:{self.omni_external_id}",
        )


class AccountMoveGovernance(models.Model):
    # The governance fields of credit notes, in a file of their own (see module doc).
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    omni_refund_approval_state = fields.Selection(
        APPROVAL_STATES,
        string="Channel Refund Approval",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set when this credit note on a channel order is above the channel's refund approval "
        "threshold: it is not pushed to the channel until an approver approves it.",
    )
    omni_refund_rejection_reason = fields.Char(readonly=True, copy=False, string="Refund Rejection Reason")
    omni_refund_sale_id = fields.Many2one(
        "sale.order", compute="_compute_omni_refund_sale_id", string="Channel Order",
        help="The channel order this credit note refunds (through its lines' sale lines).",
    )

    @api.depends("invoice_line_ids.sale_line_ids")
    def _compute_omni_refund_sale_id(self):
        for move in self:
            sales = move.sudo().invoice_line_ids.sale_line_ids.order_id.filtered("omni_backend_id")
            move.omni_refund_sale_id = sales[:1]

    def _post(self, soft=True):
        posted = super()._post(soft)
        posted._omni_hold_refunds_for_approval()
        return posted

    @api.private
    def _omni_hold_refunds_for_approval(self):
        """Credit notes made in Odoo on channel orders, above the threshold, wait for approval.

        Imported credit notes carry their channel (``omni_backend_id``, set by the importer and
        by a connector once it pushed one) and are never held."""
        for move in self.filtered(
            lambda m: m.move_type == "out_refund" and not m.omni_backend_id and not m.omni_refund_approval_state
        ):
            sale = move.omni_refund_sale_id
            backend = sale.omni_backend_id
            if not backend or not backend.refund_approval_threshold:
                continue
            amount = backend._omni_in_company_currency(move.amount_total, move.currency_id, move.invoice_date)
            if amount <= backend.refund_approval_threshold:
                continue
            move.sudo().omni_refund_approval_state = "pending"
            summary = self.env._("Approve refund %s", move.name)
            note = self.env._(
                "Credit note %(move)s of %(amount)s %(currency)s on channel order %(order)s is above the refund "
                "approval threshold of %(channel)s; it is pushed to the channel once approved.",
                move=move.name, amount=move.amount_total, currency=move.currency_id.name,
                order=sale.omni_channel_order_name or sale.name, channel=backend.name,
            )
            schedule_approval_activities(move, backend, summary, note)
            move.message_post(body=note)

    @api.private
    def _omni_refund_waits(self):
        """Whether the connector must not push this credit note (waiting or rejected)."""
        self.ensure_one()
        return self.omni_refund_approval_state in ("pending", "rejected")

    def action_omni_approve_refund(self):
        """Approve the refund: the connector pushes it to the channel through the outbox."""
        for move in self:
            if move.omni_refund_approval_state != "pending":
                raise UserError(self.env._("Credit note %s is not waiting for approval.", move.name))
            move.omni_refund_sale_id.omni_backend_id._omni_check_approver()
            move.sudo().omni_refund_approval_state = "approved"
            close_approval_activities(move, self.env._("Approved by %s", self.env.user.name))
            move.message_post(body=self.env._("Refund approved by %s; it is pushed to the channel.",
                                              self.env.user.name))
            move._omni_export_refund()
        return True

    def action_omni_reject_refund(self):
        self.ensure_one()
        return self.env["omni.governance.reject.wizard"]._omni_open(self)

    @api.private
    def _omni_governance_reject(self, reason):
        for move in self:
            if move.omni_refund_approval_state != "pending":
                raise UserError(self.env._("Credit note %s is not waiting for approval.", move.name))
            move.omni_refund_sale_id.omni_backend_id._omni_check_approver()
            move.sudo().write({"omni_refund_approval_state": "rejected", "omni_refund_rejection_reason": reason})
            close_approval_activities(move, self.env._("Rejected by %(user)s: %(reason)s",
                                                       user=self.env.user.name, reason=reason))
            move.message_post(body=self.env._(
                "Refund rejected by %(user)s: %(reason)s. Nothing is pushed to the channel; reverse or cancel "
                "the credit note in Odoo.", user=self.env.user.name, reason=reason))
        return True

    @api.private
    def _omni_export_refund(self):
        """Connector hook: queue the push of these approved credit notes to their channel
        (the outbox). Connectors that export refunds override it (Shopify:
        ``_shopify_enqueue_refund_export``); the default queues nothing."""
        return True
