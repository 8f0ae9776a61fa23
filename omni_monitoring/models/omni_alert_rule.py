"""Alert rules: a metric, a threshold held for a duration, a severity and whom to notify.

A cron evaluates every active rule each minute, per subject (backend or payout account). A rule that
fires opens an exception (category *monitoring*) with an activity for the responsible person and an
email to the recipients; the exception resolves itself when the condition clears.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, html_escape

from odoo.addons.omni_connector_base.models.omni_exception import SEVERITIES

from ..lib.alerts import breached, next_step
from .omni_event import WEBHOOK_DELIVERY

METRICS = [
    ("oldest_ready_age_minutes", "Oldest ready event age (minutes)"),
    ("queue_depth", "Ready queue depth (events)"),
    ("failure_ratio_percent", "Failure ratio over the window (%)"),
    ("webhook_silence_minutes", "Minutes since the last webhook (push channels)"),
    ("poll_failing_minutes", "Minutes since the last successful poll"),
    ("dead_events", "Dead events"),
    ("open_exceptions", "Open exceptions"),
    ("payout_unmatched_days", "Days the oldest payout has unmatched lines"),
    ("payout_silence_days", "Days since the last payout (active accounts)"),
]
# How far back a channel counts as a push channel for "no webhook": it has received one in that time.
PUSH_CHANNEL_DAYS = 30


class OmniAlertRule(models.Model):
    _name = "omni.alert.rule"
    _description = "Omnichannel Alert Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    metric = fields.Selection(
        METRICS, required=True,
        help="What the rule watches, per channel or payout account. The payout metrics need the payouts "
        "(omni_reconciliation): without it their rules have nothing to watch and never fire.")
    operator = fields.Selection([(">", "greater than"), (">=", "at least")], required=True, default=">")
    threshold = fields.Float(required=True, help="The rule breaches when the metric crosses this value.")
    duration_minutes = fields.Integer(
        string="For (minutes)", default=0,
        help="The condition must hold this long before the alert fires (0: at once).")
    window_minutes = fields.Integer(
        string="Window (minutes)", default=15, help="Period the failure ratio is computed over.")
    severity = fields.Selection(SEVERITIES, required=True, default="warning")
    user_id = fields.Many2one("res.users", string="Notify User",
                              help="Gets the activity and the email. Without a user, the group's first user gets the "
                              "activity and every user of the group gets the email.")
    group_id = fields.Many2one("res.groups", string="Notify Group")
    company_id = fields.Many2one("res.company", help="Only subjects of this company (empty: every company).")
    state_ids = fields.One2many("omni.alert.state", "rule_id", string="Subjects")
    firing_count = fields.Integer(compute="_compute_firing_count", string="Firing")

    @api.constrains("user_id", "group_id")
    def _check_recipient(self):
        for rule in self:
            if not rule.user_id and not rule.group_id:
                raise ValidationError(self.env._("Alert rule %s must notify a user or a group.", rule.name))

    def _compute_firing_count(self):
        for rule in self:
            rule.firing_count = len(rule.state_ids.filtered("firing"))

    # ------------------------------------------------------------ evaluation

    @api.model
    def _cron_evaluate(self):
        rules = self.search([("active", "=", True)])
        for rule in rules:
            rule._omni_evaluate()
        return len(rules)

    def _omni_evaluate(self, now=None):
        """Evaluate this rule for every subject; fire, keep or resolve its alerts."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        values = self._omni_values(now)
        states = {state.subject: state for state in self.state_ids}
        for subject in sorted(set(values) | set(states)):
            label, backend, record, value = values.get(subject, (None, None, None, None))
            state = states.get(subject)
            step = next_step(breached(value, self.operator, self.threshold), state.since if state else None,
                             bool(state and state.firing), now, self.duration_minutes)
            if step == "start":
                self.env["omni.alert.state"].create({"rule_id": self.id, "subject": subject, "since": now,
                                                     "value": value})
            elif step == "fire":
                state = state or self.env["omni.alert.state"].create(
                    {"rule_id": self.id, "subject": subject, "since": now})
                state.write({"firing": True, "value": value,
                             "exception_id": self._omni_fire(subject, label, backend, record, value).id})
            elif step in ("wait", "keep"):
                state.value = value
            elif step == "resolve":
                state._omni_resolve(value)
            elif step == "clear":
                state.unlink()

    def _omni_fire(self, subject, label, backend, record, value):
        message = self.env._(
            "Alert %(rule)s: %(subject)s is at %(value)s (threshold %(operator)s %(threshold)s).",
            rule=self.name, subject=label, value=_fmt(value), operator=self.operator, threshold=_fmt(self.threshold))
        exception = self.env["omni.exception"]._omni_raise(
            message, backend=backend, category="monitoring", severity=self.severity, record=record,
            dedupe_key=f"alert:{self.id}:{subject}")
        users = self.user_id or self.group_id.sudo().all_user_ids.filtered(lambda user: user.active and not user.share)
        responsible = self.user_id or users[:1]
        if responsible:
            exception.sudo().write({"user_id": responsible.id, "state": "assigned"})
            exception.sudo().activity_schedule(
                "mail.mail_activity_data_todo", user_id=responsible.id, summary=self.env._("Alert: %s", self.name),
                note=message)
        partners = users.mapped("partner_id").filtered("email")
        if partners:
            self.env["mail.mail"].sudo().create({
                "subject": self.env._("[Omnichannel alert] %s", self.name),
                "body_html": f"<p>{html_escape(message)}</p>",
                "recipient_ids": [(6, 0, partners.ids)],
                "model": "omni.exception",
                "res_id": exception.id,
                "auto_delete": False,
            })
        return exception

    # ---------------------------------------------------------------- values

    def _omni_values(self, now):
        """``{subject: (label, backend or None, record or None, value)}`` of the rule's metric."""
        compute = getattr(self, f"_omni_value_{self.metric}")
        values = compute(now)
        if self.company_id:
            values = {key: value for key, value in values.items()
                      if (value[1] or value[2]).company_id == self.company_id}
        return values

    def _omni_rows(self, query):
        self.env.flush_all()
        self.env.cr.execute(query)
        return self.env.cr.fetchall()

    def _omni_backends(self):
        return self.env["omni.backend"].sudo().search([("active", "=", True)])

    def _omni_per_backend(self, rows, default=None):
        found = dict(rows)
        return {f"backend:{backend.id}": (backend.name, backend, backend, found.get(backend.id, default))
                for backend in self._omni_backends() if backend.id in found or default is not None}

    def _omni_value_oldest_ready_age_minutes(self, now):
        rows = self._omni_rows(SQL(
            "SELECT backend_id, min(COALESCE(next_attempt_at, received_at)) FROM omni_event "
            "WHERE state IN ('pending', 'retry') AND COALESCE(next_attempt_at, received_at) <= %s GROUP BY 1", now))
        return self._omni_per_backend([(b, (now - oldest).total_seconds() / 60) for b, oldest in rows], default=0.0)

    def _omni_value_queue_depth(self, now):
        return self._omni_per_backend(self._omni_rows(SQL(
            "SELECT backend_id, count(*) FROM omni_event WHERE state IN ('pending', 'retry') "
            "AND COALESCE(next_attempt_at, received_at) <= %s GROUP BY 1", now)), default=0)

    def _omni_value_failure_ratio_percent(self, now):
        since = now - timedelta(minutes=self.window_minutes or 15)
        rows = self._omni_rows(SQL(
            """
            SELECT backend_id, sum(count) FILTER (WHERE metric IN ('blocked', 'dead', 'retry')), sum(count)
              FROM omni_metric_minute
             WHERE backend_id IS NOT NULL AND metric IN ('done', 'skipped', 'blocked', 'dead', 'retry')
               AND minute >= %s
             GROUP BY 1
            """, since.replace(second=0, microsecond=0)))
        return self._omni_per_backend([(b, 100.0 * (failed or 0) / total) for b, failed, total in rows if total],
                                      default=0.0)

    def _omni_value_webhook_silence_minutes(self, now):
        values = {}
        for backend in self._omni_backends():
            row = self._omni_rows(SQL(
                "SELECT received_at FROM omni_event WHERE backend_id = %s AND %s "
                "ORDER BY received_at DESC LIMIT 1", backend.id, SQL(WEBHOOK_DELIVERY)))
            if row and row[0][0] >= now - timedelta(days=PUSH_CHANNEL_DAYS):
                values[f"backend:{backend.id}"] = (backend.name, backend, backend,
                                                   (now - row[0][0]).total_seconds() / 60)
        return values

    def _omni_value_poll_failing_minutes(self, now):
        rows = self._omni_rows(SQL(
            "SELECT backend_id, min(checkpoint) FROM omni_sync_checkpoint WHERE checkpoint IS NOT NULL GROUP BY 1"))
        return self._omni_per_backend([(b, (now - oldest).total_seconds() / 60) for b, oldest in rows])

    def _omni_value_dead_events(self, now):
        dead = {}
        for (backend_id, _direction, state), count in self.env["omni.event.state.count"]._omni_counts().items():
            if state == "dead":
                dead[backend_id] = dead.get(backend_id, 0) + count
        return self._omni_per_backend(dead.items(), default=0)

    def _omni_value_open_exceptions(self, now):
        return self._omni_per_backend(self._omni_rows(SQL(
            "SELECT backend_id, count(*) FROM omni_exception WHERE state IN ('open', 'assigned') "
            "AND category != 'monitoring' AND backend_id IS NOT NULL GROUP BY 1")), default=0)

    def _omni_has_payouts(self):
        """Payout rules have subjects only where ``omni_reconciliation`` is installed; elsewhere they
        evaluate to nothing (no subject, never fire)."""
        return "omni.settlement.account" in self.env

    def _omni_accounts(self):
        return self.env["omni.settlement.account"].sudo().search([("active", "=", True)])

    def _omni_per_account(self, rows, default=None):
        found = dict(rows)
        return {f"account:{account.id}": (account.name, account.backend_id or None, account,
                                          found.get(account.id, default))
                for account in self._omni_accounts() if account.id in found or default is not None}

    def _omni_value_payout_unmatched_days(self, now):
        if not self._omni_has_payouts():
            return {}
        rows = self._omni_rows(SQL(
            "SELECT payout_account_id, min(imported_at) FROM omni_settlement "
            "WHERE unmatched_count > 0 AND state != 'reconciled' GROUP BY 1"))
        return self._omni_per_account([(a, (now - first).total_seconds() / 86400) for a, first in rows if first],
                                      default=0.0)

    def _omni_value_payout_silence_days(self, now):
        if not self._omni_has_payouts():
            return {}
        rows = self._omni_rows(SQL("SELECT payout_account_id, max(payout_date) FROM omni_settlement GROUP BY 1"))
        return self._omni_per_account([(a, (now.date() - last).days) for a, last in rows if last])


class OmniAlertState(models.Model):
    _name = "omni.alert.state"
    _description = "Omnichannel Alert State"
    _order = "rule_id, subject"

    rule_id = fields.Many2one("omni.alert.rule", required=True, ondelete="cascade", index=True)
    subject = fields.Char(required=True, help="What breaches: backend:<id> or account:<id>.")
    since = fields.Datetime(required=True, help="When the condition started to hold.")
    value = fields.Float(help="The metric at the last evaluation.")
    firing = fields.Boolean(help="The alert fired and has not resolved yet.")
    exception_id = fields.Many2one("omni.exception", ondelete="set null")

    _unique_subject = models.Constraint("UNIQUE(rule_id, subject)", "One state per rule and subject.")

    def _omni_resolve(self, value):
        for state in self:
            exception = state.exception_id.sudo()
            if exception and exception.state in ("open", "assigned"):
                exception.write({"state": "resolved", "resolved_at": fields.Datetime.now()})
                exception.activity_ids.action_feedback(feedback=self.env._("The condition cleared."))
                exception.message_post(body=self.env._(
                    "Resolved automatically: the condition cleared (now %s).", _fmt(value)))
        self.unlink()


def _fmt(value):
    if value is None:
        return "-"
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
