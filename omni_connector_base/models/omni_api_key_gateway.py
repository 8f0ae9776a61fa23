"""Gateway policies of the custom-channel API keys: rate limit, scopes, expiry and rotation.

Rate limit: a token bucket per key, kept in PostgreSQL (table ``omni_api_key_bucket``, one
row per key) so every worker and every node shares it. Taking a token is one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` that creates the bucket full on first use,
refills it for the time elapsed (``statement_timestamp()``, the database's clock: one clock
for all nodes) and takes a token if one is there.

It runs on the request's own cursor (no second connection), in a transaction of its own
that holds nothing but that statement: the API controller commits what the request read so
far, runs the statement under READ COMMITTED and commits again, before it reads the body
(``controllers/api.py``, ``_omni_take_token_committed``). So the bucket's row lock lasts
microseconds, concurrent requests of one key queue on it without a serialization failure
(READ COMMITTED re-reads the row a concurrent request just committed), and no lock is held
while the request stores its event.

Why not a second cursor: the first version took the token through ``registry.cursor()``,
a second connection, while the request's transaction held a ``FOR UPDATE`` lock on the key
row (its last-use touch). The bucket's first INSERT checks its foreign key with ``FOR KEY
SHARE`` on that row, so it waited for the request's own transaction, which waited for it:
each worker hung on itself, and the key's other requests queued behind (measured on a
two-worker server: ``pg_blocking_pids`` of the bucket connection named its own request's
connection). Tests share one cursor and could not see it; ``tests/pure/test_gateway_server.py``
runs a real two-worker server. The touch now locks ``FOR NO KEY UPDATE`` (compatible with
the foreign key check) and only once the request is admitted.

Decision: a token is spent when the request is admitted, whatever comes next. A request
that is then refused (400/413/422), fails (503) or is a duplicate still counts, as on any
API gateway: a client looping on a bad body is throttled too. Nothing else of the request is
committed early: its event is stored in the request's next transaction, all or nothing.

Rotation: "Rotate" issues a new key (same name, scopes and limits) and keeps the old one
working until the backend's grace period ends; then the old key is refused with 401 and
the reason. A key past its expiry date is refused the same way.
"""

import hmac
import logging
import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .omni_api_key import MAX_PRESENTED_KEY_LENGTH, hash_key

_logger = logging.getLogger(__name__)

# Scope name -> boolean field of omni.api.key that grants it.
SCOPE_FIELDS = {
    "orders:write": "scope_orders_write",
    "refunds:write": "scope_refunds_write",
    "exchanges:write": "scope_exchanges_write",
    "events:read": "scope_events_read",
}
DEFAULT_RATE_PER_MINUTE = 300
DEFAULT_BURST = 60


