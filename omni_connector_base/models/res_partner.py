from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Odoo does not index the normalized email; every new channel customer is looked up by it
    # (importer: binding, then normalized email), which without this index reads every contact.
    _omni_email_normalized_index = models.Index("(email_normalized) WHERE email_normalized IS NOT NULL")
