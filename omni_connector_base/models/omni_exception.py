from odoo import api, fields, models
from odoo.exceptions import UserError

from ..pipeline.masking import mask_text
from .omni_access import check_omni_manager

CATEGORIES = [
    ("mapping", "Mapping"),
    ("validation", "Validation"),
    ("channel_api", "Channel API"),
    ("reconciliation", "Reconciliation"),
    ("other", "Other"),
]
SEVERITIES = [("info", "Info"), ("warning", "Warning"), ("error", "Error"), ("critical", "Critical")]


class OmniException(models.Model):
    """The human exception queue: every failure a person must see lands here, once.

    One exception per failing event: a recurrence reopens it and counts, instead of flooding
    the queue. *Retry* replays the event; when it succeeds the exception resolves itself.
    """

    _name = "omni.exception"
    _description = "Omnichannel Exception"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state_sequence, severity_sequence desc, id desc"

    name = fields.Char(string="Problem", compute="_compute_name", store=True,
                       help="The first line of the message: what went wrong.")
    category = fields.Selection(CATEGORIES, required=True, default="other", tracking=True, index=True)
    severity = fields.Selection(SEVERITIES, required=True, default="warning", tracking=True)
    severity_sequence = fields.Integer(compute="_compute_sequences", store=True)
    message = fields.Text(required=True, help="What went wrong and what would fix it (personal data masked).")
    state = fields.Selection(
        [("open", "Open"), ("assigned", "Assigned"), ("resolved", "Resolved"), ("ignored", "Ignored")],
        required=True,
        default="open",
        tracking=True,
        index=True,
    )
    state_sequence = fields.Integer(compute="_compute_sequences", store=True)
    user_id = fields.Many2one("res.users", string="Assignee", tracking=True, index=True)
    backend_id = fields.Many2one("omni.backend", string="Channel", ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    event_id = fields.Many2one(
        "omni.event", ondelete="set null", index=True, help="The event that failed; replaying it retries the work."
    )
    event_state = fields.Selection(related="event_id.state", string="Event State")
    event_topic = fields.Char(related="event_id.topic")
    resource_key = fields.Char(string="Channel Reference",
                               help="The channel object concerned (order id, payout id...).")
    res_model = fields.Char(string="Record Model")
    res_id = fields.Many2oneReference(string="Record ID", model_field="res_model")
    occurrence_count = fields.Integer(string="Occurrences", default=1, help="How many times this failure happened.")
    last_seen_at = fields.Datetime(default=fields.Datetime.now)
    resolved_at = fields.Datetime()
    age_hours = fields.Integer(
        compute="_compute_age", string="Age (h)", help="Hours since the exception was first raised."
    )
    action_codes = fields.Char(help="Extra actions the connector offers for this exception (comma separated).")
    action_data = fields.Json(help="What the extra actions need (e.g. the unknown SKU).")

    @api.depends("message")
    def _compute_name(self):
        for exception in self:
            exception.name = (exception.message or "").splitlines()[0][:120] if exception.message else False

    @api.depends("state", "severity")
    def _compute_sequences(self):
        state_order = {"open": 0, "assigned": 1, "resolved": 2, "ignored": 3}
        severity_order = {"info": 0, "warning": 1, "error": 2, "critical": 3}
        for exception in self:
            exception.state_sequence = state_order.get(exception.state, 9)
            exception.severity_sequence = severity_order.get(exception.severity, 0)

    @api.depends("create_date")
    def _compute_age(self):
        now = fields.Datetime.now()
        for exception in self:
            start = exception.create_date or now
            exception.age_hours = int((now - start).total_seconds() // 3600)

    # ------------------------------------------------------------ raising

    @api.model
    def _omni_raise_for_event(self, event, outcome, category=None, severity=None):
        """Open (or reopen and count) the exception of a failing event."""
        message = mask_text(getattr(outcome, "message", None) or str(outcome))
        values = {
            "category": category or getattr(outcome, "category", None) or "other",
            "severity": severity or ("error" if event.state == "dead" else "warning"),
            "message": message,
            "last_seen_at": fields.Datetime.now(),
        }
        record = getattr(outcome, "record", None)
        if record:
            values.update(res_model=record[0], res_id=record[1])
        actions = getattr(outcome, "actions", ())
        if actions:
            values["action_codes"] = ",".join(actions)
            values["action_data"] = getattr(outcome, "data", None) or {}
        existing = self.sudo().search([("event_id", "=", event.id)], limit=1, order="id desc")
        if existing:
            values.update(
                occurrence_count=existing.occurrence_count + 1,
                state="assigned" if existing.user_id else "open",
                resolved_at=False,
            )
            existing.write(values)
            return existing
        values.update(
            event_id=event.id,
            backend_id=event.backend_id.id,
            company_id=event.company_id.id,
            resource_key=event.resource_key,
        )
        return self.sudo().create(values)

    @api.model
    def _omni_raise(
        self,
        message,
        backend=None,
        category="other",
        severity="warning",
        record=None,
        resource_key=None,
        dedupe_key=None,
    ):
        """Open an exception that is not tied to an event (reconciliation, monitoring...).

        With ``resource_key``, an open exception of the same backend, category and key is
        updated instead of opening a second one.
        """
        values = {
            "message": mask_text(message),
            "category": category,
            "severity": severity,
            "last_seen_at": fields.Datetime.now(),
            "resource_key": dedupe_key or resource_key,
        }
        if record:
            values.update(res_model=record._name, res_id=record.id)
        if backend:
            values.update(backend_id=backend.id, company_id=backend.company_id.id)
        elif record and "company_id" in record._fields and record.company_id:
            values["company_id"] = record.company_id.id
        if values["resource_key"]:
            existing = self.sudo().search(
                [
                    ("backend_id", "=", backend.id if backend else False),
                    ("category", "=", category),
                    ("resource_key", "=", values["resource_key"]),
                    ("state", "in", ("open", "assigned")),
                ],
                limit=1,
            )
            if existing:
                values["occurrence_count"] = existing.occurrence_count + 1
                existing.write(values)
                return existing
        return self.sudo().create(values)

    def _omni_auto_resolve(self):
        self.sudo().write({"state": "resolved", "resolved_at": fields.Datetime.now()})
        for exception in self:
            exception.message_post(body=self.env._("Resolved automatically: the event succeeded."))

    # ------------------------------------------------------------ actions

    def action_retry(self):
        """Replay the related events; the exception resolves itself when they succeed."""
        check_omni_manager(self.env)
        events = self.mapped("event_id")
        if not events:
            raise UserError(self.env._("There is no event to replay for this exception."))
        events.action_replay()
        return True

    def action_ignore(self):
        """Ignore: a blocked event is skipped, so later events of the same object can flow."""
        for exception in self:
            if exception.event_id.state == "blocked":
                exception.event_id.sudo().write(
                    {"state": "skipped", "last_error": self.env._("Ignored by %s", self.env.user.name)}
                )
        self.write({"state": "ignored", "resolved_at": fields.Datetime.now()})
        return True

    def action_resolve(self):
        self.write({"state": "resolved", "resolved_at": fields.Datetime.now()})
        return True

    def action_reopen(self):
        self.write({"state": "assigned" if self.user_id else "open", "resolved_at": False})
        return True

    def action_assign_to_me(self):
        self.write({"user_id": self.env.user.id, "state": "assigned"})
        return True

    def action_open_record(self):
        self.ensure_one()
        if self.res_model and self.res_id:
            return {
                "type": "ir.actions.act_window",
                "res_model": self.res_model,
                "res_id": self.res_id,
                "view_mode": "form",
                "target": "current",
            }
        if self.event_id.res_model:
            return self.event_id.action_open_result()
        if self.event_id:
            return {
                "type": "ir.actions.act_window",
                "res_model": "omni.event",
                "res_id": self.event_id.id,
                "view_mode": "form",
                "target": "current",
            }
        raise UserError(self.env._("No record is linked to this exception."))

    def write(self, vals):
        if vals.get("user_id") and "state" not in vals:
            vals = dict(vals, state="assigned")
        return super().write(vals)