class OmniApiKey(models.Model):
    _inherit = "omni.api.key"

    rate_limit_per_minute = fields.Integer(
        string="Rate Limit (per minute)",
        default=DEFAULT_RATE_PER_MINUTE,
        help="Sustained requests per minute this key may send (its token bucket refills at this rate). "
        "Past it the API answers 429 with Retry-After. Shared by every worker and server (stored in "
        "PostgreSQL). Every admitted request spends a token, whatever its answer (202, 4xx or 503).",
    )
    rate_limit_burst = fields.Integer(
        string="Burst",
        default=DEFAULT_BURST,
        help="Requests this key may send at once after a quiet period (the size of its token bucket).",
    )
    scope_orders_write = fields.Boolean(
        string="orders:write", default=True,
        help="Scope orders:write: may POST orders. Without it the API answers 403.")
    scope_refunds_write = fields.Boolean(
        string="refunds:write", default=True,
        help="Scope refunds:write: may POST refunds. Without it the API answers 403.")
    scope_exchanges_write = fields.Boolean(
        string="exchanges:write", default=True,
        help="Scope exchanges:write: may POST exchanges. Without it the API answers 403.")
    scope_events_read = fields.Boolean(
        string="events:read", default=True,
        help="Scope events:read: may GET the status of the events it posted. Without it the API answers 403.")
    expires_at = fields.Datetime(
        string="Expires On",
        copy=False,
        help="After this date (UTC) requests with this key are refused (401, \"key expired\"). "
        "Leave empty for a key that does not expire.",
    )
    rotated_at = fields.Datetime(
        string="Rotated On",
        readonly=True,
        copy=False,
        help="When this key was replaced by a new one (Rotate). It keeps working until Grace Until.",
    )
    grace_until = fields.Datetime(
        readonly=True,
        copy=False,
        help="End of the rotation grace period: after it, requests with this (old) key are refused "
        "with 401 and the rotation date.",
    )
    replaced_by_id = fields.Many2one(
        "omni.api.key",
        readonly=True,
        copy=False,
        help="The key issued when this one was rotated.",
    )

    _positive_rate = models.Constraint(
        "CHECK(rate_limit_per_minute > 0 AND rate_limit_burst > 0)",
        "The rate limit and the burst of an API key must be positive.",
    )

    def init(self):
        result = super().init()
        self.env.cr.execute(SQL("""
            CREATE TABLE IF NOT EXISTS omni_api_key_bucket (
                key_id integer PRIMARY KEY REFERENCES omni_api_key(id) ON DELETE CASCADE,
                tokens double precision NOT NULL,
                refilled_at timestamp NOT NULL,
                allowed boolean NOT NULL DEFAULT true
            )
        """))
        return result

    @api.constrains("scope_orders_write", "scope_refunds_write", "scope_exchanges_write", "scope_events_read")
    def _check_some_scope(self):
        for key in self:
            if not any(key[field] for field in SCOPE_FIELDS.values()):
                raise ValidationError(self.env._("An API key needs at least one scope."))

    # ------------------------------------------------------------------ rotation

    def action_rotate(self):
        """Issue a new key; this one keeps working for the backend's grace period. Shows the new key once."""
        self.ensure_one()
        if not self.active or self.rotated_at:
            raise UserError(self.env._("Only an active key that was not rotated yet can be rotated."))
        self.check_access("write")
        new_key, full_key = self._omni_generate(self.backend_id, self.name)
        now = fields.Datetime.now()
        grace_days = self.backend_id.api_key_rotation_grace_days
        # Limits and scopes carry over; the old key's expiry does not (the new key is fresh).
        new_key.sudo().write({
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "rate_limit_burst": self.rate_limit_burst,
            **{field: self[field] for field in SCOPE_FIELDS.values()},
        })
        self.sudo().write({"rotated_at": now, "grace_until": now + timedelta(days=grace_days),
                           "replaced_by_id": new_key.id})
        # The chatter names both keys by prefix only: the full key is shown once, below.
        self.backend_id.message_post(body=self.env._(
            "API key %(old)s rotated by %(user)s: replaced by %(new)s; the old key works until %(until)s UTC.",
            old=self.display_name, new=new_key.display_name, user=self.env.user.name, until=self.grace_until))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("API Key Rotated"),
            "res_model": "omni.api.key.wizard",
            "view_mode": "form",
            "views": [(self.env.ref("omni_connector_base.view_omni_api_key_wizard_show_form").id, "form")],
            "target": "new",
            "context": {"default_backend_id": self.backend_id.id, "default_name": new_key.name,
                        "default_api_key_id": new_key.id, "default_key": full_key},
        }

    # ------------------------------------------------------------------ gateway

    @api.private
    @api.model
    def _omni_gateway_authenticate(self, backend, presented_key):
        """``(key, None)`` for a usable key, ``(empty, reason)`` otherwise.

        ``reason`` is what the 401 says: "invalid key", "key expired" or "key rotated on <date>".
        Like ``_omni_authenticate``: every active key of the backend is compared in constant time.
        """
        empty = self.browse()
        if not backend or not isinstance(presented_key, str) or not presented_key \
                or len(presented_key) > MAX_PRESENTED_KEY_LENGTH:
            return empty, "invalid key"
        digest = hash_key(presented_key)
        match = empty
        for key in self.sudo().search([("backend_id", "=", backend.id), ("active", "=", True)]):
            if hmac.compare_digest(key.key_hash, digest):
                match = key
        if not match:
            return empty, "invalid key"
        now = fields.Datetime.now()
        if match.grace_until and match.grace_until <= now:
            return empty, f"key rotated on {fields.Datetime.to_string(match.rotated_at)} UTC"
        if match.expires_at and match.expires_at <= now:
            return empty, "key expired"
        # The use is recorded (_omni_touch) by the caller, once the request is admitted.
        return match, None

    @api.private
    def _omni_missing_scope(self, scope):
        """``scope`` if this key lacks it, else None."""
        self.ensure_one()
        return None if self[SCOPE_FIELDS[scope]] else scope

    @api.private
    def _omni_take_token(self):
        """Take a token from this key's bucket: ``(allowed, retry_after_seconds)``.

        One atomic statement on ``self.env.cr``. It neither commits nor sets the isolation
        level: the API controller runs it in a transaction of its own under READ COMMITTED
        (see the module docstring). Under REPEATABLE READ a concurrent take of the same key
        fails it with a serialization error.
        """
        self.ensure_one()
        rate = self.rate_limit_per_minute / 60.0  # tokens per second
        burst = float(self.rate_limit_burst)
        now = SQL("(statement_timestamp() AT TIME ZONE 'UTC')")
        # Refill for the time elapsed (never negative, even when a request that started later
        # committed first), capped at the burst.
        level = SQL(
            "LEAST(%s, bucket.tokens + GREATEST(0, EXTRACT(EPOCH FROM (%s - bucket.refilled_at))) * %s)",
            burst, now, rate)
        self.env.cr.execute(SQL("""
            INSERT INTO omni_api_key_bucket AS bucket (key_id, tokens, refilled_at, allowed)
            VALUES (%(id)s, %(burst)s - 1, %(now)s, true)
            ON CONFLICT (key_id) DO UPDATE
               SET allowed = %(level)s >= 1,
                   tokens = CASE WHEN %(level)s >= 1 THEN %(level)s - 1 ELSE %(level)s END,
                   refilled_at = GREATEST(bucket.refilled_at, %(now)s)
         RETURNING allowed, tokens
        """, id=self.id, burst=burst, now=now, level=level))
        allowed, tokens = self.env.cr.fetchone()
        if allowed:
            return True, 0
        return False, max(1, math.ceil((1.0 - tokens) / rate))
