"""Governance policies of a channel (the backend form's "Governance" tab).

Approvals of refunds made in Odoo and of large orders, and the risky-order policy. Every
connector gets them through the base: the shared order importer applies the order policies
(``omni_importer_governance.py``), the credit note hook the refund policy
(``omni_governance_approval.py``). A connector only fills the canonical ``Order.risk_level``.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..canonical.risk import RISK_LEVELS, risk_at_least


class OmniBackendGovernance(models.Model):
    # The governance settings of omni.backend, in a file of their own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    governance_currency_id = fields.Many2one(
        related="company_id.currency_id",
        string="Governance Currency",
        help="Approval thresholds are amounts in the company's currency; orders and credit notes in "
        "another currency are converted at Odoo's rate of their date.",
    )
    approval_group_id = fields.Many2one(
        "res.groups",
        string="Approvers",
        default=lambda self: self.env.ref("omni_connector_base.group_omni_manager", raise_if_not_found=False),
        help="Users of this group get the approval activities of refunds and orders of this channel and "
        "may approve or reject them (system administrators always may).",
    )
    refund_approval_threshold = fields.Monetary(
        currency_field="governance_currency_id",
        string="Refund Approval Above",
        help="A refund made in Odoo (a credit note posted on a channel order) whose total is above this "
        "amount waits for an approver before it is pushed to the channel. 0: no approval. Refunds the "
        "channel already made (imported) are never held, only recorded.",
    )
    order_approval_threshold = fields.Monetary(
        currency_field="governance_currency_id",
        string="Order Approval Above",
        help="An imported order whose total is above this amount is created as a quotation waiting for "
        "approval; it is confirmed (invoiced, paid, as the workflow says) only once approved. 0: no approval.",
    )
    new_customer_approval_threshold = fields.Monetary(
        currency_field="governance_currency_id",
        string="New Customer Approval Above",
        help="The same for a customer's first order, at a lower amount: the first order of a customer "
        "without earlier orders in this company waits for approval when its total is above this. 0: off.",
    )
    risk_policy = fields.Selection(
        [
            ("hold", "Hold for review"),
            ("cancel", "Cancel on the channel"),
            ("ignore", "Ignore"),
        ],
        default="hold",
        required=True,
        string="Risky Orders",
        help="What happens to an order whose channel risk assessment (Shopify's riskLevel, a WooCommerce "
        "fraud plugin's meta, a marketplace's flag) is at or above the risk level below. Hold: the order "
        "stays a quotation and a 'Risky order' exception waits for a person to release (confirm) or "
        "cancel it. Cancel: the order is cancelled in Odoo and the cancellation pushed to the channel. "
        "Ignore: imported as any other order (the risk is still shown on the order).",
    )
    risk_min_level = fields.Selection(
        [(level, label) for level, label in RISK_LEVELS if level != "low"],
        default="high",
        required=True,
        string="Risk Level Acted On",
        help="The lowest channel risk level the policy applies to.",
    )
    risk_meta_key = fields.Char(
        string="Risk Field on the Channel",
        help="For channels that carry the risk in order metadata (WooCommerce fraud plugins): the meta "
        "key the connector reads the risk from, e.g. '_fraud_risk_level' or '_wc_af_score'. Its value "
        "(low/medium/high, or a score 0-100) becomes the order's risk level.",
    )

    _check_governance_thresholds = models.Constraint(
        "CHECK(COALESCE(refund_approval_threshold, 0) >= 0 AND COALESCE(order_approval_threshold, 0) >= 0 "
        "AND COALESCE(new_customer_approval_threshold, 0) >= 0)",
        "Approval thresholds cannot be negative.",
    )

    @api.private
    def _omni_risk_acted_on(self, risk_level):
        """Whether the risk policy applies to an order of ``risk_level`` (canonical, or None)."""
        self.ensure_one()
        return self.risk_policy != "ignore" and risk_at_least(risk_level, self.risk_min_level)

    @api.private
    def _omni_approvers(self, company=None):
        """Active internal users of the approval group (of the backend's company), at most 20."""
        self.ensure_one()
        group = self.approval_group_id or self.env.ref("omni_connector_base.group_omni_manager")
        company = company or self.company_id
        users = group.sudo().all_user_ids.filtered(
            lambda user: user.active and not user.share and company in user.company_ids
        )
        return users.sorted("id")[:20]

    @api.private
    def _omni_check_approver(self):
        """Refuse unless the current user may approve this channel's holds."""
        self.ensure_one()
        if self.env.su or self.env.user.has_group("base.group_system"):
            return
        group = self.sudo().approval_group_id or self.env.ref("omni_connector_base.group_omni_manager")
        if self.env.user in group.sudo().all_user_ids:
            return
        raise AccessError(
            self.env._("Only members of %(group)s approve or reject holds of %(channel)s.",
                       group=group.sudo().display_name, channel=self.sudo().display_name)
        )

    @api.private
    def _omni_in_company_currency(self, amount, currency, date=None):
        """``amount`` of ``currency`` in the company's currency (Odoo's rate of ``date``)."""
        self.ensure_one()
        company = self.company_id
        if not currency or currency == company.currency_id:
            return amount
        return currency._convert(amount, company.currency_id, company, date or fields.Date.today())
