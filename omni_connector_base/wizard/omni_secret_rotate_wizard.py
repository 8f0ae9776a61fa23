"""*Rotate Secret* on a channel (system administrators only): the new webhook secret, and how long
the previous one is still accepted (see ``models/omni_governance_rotation.py``)."""

from odoo import api, fields, models

from ..models.omni_governance_rotation import generate_secret


class OmniSecretRotateWizard(models.TransientModel):
    _name = "omni.secret.rotate.wizard"
    _description = "Omnichannel: rotate a channel's webhook secret"

    backend_id = fields.Many2one("omni.backend", required=True, readonly=True, ondelete="cascade")
    new_secret = fields.Char(
        required=True,
        groups="base.group_system",
        default=lambda self: generate_secret(),
        help="The secret the channel signs its webhooks with from now on. Shopify: paste the app's new client "
        "secret (Partner Dashboard or Dev Dashboard, 'Rotate'). WooCommerce, custom channels: keep the generated "
        "one (WooCommerce's webhooks get it from Odoo; give it to a custom channel yourself).",
    )
    grace_hours = fields.Integer(
        string="Grace (h)",
        help="How long deliveries signed with the previous secret are still accepted (and counted). 0: refused "
        "at once.",
    )

    @api.model
    def default_get(self, fields_list):
        self.env["omni.backend"]._omni_check_secret_admin()
        return super().default_get(fields_list)

    def action_rotate(self):
        self.ensure_one()
        self.backend_id._omni_rotate_webhook_secret(self.sudo().new_secret, self.grace_hours)
        return {"type": "ir.actions.act_window_close"}
