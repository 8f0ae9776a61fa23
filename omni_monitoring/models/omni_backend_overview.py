"""Omnichannel -> Overview: one kanban card per channel, its figures read at display time.

The last payout of the channel is added by ``omni_monitoring_reconciliation`` (with the payouts)."""

from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.tools import SQL

from .omni_event import WEBHOOK_DELIVERY


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    ov_orders_today = fields.Integer(string="Orders Today", compute="_compute_overview",
                                     help="Sale orders of this channel dated today (your time zone).")
    ov_queue_depth = fields.Integer(string="Ready Events", compute="_compute_overview",
                                    help="Events ready to be processed now.")
    ov_oldest_age_minutes = fields.Integer(string="Oldest Ready (min)", compute="_compute_overview",
                                           help="Minutes the oldest ready event has been waiting.")
    ov_open_exceptions = fields.Integer(string="Open Exceptions ", compute="_compute_overview")
    ov_dead_events = fields.Integer(string="Dead Events", compute="_compute_overview")
    ov_last_webhook = fields.Datetime(string="Last Webhook", compute="_compute_overview")
    ov_last_poll = fields.Datetime(string="Last Poll", compute="_compute_overview",
                                   help="Start of the last successful poll (any resource type).")
    ov_alert = fields.Boolean(string="Needs Attention", compute="_compute_overview",
                              help="A figure is past its threshold: the card is red.")
    ov_alert_reason = fields.Char(string="Attention", compute="_compute_overview")
    ov_queue_age_limit = fields.Integer(
        string="Queue Age Limit (min)", default=10,
        help="Overview: the card turns red when the oldest ready event waits longer than this.")
    ov_exception_limit = fields.Integer(
        string="Open Exceptions Limit", default=0,
        help="Overview: the card turns red when more exceptions than this are open.")
    ov_webhook_silence_hours = fields.Integer(
        string="Webhook Silence Limit (h)", default=2,
        help="Overview: the card turns red when a channel that receives webhooks has had none for this long.")

    def _ov_today_start(self):
        tz = pytz.timezone(self.env.user.tz or "UTC")
        local_midnight = tz.localize(datetime.combine(fields.Date.context_today(self), time.min))
        return local_midnight.astimezone(pytz.utc).replace(tzinfo=None)

    def _ov_query(self, query):
        self.env.cr.execute(query)
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    @api.depends("ov_queue_age_limit", "ov_exception_limit", "ov_webhook_silence_hours", "active")
    @api.depends_context("uid")
    def _compute_overview(self):
        ids = [backend_id for backend_id in self.ids if isinstance(backend_id, int)]
        now = fields.Datetime.now()
        self.env.flush_all()
        orders = self._ov_query(SQL(
            "SELECT omni_backend_id, count(*) FROM sale_order WHERE omni_backend_id = ANY(%s) AND date_order >= %s "
            "GROUP BY 1", ids, self._ov_today_start()))
        ready = self._ov_query(SQL(
            "SELECT backend_id, count(*), min(COALESCE(next_attempt_at, received_at)) FROM omni_event "
            "WHERE backend_id = ANY(%s) AND state IN ('pending', 'retry') "
            "AND COALESCE(next_attempt_at, received_at) <= %s GROUP BY 1", ids, now))
        dead = self._ov_query(SQL(
            "SELECT backend_id, count(*) FROM omni_event WHERE backend_id = ANY(%s) AND state = 'dead' GROUP BY 1",
            ids))
        exceptions = self._ov_query(SQL(
            "SELECT backend_id, count(*) FROM omni_exception WHERE backend_id = ANY(%s) "
            "AND state IN ('open', 'assigned') GROUP BY 1", ids))
        polls = self._ov_query(SQL(
            "SELECT backend_id, max(checkpoint) FROM omni_sync_checkpoint WHERE backend_id = ANY(%s) GROUP BY 1",
            ids))
        for backend in self:
            backend_id = backend.id if isinstance(backend.id, int) else None
            depth, oldest = ready.get(backend_id, (0, None))
            self.env.cr.execute(SQL(
                "SELECT received_at FROM omni_event WHERE backend_id = %s AND %s "
                "ORDER BY received_at DESC LIMIT 1", backend_id, SQL(WEBHOOK_DELIVERY)))
            webhook = self.env.cr.fetchone()
            backend.ov_orders_today = orders.get(backend_id, (0,))[0]
            backend.ov_queue_depth = depth
            backend.ov_oldest_age_minutes = int((now - oldest).total_seconds() // 60) if oldest else 0
            backend.ov_open_exceptions = exceptions.get(backend_id, (0,))[0]
            backend.ov_dead_events = dead.get(backend_id, (0,))[0]
            backend.ov_last_webhook = webhook[0] if webhook else False
            backend.ov_last_poll = polls.get(backend_id, (False,))[0] or False
            reasons = []
            if oldest and now - oldest > timedelta(minutes=backend.ov_queue_age_limit):
                reasons.append(self.env._("queue waiting %s min", backend.ov_oldest_age_minutes))
            if backend.ov_open_exceptions > backend.ov_exception_limit:
                reasons.append(self.env._("open exceptions: %s", backend.ov_open_exceptions))
            if backend.ov_dead_events:
                reasons.append(self.env._("dead events: %s", backend.ov_dead_events))
            if webhook and backend.active and now - webhook[0] > timedelta(hours=backend.ov_webhook_silence_hours):
                reasons.append(self.env._("no webhook since %s", webhook[0]))
            backend.ov_alert = bool(reasons)
            backend.ov_alert_reason = ", ".join(reasons)

    # ------------------------------------------------------------- figures

    def _ov_action(self, xmlid, domain, name):
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        # display_name too: the web client titles the view (and its breadcrumb) with it
        action.update(domain=domain, name=name, display_name=name, context={"create": False})
        return action

    def action_ov_orders_today(self):
        self.ensure_one()
        return self._ov_action("sale.action_orders", [("omni_backend_id", "=", self.id),
                                                      ("date_order", ">=", self._ov_today_start())],
                               self.env._("%s: orders today", self.name))

    def action_ov_queue(self):
        self.ensure_one()
        return self._ov_action("omni_connector_base.action_omni_event", [
            ("backend_id", "=", self.id), ("state", "in", ("pending", "retry"))],
            self.env._("%s: queued events", self.name))

    def action_ov_dead(self):
        self.ensure_one()
        return self._ov_action("omni_connector_base.action_omni_event", [
            ("backend_id", "=", self.id), ("state", "=", "dead")], self.env._("%s: dead events", self.name))

    def action_ov_exceptions(self):
        self.ensure_one()
        return self._ov_action("omni_connector_base.action_omni_exception", [
            ("backend_id", "=", self.id), ("state", "in", ("open", "assigned"))],
            self.env._("%s: open exceptions", self.name))

    def action_ov_polls(self):
        """The channel's polling checkpoints: what each poll has read up to, per resource type."""
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.sync.checkpoint", "view_mode": "list",
                "views": [(False, "list")], "domain": [("backend_id", "=", self.id)],
                "name": self.env._("%s: polls", self.name), "context": {"create": False}}

    def action_ov_webhooks(self):
        self.ensure_one()
        return self._ov_action("omni_connector_base.action_omni_event", [
            ("backend_id", "=", self.id), ("direction", "=", "in"), ("headers", "!=", False),
            ("headers", "not like", '"X-Omni-Source"')],  # what polls store is no webhook (WEBHOOK_DELIVERY)
            self.env._("%s: webhooks", self.name))
