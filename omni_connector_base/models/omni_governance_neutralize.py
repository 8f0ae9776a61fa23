"""Safe database copies: a neutralized copy (``odoo-bin neutralize``, or a restore with
``--neutralize``) runs ``data/neutralize.sql`` of every addon, which sets every backend to
*sandbox*. A sandbox backend never reaches its channel, even if someone re-activates the
crons: outgoing events wait (``_omni_check_pause``), polls and payout fetches do nothing, and
the webhook intake and the custom API's POSTs refuse deliveries (403, nothing stored). A staging copy of production can
then never push stock or refunds to a live shop.
"""

import logging

from odoo import fields, models
from odoo.exceptions import UserError

from ..pipeline.errors import TransientError

_logger = logging.getLogger(__name__)

SANDBOX_RETRY_SECONDS = 3600


class OmniBackendSandbox(models.Model):
    # The sandbox switch of omni.backend, in a file of its own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    sandbox = fields.Boolean(
        string="Sandbox (no channel traffic)",
        copy=False,
        tracking=True,
        groups="base.group_system",
        help="Set on every backend of a neutralized database copy (data/neutralize.sql). While set, nothing "
        "reaches the channel: outgoing events wait, polls and payout fetches do nothing, webhooks and custom "
        "API writes (POST orders, refunds, exchanges) are refused (403). Only a system administrator can clear "
        "it, after pointing the backend at a test shop.",
    )

    def _omni_is_sandbox(self):
        self.ensure_one()
        return bool(self.sudo().sandbox)

    def _omni_check_pause(self, scope):
        if self._omni_is_sandbox():
            raise TransientError(
                self.env._("Sandbox backend (neutralized copy): nothing is pushed to the channel."),
                retry_after=SANDBOX_RETRY_SECONDS,
            )
        return super()._omni_check_pause(scope)

    def _omni_run_poll(self, resource_type):
        if self._omni_is_sandbox():
            _logger.info("omni backend %s is a sandbox: %s poll skipped", self.id, resource_type)
            return 0, 0
        return super()._omni_run_poll(resource_type)

    def _omni_fetch_settlements(self, since=None):
        if self._omni_is_sandbox():
            raise UserError(self.env._("Sandbox backend (neutralized copy): payouts are not fetched."))
        return super()._omni_fetch_settlements(since)
