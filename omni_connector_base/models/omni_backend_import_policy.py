"""The order import's money policy on the backend (discounts, totals tolerance).

A separate file from ``omni_backend.py`` (the backend's connection, security and pipeline
settings): these settings belong to the shared order importer.
"""

from odoo import fields, models

from ..canonical.totals import minor_units_tolerance


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
    total_tolerance_units = fields.Integer(
        string="Total Tolerance (minor units)",
        default=1,
        required=True,
        help="Largest difference accepted between Odoo's and the channel's order totals, in minor "
        "units of the order's currency (cents for EUR or USD, yen for JPY, fils for KWD): 1 accepts "
        "0.01 EUR, 1 JPY or 0.001 KWD. A difference within it is booked on a rounding line; beyond "
        "it the order is blocked with both totals shown. Credit notes are checked the same way.",
    )

    rounding_product_id = fields.Many2one(
        help="Product of the rounding line booking a difference within the tolerance. The line is taxed "
        "like the order's lines (the taxes of the lines carrying the largest amount), so Odoo's "
        "untaxed/tax split stays the channel's; untaxed when those lines are untaxed."
    )

    _check_total_tolerance_units = models.Constraint(
        "CHECK(total_tolerance_units >= 0)", "The total tolerance cannot be negative."
    )

    def _omni_total_tolerance(self, currency):
        """The tolerance as an amount of ``currency`` (a ``res.currency``), a Decimal: the
        backend's minor units at the currency's decimal places (Odoo's, which round its totals)."""
        self.ensure_one()
        return minor_units_tolerance(self.total_tolerance_units, currency.decimal_places)
