"""The order importer's products and prices: products by binding, SKU or barcode; the
pricelist in the order's currency (channel prices are kept as sold, the pricelist only
carries the currency)."""

from odoo import models
from odoo.exceptions import MissingError
from odoo.tools import ormcache

from ..pipeline.errors import BusinessError


class OmniOrderImporterProducts(models.AbstractModel):
    # One model in files by role, on purpose (see omni_order_importer.py).
    _inherit = "omni.order.importer"  # pylint: disable=consider-merging-classes-inherited

    def _omni_resolve_products(self, backend, order, planned_products):
        """Binding (variant id), then SKU (internal reference), then barcode; else blocked."""
        Product = self.env["product.product"].with_company(backend.company_id)
        Binding = self.env["omni.binding"]
        by_variant = Binding._omni_lookup(backend, "product.product", [p.variant_external_id for p in planned_products])
        resolved, missing = {}, []
        for planned_line in planned_products:
            product = by_variant.get(planned_line.variant_external_id or "")
            if product:
                resolved[planned_line.external_id] = product
            else:
                missing.append(planned_line)
        # SKUs a person mapped by hand (the product's own reference differs)
        by_mapped_sku = Binding._omni_lookup(backend, "product.product", [f"sku:{p.sku}" for p in missing if p.sku])
        still_missing = []
        for planned_line in missing:
            product = by_mapped_sku.get(f"sku:{planned_line.sku}")
            if product:
                resolved[planned_line.external_id] = product
            else:
                still_missing.append(planned_line)
        missing = still_missing
        skus = {p.sku for p in missing if p.sku}
        by_sku = {}
        if skus:
            for product in Product.search([("default_code", "in", list(skus))]):
                by_sku.setdefault(product.default_code, product)
        barcodes = {p.barcode for p in missing if p.barcode and p.sku not in by_sku}
        by_barcode = {}
        if barcodes:
            by_barcode = {product.barcode: product for product in Product.search([("barcode", "in", list(barcodes))])}
        unknown, new_bindings = [], []
        for planned_line in missing:
            product = by_sku.get(planned_line.sku) or by_barcode.get(planned_line.barcode or "")
            if not product:
                unknown.append(planned_line)
                continue
            resolved[planned_line.external_id] = product
            if planned_line.variant_external_id:
                new_bindings.append((product, planned_line.variant_external_id))
        Binding._omni_bind_many(backend, new_bindings)
        if unknown:
            first = unknown[0]
            label = first.sku or first.barcode or first.variant_external_id or first.name
            message = self.env._(
                "Unknown SKU %(sku)s on order %(order)s (%(name)s). Map it to a product or create the "
                "product, then retry.",
                sku=label,
                order=order.name,
                name=first.name,
            )
            if unknown[1:]:
                message += "\n" + self.env._("Also unknown: %s", ", ".join(p.sku or p.name for p in unknown[1:]))
            raise BusinessError(
                message,
                category="mapping",
                actions=("map_product", "create_product"),
                data={
                    "lines": [
                        {
                            "sku": p.sku,
                            "barcode": p.barcode,
                            "variant_external_id": p.variant_external_id,
                            "name": p.name,
                            "price": str(p.price_unit),
                        }
                        for p in unknown
                    ],
                    "order": order.name,
                },
            )
        return resolved

    # ---------------------------------------------------------------- currency

    def _omni_pricelist(self, backend, currency_code):
        """A pricelist in the order's currency: the backend's, a mapped one, or one made for it.

        Found once per process and currency (every order needs it); one archived or changed since
        is looked up again."""
        cached = self.env["product.pricelist"].browse(self._omni_pricelist_id(backend.id, currency_code))
        try:
            usable = bool(cached) and cached.active and cached.currency_id.name == currency_code \
                and cached.currency_id.active
        except MissingError:  # deleted since it was cached
            usable = False
        if usable:
            return cached
        pricelist = self._omni_find_or_make_pricelist(backend, currency_code)
        if pricelist != cached:
            self.env.registry.clear_cache()  # the cached answer is outdated
        return pricelist

    @ormcache("backend_id", "currency_code")
    def _omni_pricelist_id(self, backend_id, currency_code):
        """Id of an existing pricelist for the (active) currency, 0 when one must be made or activated."""
        backend = self.env["omni.backend"].browse(backend_id)
        currency = self.env["res.currency"].search([("name", "=", currency_code)], limit=1)
        return self._omni_existing_pricelist(backend, currency).id if currency else 0

    def _omni_existing_pricelist(self, backend, currency):
        """The backend's pricelist when in ``currency``, else the company's (or a shared) one in it."""
        if backend.pricelist_id and backend.pricelist_id.currency_id == currency:
            return backend.pricelist_id
        return self.env["product.pricelist"].with_company(backend.company_id).search(
            [("currency_id", "=", currency.id), ("company_id", "in", (backend.company_id.id, False))], limit=1
        )

    def _omni_find_or_make_pricelist(self, backend, currency_code):
        currency = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", currency_code)], limit=1)
        )
        if not currency:
            raise BusinessError(self.env._("Unknown currency %s.", currency_code), category="validation")
        if not currency.active:
            if backend.currency_policy == "block":
                raise BusinessError(self.env._("Currency %s is not active in Odoo.", currency_code), category="mapping")
            currency.sudo().active = True
        pricelist = self._omni_existing_pricelist(backend, currency)
        if pricelist:
            return pricelist
        if backend.currency_policy == "block":
            raise BusinessError(
                self.env._("No pricelist in %s: create one or allow the backend to create it.", currency_code),
                category="mapping",
            )
        return self.env["product.pricelist"].with_company(backend.company_id).create(
            {"name": f"{backend.name} {currency.name}", "currency_id": currency.id, "company_id": backend.company_id.id}
        )
