"""omni.alert.rule: a rule fires (exception, activity, email), holds for its duration, resolves itself."""

from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin


@tagged("post_install", "-at_install", "omni")
class TestAlerts(OmniTestMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, omni_no_trigger=True))
        cls.backend = cls._omni_create_backend(cls.env, name="Alerting shop")
        cls.alice = cls.env["res.users"].create({
            "name": "Alice Ops", "login": "alice-ops", "email": "alice@example.com",
            "group_ids": [(6, 0, [cls.env.ref("omni_connector_base.group_omni_user").id])]})
        cls.Rule = cls.env["omni.alert.rule"]

    def _exceptions(self, rule):
        return self.env["omni.exception"].search([("category", "=", "monitoring"),
                                                  ("resource_key", "like", f"alert:{rule.id}:")])

    def _alert_mails(self, exception):
        return self.env["mail.mail"].search([("model", "=", "omni.exception"), ("res_id", "=", exception.id),
                                             ("subject", "like", "[Omnichannel alert]")])

    def test_dead_event_fires_notifies_and_resolves(self):
        rule = self.Rule.create({"name": "Dead", "metric": "dead_events", "threshold": 0, "severity": "error",
                                 "user_id": self.alice.id})
        event = self._omni_store(self.backend, {"resource": "9", "fail": "permanent"}, "dead-1")
        self._omni_run_ready()
        self.assertEqual(event.state, "dead")
        rule._omni_evaluate()
        exception = self._exceptions(rule)
        self.assertEqual(len(exception), 1)
        self.assertEqual((exception.state, exception.severity, exception.user_id), ("assigned", "error", self.alice))
        self.assertEqual(exception.backend_id, self.backend)
        self.assertIn("Alerting shop", exception.message)
        activity = exception.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.alice)
        mail = self._alert_mails(exception)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.alice.partner_id)
        self.assertIn("Dead", mail.subject)
        self.assertTrue(rule.state_ids.firing)
        # still dead a minute later: the same alert, no second exception or email
        rule._omni_evaluate(fields.Datetime.now() + timedelta(minutes=1))
        self.assertEqual(self._exceptions(rule), exception)
        self.assertEqual(len(self._alert_mails(exception)), 1)
        # the condition clears: the exception resolves itself, the activity is done
        event.sudo().write({"state": "skipped"})
        rule._omni_evaluate()
        self.assertEqual(exception.state, "resolved")
        self.assertTrue(exception.resolved_at)
        self.assertFalse(exception.activity_ids)
        self.assertFalse(rule.state_ids)
        self.assertIn("condition cleared", exception.message_ids[0].body)

    def test_duration_must_hold_before_firing(self):
        group = self.env.ref("omni_connector_base.group_omni_user")
        rule = self.Rule.create({"name": "Queue too old", "metric": "oldest_ready_age_minutes", "threshold": 10,
                                 "duration_minutes": 5, "severity": "warning", "group_id": group.id})
        event = self._omni_store(self.backend, {"resource": "5", "name": "Late"}, "late-1")
        self.env.cr.execute(SQL("UPDATE omni_event SET received_at = %s WHERE id = %s",
                                fields.Datetime.now() - timedelta(minutes=20), event.id))
        now = fields.Datetime.now()
        rule._omni_evaluate(now)
        self.assertFalse(self._exceptions(rule), "breaching for 0 of 5 minutes")
        self.assertEqual(len(rule.state_ids), 1)
        rule._omni_evaluate(now + timedelta(minutes=3))
        self.assertFalse(self._exceptions(rule))
        rule._omni_evaluate(now + timedelta(minutes=6))
        exception = self._exceptions(rule)
        self.assertEqual(len(exception), 1)
        # a group: the activity goes to one of its users, the email to all of them
        self.assertIn(exception.activity_ids.user_id, group.all_user_ids)
        mail = self._alert_mails(exception)
        self.assertIn(self.alice.partner_id, mail.recipient_ids)
        self._omni_run_ready()
        rule._omni_evaluate(now + timedelta(minutes=7))
        self.assertEqual(exception.state, "resolved")

    def test_breach_that_clears_before_its_duration_never_fires(self):
        rule = self.Rule.create({"name": "Depth", "metric": "queue_depth", "threshold": 0, "duration_minutes": 10,
                                 "user_id": self.alice.id})
        self._omni_store(self.backend, {"resource": "6", "name": "Brief"}, "brief-1")
        rule._omni_evaluate()
        self.assertTrue(rule.state_ids)
        self._omni_run_ready()
        rule._omni_evaluate()
        self.assertFalse(rule.state_ids)
        self.assertFalse(self._exceptions(rule))

    def test_failure_ratio_from_the_aggregates(self):
        rule = self.Rule.create({"name": "Ratio", "metric": "failure_ratio_percent", "threshold": 5,
                                 "window_minutes": 15, "user_id": self.alice.id})
        for index in range(3):
            self._omni_store(self.backend, {"resource": f"ok{index}", "name": "Fine"}, f"ok-{index}")
        self._omni_store(self.backend, {"resource": "bad", "fail": "business"}, "bad-1")
        self._omni_run_ready()
        values = rule._omni_values(fields.Datetime.now())
        self.assertAlmostEqual(values[f"backend:{self.backend.id}"][3], 25.0)
        rule._omni_evaluate()
        self.assertEqual(len(self._exceptions(rule)), 1)

    def test_default_rules_and_cron(self):
        defaults = [self.env.ref(f"omni_monitoring.{name}") for name in (
            "alert_oldest_ready_event", "alert_failure_ratio", "alert_webhook_silence", "alert_poll_failing",
            "alert_dead_event", "alert_payout_unmatched", "alert_payout_silence")]
        self.assertEqual([(r.metric, r.threshold, r.duration_minutes) for r in defaults], [
            ("oldest_ready_age_minutes", 10, 5), ("failure_ratio_percent", 5, 0), ("webhook_silence_minutes", 120, 0),
            ("poll_failing_minutes", 30, 0), ("dead_events", 0, 0), ("payout_unmatched_days", 3, 0),
            ("payout_silence_days", 7, 0)])
        self.assertEqual(defaults[1].window_minutes, 15)
        cron = self.env.ref("omni_monitoring.cron_omni_alert_evaluate")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))
        self.assertGreaterEqual(self.Rule._cron_evaluate(), 7)
