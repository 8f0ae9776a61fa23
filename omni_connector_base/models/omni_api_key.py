"""API keys of the custom-channel REST API (``/omni/api/v1/<backend_id>/...``).

Why this shape: a key is a bearer secret handed to a storefront, POS or B2B portal, so
Odoo keeps only what it needs to recognise it — a SHA-256 digest and a short prefix for
people — and shows the full key exactly once, when it is created. Keys are 256-bit random
tokens, so a plain (fast) digest is enough: there is nothing to brute-force, unlike a
password. Revoking a key archives it, for good.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .omni_access import check_channel_action

_logger = logging.getLogger(__name__)

KEY_PREFIX = "omk_"
# Characters of the key kept in clear, so people can tell their keys apart ("omk_Ab3x").
DISPLAY_PREFIX_LENGTH = 8
# Longest bearer token worth hashing; real keys are 47 characters.
MAX_PRESENTED_KEY_LENGTH = 256
# last_used_at is refreshed at most this often, so busy clients do not contend on the row.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Days a rotated key keeps working (omni_api_key_gateway.py), unless the backend says otherwise.
DEFAULT_ROTATION_GRACE_DAYS = 7


def hash_key(key):
    """SHA-256 hex digest of a full key: the only form in which Odoo keeps it."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class OmniApiKey(models.Model):
    """A bearer key that lets one external system post to one custom-channel backend."""

    _name = "omni.api.key"
    _description = "Omnichannel API Key"
    _order = "backend_id, create_date desc, id desc"

    backend_id = fields.Many2one(
        "omni.backend",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
        domain=[("channel", "=", "custom")],
        help="The custom-channel backend this key posts to; a key never opens another backend.",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id",
        store=True,
        index=True,
        help="Company of the backend; keys follow their backend's multi-company rules.",
    )
    name = fields.Char(
        required=True,
        help="What uses this key, e.g. 'Berlin POS' or 'B2B portal', so it can be revoked knowingly.",
    )
    key_prefix = fields.Char(
        readonly=True,
        copy=False,
        help="First characters of the key, shown so people can recognise it. The full key is shown "
        "only once, when it is created, and never stored.",
    )
    key_hash = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="SHA-256 digest of the full key; requests are checked against it.",
    )
    active = fields.Boolean(
        default=True,
        help="Uncheck (archive) to revoke the key: requests with it are refused at once. A revoked key "
        "cannot be restored; create a new one.",
    )
    last_used_at = fields.Datetime(
        readonly=True,
        copy=False,
        help="Last accepted request with this key (refreshed at most once a minute).",
    )

    _unique_key_hash = models.Constraint("UNIQUE(key_hash)", "This API key already exists.")

    @api.depends("name", "key_prefix")
    def _compute_display_name(self):
        for key in self:
            key.display_name = f"{key.name} ({key.key_prefix}…)" if key.key_prefix else key.name

    # ------------------------------------------------------------------- CRUD

    def write(self, vals):
        if vals.get("active") and any(not key.active for key in self):
            raise UserError(self.env._("A revoked API key cannot be restored: it may have leaked. Create a new key."))
        if "backend_id" in vals and any(key.backend_id.id != vals["backend_id"] for key in self):
            raise UserError(self.env._("An API key cannot be moved to another backend."))
        revoked = self.filtered("active") if "active" in vals and not vals["active"] else self.browse()
        result = super().write(vals)
        for key in revoked:
            key.backend_id.message_post(
                body=self.env._("API key %(key)s revoked by %(user)s.", key=key.display_name, user=self.env.user.name)
            )
        return result

    def action_revoke(self):
        """Revoke (archive) the keys; requests using them are refused from now on."""
        self.filtered("active").action_archive()
        return True

    # -------------------------------------------------------------------- API

    @api.private
    @api.model
    def _omni_generate(self, backend, name):
        """Create a key for ``backend``; return ``(record, full_key)``.

        The full key leaves this method only to be shown once; it is stored nowhere.
        """
        backend.ensure_one()
        if backend.channel != "custom":
            raise UserError(
                self.env._(
                    "API keys are for custom-channel backends; %(name)s is a %(channel)s backend.",
                    name=backend.name,
                    channel=backend.channel,
                )
            )
        full_key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.check_access("create")
        backend.check_access("read")
        # The digest is readable and writable by system administrators only (it is a credential
        # verifier); the manager's right to create keys was checked above.
        record = self.sudo().create(
            {
                "backend_id": backend.id,
                "name": name,
                "key_prefix": full_key[:DISPLAY_PREFIX_LENGTH],
                "key_hash": hash_key(full_key),
            }
        ).sudo(False)
        backend.message_post(
            body=self.env._("API key %(key)s created by %(user)s.", key=record.display_name, user=self.env.user.name)
        )
        return record, full_key

    @api.private
    @api.model
    def _omni_authenticate(self, backend, presented_key):
        """The active key of ``backend`` matching ``presented_key``, or an empty recordset.

        Every active key of the backend is compared in constant time (no early exit), so the
        answer time tells nothing about how close a guess was. Reads as superuser: the caller
        is an anonymous HTTP request.
        """
        match = self.browse()
        if (
            not backend
            or not isinstance(presented_key, str)
            or not presented_key
            or len(presented_key) > MAX_PRESENTED_KEY_LENGTH
        ):
            return match
        digest = hash_key(presented_key)
        for key in self.sudo().search([("backend_id", "=", backend.id), ("active", "=", True)]):
            if hmac.compare_digest(key.key_hash, digest):
                match = key
        if match:
            match._omni_touch()
        return match

    def _omni_touch(self):
        """Record the use of a key, at most once a minute and never waiting for a lock.

        A busy client sends many requests a second; writing every time would serialize them
        all on this one row. ``SKIP LOCKED`` lets a request that finds the row being touched by
        another one simply go on. ``FOR NO KEY UPDATE`` (what the UPDATE takes anyway), not
        ``FOR UPDATE``: the lock is held until the request commits, and ``FOR UPDATE`` would
        block the ``FOR KEY SHARE`` that PostgreSQL's foreign key checks take on the key row
        (the rate-limit bucket's first insert, in ``omni_api_key_gateway``).
        """
        self.ensure_one()
        # Raw UPDATE of last_used_at only: it skips write() (no override reacts to it), leaves
        # write_date/write_uid as they were (a use is not an edit) and no computed field depends on it.
        now = fields.Datetime.now()
        if self.last_used_at and self.last_used_at > now - LAST_USED_RESOLUTION:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        """
                    UPDATE omni_api_key SET last_used_at = %(now)s
                     WHERE id IN (SELECT id FROM omni_api_key
                                   WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at <= %(since)s)
                                     FOR NO KEY UPDATE SKIP LOCKED)
                    """,
                        now=now,
                        id=self.id,
                        since=now - LAST_USED_RESOLUTION,
                    ),
                    log_exceptions=False,
                )
        except psycopg2.errors.SerializationFailure:
            # Another request touched the key after this transaction's snapshot: it is fresh, and
            # the order this request carries must not fail for a bookkeeping date.
            _logger.debug("omni.api.key %s: last use already recorded by a concurrent request", self.id)
        self.invalidate_recordset(["last_used_at"])


