"""Onboarding hooks of ``omni.backend`` (the Connect a channel wizard and the product matching report
use them, so every connector gets both by implementing them) and the catch-up import.

Hooks (a connector overrides them for its channel and calls ``super()`` for the others):

* ``_omni_channel_tax_rates()`` -> ``[(rate, price_include), ...]``: the sales tax rates the channel
  uses (rate in percent, 19.0, as ``omni.tax.map``);
* ``_omni_channel_products()`` -> ``[{"external_id", "sku", "barcode", "name"}, ...]``: the channel's
  sellable variants (``external_id`` as the order importer sees it: a product binding's key);
* ``_omni_catch_up(since)``: read the channel's orders updated since ``since`` into the inbox, in
  the background (default: the polling checkpoint of ``_omni_catch_up_resource()``, ``orders``
  unless the connector says otherwise, is moved back and the channel's poll cron triggered: it
  resumes after a restart and the inbox's idempotency keys never import twice; a connector whose
  cron reads page by page through ``_omni_cron_poll_pages`` shows the progress per page).

``_omni_test_connection``, ``_omni_register_webhooks`` and ``_omni_connection_fields`` are the
connector hooks of ``models/omni_backend.py``.
"""

import re

from odoo import fields, models
from odoo.exceptions import UserError

from ..pipeline.errors import OmniError, TransientError

# Failure kinds of "Test connection", recognised in the channel's error (status or wording).
_FAILURES = (
    ("unreachable", re.compile(r"connect|timed? ?out|unreachable|name or service|refused|resolve", re.I)),
    ("scope", re.compile(r"\b403\b|scope|access denied|forbidden|permission", re.I)),
    ("token", re.compile(r"\b401\b|token|api key|unauthori[sz]ed|credential|authenticat", re.I)),
    ("shop", re.compile(r"\b404\b|not found|unknown shop|no such shop|domain", re.I)),
)


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    catch_up_since = fields.Datetime(
        string="Last Catch-up From",
        copy=False,
        help="Start of the last catch-up import (Import orders since): the channel's poll read the orders "
        "updated since then again, in the background; the events' keys import none twice.",
    )

    def _omni_channel_tax_rates(self):
        self.ensure_one()
        return []

    def _omni_channel_label(self):
        """The channel's kind as people read it (e.g. "Custom storefront / API"), not its key."""
        self.ensure_one()
        return dict(self._fields["channel"]._description_selection(self.env)).get(self.channel, self.channel)

    def _omni_channel_products(self):
        self.ensure_one()
        raise UserError(self.env._(
            "%s channels have no product list Odoo can read, so there is no matching report: the SKUs of "
            "their orders are matched to Odoo products (by SKU, then barcode) as the orders arrive.",
            self._omni_channel_label()))

    def _omni_catch_up_cron(self):
        """The cron that polls this channel's orders (connectors return theirs)."""
        self.ensure_one()
        return self.env["ir.cron"]

    def _omni_catch_up_resource(self):
        """The polling checkpoint's resource type of this channel's orders (connectors return theirs)."""
        self.ensure_one()
        return "orders"

    def _omni_catch_up(self, since):
        self.ensure_one()
        cron = self._omni_catch_up_cron()
        if not cron:
            raise UserError(self.env._("%s channels have no order polling: there is nothing to import, orders "
                                       "come in as the channel sends them to Odoo.", self._omni_channel_label()))
        # A paged poll under way is dropped: the catch-up reads its whole window from the start.
        self._omni_checkpoint_set(self._omni_catch_up_resource(), checkpoint=since, resume_state=False)
        self.catch_up_since = since
        cron._trigger()
        self.message_post(body=self.env._("Catch-up import of the orders updated since %s started.", since))

    def _omni_explain_connection_error(self, error):
        """A person's message for a failed "Test connection": which of wrong token, wrong shop,
        missing scope or unreachable it is, with what to do, and the channel's own words."""
        text = getattr(error, "message", None) or str(error)
        kind = "transient" if isinstance(error, TransientError) else None
        for name, pattern in _FAILURES:
            if pattern.search(text):
                kind = name
                break
        advice = {
            "unreachable": self.env._("The channel cannot be reached: check the address (shop domain, base URL) "
                                      "and that this server may connect to it."),
            "scope": self.env._("The credentials are valid but lack a permission (scope): grant the app the "
                                "scopes the connector needs, then test again."),
            "token": self.env._("The channel refused the credentials: the access token or API key is wrong, "
                                "expired or revoked."),
            "shop": self.env._("The channel does not know this shop: check the shop domain or account id."),
            "transient": self.env._("The channel did not answer properly (it may be busy): try again in a "
                                    "minute."),
        }.get(kind, self.env._("The connection failed."))
        return kind or "other", f"{advice}\n({text})"

    def _omni_try_connection(self):
        """``(ok, kind, message)`` of the test-connection hook, never raising on channel errors."""
        self.ensure_one()
        try:
            return True, "ok", self._omni_test_connection()
        except (OmniError, UserError, OSError) as error:
            kind, message = self._omni_explain_connection_error(error)
            return False, kind, message
