"""The order import's money policy on the backend (discounts, totals tolerance).

A separate file from ``omni_backend.py`` (the backend's connection, security and pipeline
settings): these settings belong to the shared order importer.
"""

from odoo import fields, models


class OmniBackendImportPolicy(models.Model):
    # The order importer's settings of omni.backend, in a file of their own (see module doc).
    _inherit = "omni.backend"  # pylint: disable=consider-merging-classes-inherited

    discount_mode = fields.Selection(
        help="How channel discounts stay visible on sale orders. Discount % on the order line: each "
        "line's discount percentage, when Odoo's Discount precision can hold it exactly (7.77 off "
        "1,000.00 is 0.777 %, which 2 decimals cannot: such a discount becomes a separate discount "
        "line instead, so the order still costs what the channel charged). Separate discount lines: "
        "always negative lines of the discount product with the discounted line's taxes.",
    )
