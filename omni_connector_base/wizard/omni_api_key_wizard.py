"""Creates a custom-channel API key and shows it once."""

from odoo import fields, models


class OmniApiKeyWizard(models.TransientModel):
    """Create an API key and show it once.

    The first step asks for a name; ``action_generate`` creates the key and opens the second
    step, an unsaved form whose ``key`` field is filled from the action context. ``key`` is
    not stored, so the full key never reaches the database, not even the wizard's table.
    """

    _name = "omni.api.key.wizard"
    _description = "Omnichannel API Key Creation"

    backend_id = fields.Many2one(
        "omni.backend",
        required=True,
        ondelete="cascade",
        domain=[("channel", "=", "custom")],
        help="Custom-channel backend the new key will post to.",
    )
    name = fields.Char(
        required=True,
        help="What will use this key, e.g. 'Berlin POS' or 'B2B portal'.",
    )
    api_key_id = fields.Many2one(
        "omni.api.key",
        string="API Key",
        readonly=True,
        help="The key just created (its full value is shown below, once).",
    )
    key = fields.Char(
        store=False,
        readonly=True,
        help="The full key. Copy it now: Odoo keeps only a digest and cannot show it again.",
    )
    api_url = fields.Char(
        related="backend_id.api_url",
        help="Base address of the API for this backend.",
    )

    def action_generate(self):
        """Create the key, then show it once in a dialog that is never saved."""
        self.ensure_one()
        record, full_key = self.env["omni.api.key"]._omni_generate(self.backend_id, self.name)
        backend, name = self.backend_id, self.name
        self.unlink()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("API Key Created"),
            "res_model": "omni.api.key.wizard",
            "view_mode": "form",
            "views": [(self.env.ref("omni_connector_base.view_omni_api_key_wizard_show_form").id, "form")],
            "target": "new",
            "context": {
                "default_backend_id": backend.id,
                "default_name": name,
                "default_api_key_id": record.id,
                "default_key": full_key,
            },
        }
