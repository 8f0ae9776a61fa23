"""Omnichannel > Configuration > Connect a channel: one wizard for every channel.

Steps: channel and name -> credentials (the connector's ``_omni_connection_fields``) and Test
connection -> warehouse, pricelist, sales team -> taxes (the channel's rates, the Odoo taxes
proposed for them, missing ones created on request) -> webhooks -> product matching report ->
first import. Every step works through the backend's hooks, so a new connector gets the wizard by
implementing them.
"""

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

STEPS = [
    ("channel", "Channel"),
    ("credentials", "Credentials"),
    ("settings", "Warehouse & Sales"),
    ("taxes", "Taxes"),
    ("webhooks", "Webhooks"),
    ("products", "Products"),
    ("import", "First Import"),
]
# Connection fields never asked for in the wizard (set by the client, or technical overrides).
_HIDDEN = {"shopify_api_version_answered"}


def _channel_selection(self):
    """Every channel a connector adds, and the custom storefront; not the diagnostic test channel."""
    channels = self.env["omni.backend"]._fields["channel"]._description_selection(self.env)
    return [(key, label) for key, label in channels if key != "test"]


class OmniConnectWizard(models.TransientModel):
    _name = "omni.connect.wizard"
    _description = "Connect a channel"

    step = fields.Selection(STEPS, default="channel", required=True)
    name = fields.Char(string="Channel Name", help="How the channel is called in Odoo, e.g. 'Acme (Shopify)'.")
    channel = fields.Selection(_channel_selection, help="The kind of channel to connect.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    backend_id = fields.Many2one("omni.backend", readonly=True)
    credential_ids = fields.One2many("omni.connect.wizard.credential", "wizard_id", string="Credentials")
    connection_ok = fields.Boolean(readonly=True)
    connection_message = fields.Text(readonly=True, help="What the last Test connection found.")
    warehouse_id = fields.Many2one("stock.warehouse", check_company=True,
                                   help="Warehouse that ships the channel's orders and whose stock goes back to it.")
    pricelist_id = fields.Many2one("product.pricelist", check_company=True,
                                   help="Pricelist of the channel's orders (empty: one per currency, made as needed).")
    team_id = fields.Many2one("crm.team", string="Sales Team", check_company=True,
                              help="Sales team the channel's orders belong to.")
    tax_line_ids = fields.One2many("omni.connect.wizard.tax", "wizard_id", string="Tax Rates")
    webhook_message = fields.Text(readonly=True)
    match_id = fields.Many2one("omni.product.match", string="Matching Report", readonly=True)
    match_summary = fields.Char(related="match_id.summary")
    match_message = fields.Text(readonly=True, help="Why there is no matching report, when there is none.")
    import_since = fields.Datetime(
        default=lambda self: fields.Datetime.subtract(fields.Datetime.now(), days=7),
        help="The first import reads the orders updated since this moment (in the background, resumable).")
    import_message = fields.Text(readonly=True)

    # ------------------------------------------------------------ navigation
    def _reopen(self):
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "new", "name": self.env._("Connect a channel")}

    def _go(self, step):
        self.step = step
        return self._reopen()

    def action_back(self):
        keys = [key for key, _label in STEPS]
        return self._go(keys[max(0, keys.index(self.step) - 1)])

    def action_next(self):
        self.ensure_one()
        handler = getattr(self, f"_leave_{self.step}")
        next_step = handler()
        return self._go(next_step)

    # ----------------------------------------------------------------- steps
    def _leave_channel(self):
        if not (self.name and self.channel):
            raise UserError(self.env._("Give the channel a name and choose its kind."))
        if not self.backend_id:
            self.backend_id = self.env["omni.backend"].create(
                {"name": self.name, "channel": self.channel, "company_id": self.company_id.id})
        self._load_credentials()
        self.warehouse_id = self.backend_id.warehouse_id
        return "credentials"

    def _load_credentials(self):
        backend = self.backend_id.sudo()
        wanted = backend._omni_connection_fields() - _HIDDEN
        names = [name for name in backend._fields if name in wanted]  # the model's order
        Line = self.env["omni.connect.wizard.credential"]
        lines = []
        for name in names:
            if backend._fields[name].type not in ("char", "selection", "text"):
                continue
            secret = Line._omni_is_secret(name)
            # a secret is never read back into the wizard: left empty, the stored one is kept
            lines.append(Command.create({"field_name": name, "value": False if secret else backend[name] or False}))
        self.credential_ids = [Command.clear(), *lines]

    def _write_credentials(self):
        values = {}
        for line in self.credential_ids:
            if line.is_secret:
                if line.secret_value:
                    values[line.field_name] = line.secret_value
            else:
                values[line.field_name] = line.value or False
        if values:
            self.backend_id.sudo().write(values)

    def action_test_connection(self):
        self.ensure_one()
        self._write_credentials()
        ok, _kind, message = self.backend_id._omni_try_connection()
        self.write({"connection_ok": ok, "connection_message": message})
        return self._reopen()

    def _leave_credentials(self):
        self._write_credentials()
        if not self.connection_ok:
            ok, _kind, message = self.backend_id._omni_try_connection()
            self.write({"connection_ok": ok, "connection_message": message})
            if not ok:
                raise UserError(message)
        return "settings"

    def _leave_settings(self):
        self.backend_id.write({"warehouse_id": self.warehouse_id.id, "pricelist_id": self.pricelist_id.id,
                               "team_id": self.team_id.id})
        self.action_detect_taxes()
        return "taxes"

    def action_detect_taxes(self):
        """Read the channel's rates and propose, for each, the Odoo sales tax of that rate and price mode."""
        self.ensure_one()
        known = {(round(line.rate, 6), line.price_include) for line in self.tax_line_ids}
        lines = []
        for rate, included in self.backend_id._omni_channel_tax_rates():
            if (round(rate, 6), bool(included)) in known:
                continue
            tax = self.backend_id._omni_find_tax_id(rate, bool(included))
            lines.append(Command.create({"rate": rate, "price_include": bool(included), "tax_id": tax or False,
                                         "create_missing": not tax}))
        self.tax_line_ids = lines
        return self._reopen()

    def _leave_taxes(self):
        Tax = self.env["account.tax"].with_company(self.company_id)
        for line in self.tax_line_ids:
            if not line.tax_id and line.create_missing:
                line.tax_id = Tax.create({
                    "name": self.env._("%(rate)s%% %(mode)s", rate=round(line.rate, 4),
                                       mode=self.env._("incl.") if line.price_include else self.env._("excl.")),
                    "amount": line.rate, "amount_type": "percent", "type_tax_use": "sale",
                    "price_include_override": "tax_included" if line.price_include else "tax_excluded",
                    "company_id": self.company_id.id,
                })
            if not line.tax_id:
                raise UserError(self.env._("Choose an Odoo tax for the rate %s or tick Create.",
                                           round(line.rate, 4)))
        existing = {(round(m.rate, 6), m.price_include): m for m in self.backend_id.tax_map_ids}
        for line in self.tax_line_ids:
            mapping = existing.get((round(line.rate, 6), line.price_include))
            if mapping:
                mapping.tax_id = line.tax_id
            else:
                self.env["omni.tax.map"].create({"backend_id": self.backend_id.id, "rate": line.rate,
                                                 "price_include": line.price_include, "tax_id": line.tax_id.id})
        return "webhooks"

    def action_register_webhooks(self):
        self.ensure_one()
        try:
            counts = self.backend_id._omni_register_webhooks()
        except UserError as error:
            self.webhook_message = str(error.args[0])
            return self._reopen()
        self.webhook_message = self.env._(
            "Webhooks point to %(url)s: %(created)s created, %(updated)s re-pointed, %(unchanged)s already there.",
            url=self.backend_id.webhook_url, created=counts.get("created", 0), updated=counts.get("updated", 0),
            unchanged=counts.get("unchanged", 0))
        return self._reopen()

    def _leave_webhooks(self):
        self.action_build_matching()
        return "products"

    def action_build_matching(self):
        self.ensure_one()
        try:
            self.match_id = self.env["omni.product.match"]._omni_build(self.backend_id)
            self.match_message = False
        except UserError as error:
            self.match_message = str(error.args[0])
        return self._reopen()

    def action_open_matching(self):
        self.ensure_one()
        if not self.match_id:
            self.action_build_matching()
        return self.match_id.action_open_lines()

    def _leave_products(self):
        return "import"

    def action_first_import(self):
        self.ensure_one()
        try:
            self.backend_id._omni_catch_up(self.import_since)
        except UserError as error:
            self.import_message = str(error.args[0])
            return self._reopen()
        self.import_message = self.env._(
            "Orders updated since %s are being imported in the background (Omnichannel: the channel's poll "
            "job); they appear under Sales as they arrive.", self.import_since)
        return self._reopen()

    def action_finish(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "omni.backend", "res_id": self.backend_id.id,
                "view_mode": "form", "target": "current"}