class OmniBackend(models.Model):
    _inherit = "omni.backend"

    api_key_ids = fields.One2many(
        "omni.api.key",
        "backend_id",
        string="API Keys",
        groups="omni_connector_base.group_omni_manager",
        help="Active keys that may post to this backend's REST API (custom channel only).",
    )
    api_url = fields.Char(
        string="API Base URL",
        compute="_compute_api_url",
        help="Base address of the REST API for this backend: POST <url>/orders and <url>/refunds, "
        "GET <url>/events/<event_id>.",
    )

    api_key_rotation_grace_days = fields.Integer(
        string="Key Rotation Grace (days)",
        default=DEFAULT_ROTATION_GRACE_DAYS,
        help="After an API key is rotated, the old key keeps working this many days, so the client "
        "can switch over; then it is refused (401).",
    )

    def _compute_api_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.api_url = f"{base_url}/omni/api/v1/{backend.id}" if backend.id else False

    def action_new_api_key(self):
        """Open the wizard that creates an API key for this backend and shows it once."""
        check_channel_action(self.env)
        self.ensure_one()
        if self.channel != "custom":
            raise UserError(self.env._("Only custom-channel backends take API keys."))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New API Key"),
            "res_model": "omni.api.key.wizard",
            "view_mode": "form",
            "views": [(self.env.ref("omni_connector_base.view_omni_api_key_wizard_form").id, "form")],
            "target": "new",
            "context": {"default_backend_id": self.id},
        }
