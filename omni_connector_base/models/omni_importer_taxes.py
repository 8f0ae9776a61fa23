"""The order importer's taxes: each channel (rate, tax-included) pair -> an Odoo sale tax."""

from odoo import models

from ..pipeline.errors import BusinessError


class OmniOrderImporterTaxes(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_resolve_taxes(self, backend, order, planned):
        keys = {key for line in planned for key in line.tax_keys}
        taxes, missing = {}, []
        for key in keys:
            tax = backend._omni_tax_for(key.percent, key.included)
            if tax:
                taxes[key] = tax
            else:
                missing.append(key)
        if missing:
            described = ", ".join(
                f"{key.percent} % {self.env._('included') if key.included else self.env._('excluded')}"
                for key in sorted(missing, key=lambda k: (k.percent, k.included))
            )
            raise BusinessError(
                self.env._(
                    "No sale tax for %(taxes)s in %(company)s (order %(order)s). Create the tax or map the rate "
                    "on the backend, then retry.",
                    taxes=described,
                    company=backend.company_id.name,
                    order=order.name,
                ),
                category="mapping",
            )
        return taxes
