"""Governance, secret rotation: a backend's webhook secret (Shopify: the app's client secret, which the
client-credentials grant uses too) is rotated with a grace period, for every connector.

* *Rotate Secret* (system administrators only, ``omni.secret.rotate.wizard``) keeps the previous secret
  (``webhook_secret_previous``, system administrators only) with the end of its grace
  (``webhook_secret_grace_until``) and logs the rotation in the chatter, never the value.
* Intake: a connector's verifier checks the signature through ``_omni_verify_with_secrets(check)``,
  which tries the current secret, then the previous one. During the grace a delivery signed with the
  previous secret is accepted and counted (``omni.secret.use``: one row per backend, hour and database
  connection, so parallel deliveries never wait on each other); after it, it is refused (401) and the
  hourly cron ``_cron_retire_secrets`` clears the previous secret (woken at once by the first refusal).
* The backend shows when to retire it (``secret_rotation_status``, also on the Overview card):
  ``previous secret still used: N deliveries in the last 24 h; grace ends ...`` or ``safe to retire``.
"""

import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

DEFAULT_GRACE_HOURS = 72
USE_WINDOW_HOURS = 24
USE_KEEP_DAYS = 30
REASON_RETIRED = "signed with the previous secret after its grace ended"


class OmniSecretUse(models.Model):
    """Deliveries accepted with a backend's previous webhook secret, counted per hour.

    One ``INSERT ... ON CONFLICT DO UPDATE`` per delivery into the row of this backend, hour and
    database connection (``shard``: ``pg_backend_pid()``), so two requests never update the same
    row at once (no lock wait, no serialization failure under a burst of retries).
    """

    _name = "omni.secret.use"
    _description = "Omnichannel Deliveries Signed With a Previous Secret"
    _log_access = False
    _order = "hour desc, id desc"

    backend_id = fields.Many2one("omni.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    hour = fields.Datetime(required=True, readonly=True, help="Start of the hour (UTC).")
    shard = fields.Integer(required=True, default=0, readonly=True,
                           help="Database connection that wrote the row (keeps parallel requests apart).")
    count = fields.Integer(readonly=True, help="Deliveries accepted with the previous secret in this hour.")
    last_at = fields.Datetime(readonly=True, help="Last such delivery in this hour (UTC).")

    _unique_hour = models.Constraint(
        "UNIQUE(backend_id, hour, shard)", "One counter per backend, hour and database connection."
    )

    @api.model
    def _omni_count(self, backend_id):
        """Count one delivery accepted with the previous secret of ``backend_id`` (one upsert).

        Raw SQL on purpose: the intake must stay cheap; it writes every stored column of this model
        (``company_id``, the related field, read from the backend)."""
        now = fields.Datetime.now()
        self.env.cr.execute(SQL(
            """
            INSERT INTO omni_secret_use AS u (backend_id, company_id, hour, shard, count, last_at)
            SELECT b.id, b.company_id, %(hour)s, pg_backend_pid(), 1, %(now)s
              FROM omni_backend b WHERE b.id = %(backend)s
            ON CONFLICT (backend_id, hour, shard) DO UPDATE SET count = u.count + 1, last_at = EXCLUDED.last_at
            """,
            backend=backend_id, hour=now.replace(minute=0, second=0, microsecond=0), now=now,
        ))
        self.invalidate_model()

    @api.model
    def _omni_counts(self, backend_ids, since):
        """``{backend id: (deliveries since ``since``, last one)}``; one query."""
        self.flush_model()
        self.env.cr.execute(SQL(
            "SELECT backend_id, sum(count), max(last_at) FROM omni_secret_use "
            "WHERE backend_id = ANY(%s) AND last_at >= %s GROUP BY 1",
            list(backend_ids), since,
        ))
        return {row[0]: (int(row[1] or 0), row[2]) for row in self.env.cr.fetchall()}


class OmniBackendRotation(models.Model):
    # The secret rotation of omni.backend, in a file of its own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    webhook_secret_previous = fields.Char(
        groups="base.group_system",
        copy=False,
        help="The webhook secret before the last rotation: deliveries signed with it are accepted until the "
        "grace ends, then refused, and it is cleared. Only system administrators can read it.",
    )
    webhook_secret_grace_until = fields.Datetime(
        string="Previous Secret Accepted Until",
        copy=False,
        readonly=True,
        help="End of the grace of the last secret rotation (UTC): until then, webhooks signed with the previous "
        "secret are accepted and counted; after it they are refused (401) and the previous secret is cleared.",
    )
    webhook_secret_rotated_at = fields.Datetime(
        string="Secret Rotated On", copy=False, readonly=True, help="When the webhook secret was last rotated."
    )
    secret_grace_hours = fields.Integer(
        string="Rotation Grace (h)",
        default=DEFAULT_GRACE_HOURS,
        help="How long after a rotation the previous webhook secret is still accepted (deliveries the channel "
        "signed before it knew the new secret, and its retries). 0: refused at once.",
    )
    secret_rotation_status = fields.Char(
        string="Secret Rotation",
        compute="_compute_secret_rotation",
        help="When to retire the previous secret: how many deliveries still arrive signed with it (last 24 h) "
        "and when its grace ends, or 'safe to retire' when none did.",
    )
    secret_previous_uses_24h = fields.Integer(
        string="Previous Secret Uses (24 h)",
        compute="_compute_secret_rotation",
        help="Deliveries accepted with the previous webhook secret in the last 24 hours.",
    )

    _check_secret_grace = models.Constraint(
        "CHECK (secret_grace_hours >= 0)", "The rotation grace cannot be negative."
    )

    @api.depends("webhook_secret_grace_until")
    @api.depends_context("uid")
    def _compute_secret_rotation(self):
        now = fields.Datetime.now()
        ids = [backend_id for backend_id in self.ids if isinstance(backend_id, int)]
        counts = self.env["omni.secret.use"].sudo()._omni_counts(ids, now - timedelta(hours=USE_WINDOW_HOURS))
        for backend in self:
            uses, _last = counts.get(backend.id, (0, None))
            backend.secret_previous_uses_24h = uses
            grace = backend.webhook_secret_grace_until
            if not grace:
                backend.secret_rotation_status = False
            elif grace <= now:
                backend.secret_rotation_status = self.env._("previous secret retired (grace ended %s UTC)", grace)
            elif uses:
                backend.secret_rotation_status = self.env._(
                    "previous secret still used: %(count)s deliveries in the last 24 h; grace ends %(end)s UTC",
                    count=uses, end=grace)
            else:
                backend.secret_rotation_status = self.env._(
                    "safe to retire: no delivery signed with the previous secret in the last 24 h (grace ends "
                    "%s UTC)", grace)

    # ----------------------------------------------------------------- intake

    def _omni_verify_with_secrets(self, check):
        """Verify a delivery with the current webhook secret, then with the previous one.

        :param check: ``check(secret) -> (ok, reason)``, the connector's signature check
        :return: ``(True, '')`` or ``(False, reason)`` (the current secret's reason, or
            :data:`REASON_RETIRED` for a delivery signed with the previous secret after its grace)

        A delivery accepted with the previous secret is counted (``omni.secret.use``) in the
        request's transaction; one refused for an ended grace wakes the cron that clears it.
        """
        self.ensure_one()
        backend = self.sudo()
        ok, reason = check(backend.webhook_secret)
        if ok:
            return True, ""
        previous = backend.webhook_secret_previous
        if not previous or previous == backend.webhook_secret or not check(previous)[0]:
            return False, reason
        if backend.webhook_secret_grace_until and fields.Datetime.now() < backend.webhook_secret_grace_until:
            self.env["omni.secret.use"].sudo()._omni_count(self.id)
            return True, ""
        cron = self.env.ref("omni_connector_base.cron_omni_retire_secrets", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()
        return False, REASON_RETIRED

    # --------------------------------------------------------------- rotation

    def action_rotate_secret(self):
        """Open the *Rotate Secret* wizard (system administrators only)."""
        self.ensure_one()
        self._omni_check_secret_admin()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Rotate the webhook secret"),
            "res_model": "omni.secret.rotate.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_backend_id": self.id, "default_grace_hours": self.secret_grace_hours},
        }

    def _omni_check_secret_admin(self):
        if not (self.env.su or self.env.user.has_group("base.group_system")):
            raise AccessError(self.env._("Only system administrators can rotate secrets."))

    @api.private
    def _omni_rotate_webhook_secret(self, new_secret, grace_hours=None):
        """Make ``new_secret`` the webhook secret; the previous one is accepted for ``grace_hours``
        (default: the backend's *Rotation Grace*). Logged in the chatter without either value.

        Calls the connector's ``_omni_after_secret_rotation()`` first thing after the switch (e.g.
        WooCommerce gives the store's webhooks the new secret); its errors undo the rotation."""
        self.ensure_one()
        self._omni_check_secret_admin()
        new_secret = (new_secret or "").strip()
        if len(new_secret) < 16:
            raise UserError(self.env._("A webhook secret needs at least 16 characters."))
        backend = self.sudo()
        if new_secret == backend.webhook_secret:
            raise UserError(self.env._("The new secret is the current one."))
        grace_hours = self.secret_grace_hours if grace_hours is None else grace_hours
        if grace_hours < 0:
            raise UserError(self.env._("The grace cannot be negative."))
        now = fields.Datetime.now()
        had_secret = bool(backend.webhook_secret)
        grace_until = now + timedelta(hours=grace_hours) if had_secret and grace_hours else False
        backend.write({
            "webhook_secret": new_secret,
            "webhook_secret_previous": backend.webhook_secret if grace_until else False,
            "webhook_secret_grace_until": grace_until,
            "webhook_secret_rotated_at": now,
        })
        self.env["omni.secret.use"].sudo().search([("backend_id", "=", self.id)]).unlink()
        detail = self._omni_after_secret_rotation() or ""
        if grace_until:
            body = self.env._(
                "Webhook secret rotated by %(user)s. Deliveries signed with the previous secret are accepted "
                "until %(end)s UTC (%(hours)s h), then refused.", user=self.env.user.name, end=grace_until,
                hours=grace_hours)
        else:
            body = self.env._("Webhook secret rotated by %s. The previous secret is refused from now on.",
                              self.env.user.name)
        backend.message_post(body=f"{body} {detail}".strip())
        return True

    def _omni_after_secret_rotation(self):
        """Connector hook: tell the channel the new webhook secret where Odoo can (WooCommerce: the
        store's webhooks); return a short note for the chatter (never the secret). Default: nothing
        to do (Shopify signs with the app's client secret, rotated in the Partner Dashboard)."""
        self.ensure_one()
        return ""

    @api.model
    def _cron_retire_secrets(self):
        """Clear the previous webhook secrets whose grace ended (logged in the chatter) and the
        counters older than 30 days."""
        now = fields.Datetime.now()
        Event = self.env["omni.event"]
        backends = self.sudo().with_context(active_test=False).search(
            [("webhook_secret_grace_until", "<=", now), ("webhook_secret_previous", "!=", False)])
        Event._omni_commit_progress(remaining=len(backends))
        for backend in backends:
            backend.write({"webhook_secret_previous": False})
            backend.message_post(body=self.env._(
                "Previous webhook secret retired: its grace ended %s UTC; deliveries signed with it are refused.",
                backend.webhook_secret_grace_until), author_id=self.env.ref("base.partner_root").id)
            Event._omni_commit_progress(1)
        self.env.cr.execute(SQL("DELETE FROM omni_secret_use WHERE hour < %s", now - timedelta(days=USE_KEEP_DAYS)))
        return len(backends)


def generate_secret():
    """A new random webhook secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)

