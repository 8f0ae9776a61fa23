"""The order importer's governance gate: approvals of large orders and the risky-order policy.

Called by the workflow (``_omni_apply_workflow``) before it confirms anything: a held order is
created and kept up to date (nothing is lost) but stays a quotation until a person decides
(``sale.order.action_omni_approve`` / ``action_omni_release`` / ``action_omni_reject``).
"""

from odoo import models

from ..canonical import order_to_dict
from .omni_governance_approval import schedule_approval_activities
from .omni_order_importer import as_decimal


class OmniOrderImporterGovernance(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_governance_holds(self, backend, sale, order):
        """Whether the order must wait (approval or risk review); decides once per order.

        A waiting order keeps the latest channel version (applied on approval). An order the
        channel marks risky and the policy cancels is cancelled here and on the channel.
        """
        if order.risk_level and sale.omni_risk_level != order.risk_level:
            sale.omni_risk_level = order.risk_level
        if sale.state not in ("draft", "sent"):
            return False
        if sale._omni_governance_waiting():
            sale.sudo().omni_held_order = order_to_dict(order)
            return True
        if sale.omni_risk_state == "cancelled" or sale.omni_approval_state == "rejected":
            return True
        held = False
        if not sale.omni_risk_state and backend._omni_risk_acted_on(order.risk_level):
            held = self._omni_apply_risk_policy(backend, sale, order)
            if sale.state == "cancel":
                return True
        if not sale.omni_approval_state:
            reason = self._omni_approval_reason(backend, sale)
            if reason:
                self._omni_hold_for_approval(backend, sale, reason)
                held = True
        if held:
            sale.sudo().omni_held_order = order_to_dict(order)
        return held

    def _omni_approval_reason(self, backend, sale):
        """Why the order approval policy holds ``sale`` (text), or None."""
        total = as_decimal(backend._omni_in_company_currency(sale.amount_total, sale.currency_id, sale.date_order))
        currency = backend.company_id.currency_id.name
        threshold = as_decimal(backend.order_approval_threshold)
        if threshold and total > threshold:
            return self.env._("Order total %(total)s %(currency)s is above the approval threshold of %(limit)s.",
                              total=total, currency=currency, limit=threshold)
        first = as_decimal(backend.new_customer_approval_threshold)
        if first and total > first and self._omni_is_new_customer(sale):
            return self.env._(
                "First order of a new customer: %(total)s %(currency)s is above the new-customer threshold of "
                "%(limit)s.", total=total, currency=currency, limit=first)
        return None

    def _omni_is_new_customer(self, sale):
        """No other order of the same customer (commercial entity) in the company."""
        return not self.env["sale.order"].sudo().search_count([
            ("partner_id", "child_of", sale.partner_id.commercial_partner_id.id),
            ("company_id", "=", sale.company_id.id),
            ("id", "!=", sale.id),
            ("state", "!=", "cancel"),
        ], limit=1)

    def _omni_hold_for_approval(self, backend, sale, reason):
        sale.sudo().write({"omni_approval_state": "pending", "omni_approval_reason": reason})
        summary = self.env._("Approve order %s", sale.omni_channel_order_name or sale.name)
        schedule_approval_activities(sale, backend, summary, reason)
        sale.message_post(body=self.env._("Waiting for approval: %s", reason))

    def _omni_apply_risk_policy(self, backend, sale, order):
        """Hold (an exception of category 'risk', with release and cancel) or cancel the order.

        :return: whether the order is held
        """
        level = dict(sale._fields["omni_risk_level"].selection).get(order.risk_level, order.risk_level)
        if backend.risk_policy == "cancel":
            reason = self.env._("Cancelled by the risk policy: the channel rates the order's risk %s.", level)
            sale.sudo().write({"omni_risk_state": "cancelled", "omni_approval_reason": reason})
            sale.sudo()._action_cancel()
            sale.message_post(body=reason)
            sale._omni_enqueue_channel_cancel(reason)
            return False
        message = self.env._(
            "Risky order %(order)s held for review: the channel rates its risk %(level)s. Release it to confirm "
            "it, or cancel it (in Odoo and on the channel).", order=order.name, level=level)
        sale.sudo().omni_risk_state = "held"
        exception = self.env["omni.exception"]._omni_raise(
            message, backend=backend, category="risk", severity="warning", record=sale,
            resource_key=f"risk:{order.external_id}",
        )
        exception.sudo().write({"action_codes": "risk_release,risk_cancel"})
        sale.message_post(body=message)
        return True