class OmniConnectWizardCredential(models.TransientModel):
    _name = "omni.connect.wizard.credential"
    _description = "Connect a channel: credential"

    wizard_id = fields.Many2one("omni.connect.wizard", required=True, ondelete="cascade")
    field_name = fields.Char(required=True, readonly=True)
    label = fields.Char(compute="_compute_label", help="The backend's field this value goes to.")
    help = fields.Text(compute="_compute_label")
    is_secret = fields.Boolean(compute="_compute_label")
    value = fields.Char(help="Written to the backend when you test the connection or go on.")
    secret_value = fields.Char(string="Secret", help="Written to the backend; left empty, the stored secret is kept.")

    @api.model
    def _omni_is_secret(self, field_name):
        field = self.env["omni.backend"]._fields.get(field_name)
        return bool(field and field.groups == "base.group_system"
                    and any(word in field_name for word in ("token", "secret", "key", "password")))

    @api.depends("field_name")
    def _compute_label(self):
        Backend = self.env["omni.backend"]
        for line in self:
            field = Backend._fields.get(line.field_name)
            line.label = field.string if field else line.field_name
            line.help = (field.help or "") if field else ""
            if field and field.type == "selection":
                choices = field._description_selection(self.env)
                keys = ", ".join(f"{key} ({label})" for key, label in choices)
                line.help += " " + self.env._("Type one of: %s.", keys)
            line.is_secret = self._omni_is_secret(line.field_name)


class OmniConnectWizardTax(models.TransientModel):
    _name = "omni.connect.wizard.tax"
    _description = "Connect a channel: tax rate"

    wizard_id = fields.Many2one("omni.connect.wizard", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="wizard_id.company_id")
    rate = fields.Float(string="Rate (%)", digits=(6, 4), help="The channel's tax rate in percent, e.g. 19 for 19 %.")
    price_include = fields.Boolean(string="Tax Included", help="Whether the channel's prices include it.")
    tax_id = fields.Many2one("account.tax", string="Odoo Tax", check_company=True,
                             domain="[('type_tax_use', '=', 'sale'), ('company_id', '=', company_id)]",
                             help="The Odoo sales tax orders of this rate get. Proposed by rate and price mode.")
    create_missing = fields.Boolean(string="Create", help="Create a sales tax of this rate when you go on.")
