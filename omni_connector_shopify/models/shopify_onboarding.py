"""Shopify's onboarding hooks (the base's Connect a channel wizard, product matching report and
catch-up import use them; see ``omni_connector_base/wizard/omni_onboarding_hooks.py``)."""

from datetime import timedelta
from decimal import Decimal

from odoo import fields, models

from .omni_backend import BULK_IMPORT_MAX_WAIT

TAX_SAMPLE_DAYS = 60  # recent orders read to learn the shop's tax rates
TAX_SAMPLE_ORDERS = 50


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _omni_channel_products(self):
        if self.channel != "shopify":
            return super()._omni_channel_products()
        self.ensure_one()
        return [
            {"external_id": variant["legacy_id"], "sku": variant["sku"], "barcode": variant["barcode"],
             "name": variant["title"]}
            for variant in self._shopify_action_call("iter_variants", max_wait=BULK_IMPORT_MAX_WAIT)
        ]

    def _omni_channel_tax_rates(self):
        """The rates of the shop's recent orders (Shopify has no list of rates to read): each distinct
        (rate in percent, taxes included) of their lines and shipping lines."""
        if self.channel != "shopify":
            return super()._omni_channel_tax_rates()
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(days=TAX_SAMPLE_DAYS)
        rates = set()
        orders = self._shopify_action_call("iter_orders_updated_since", since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for count, node in enumerate(orders, start=1):
            included = bool(node.get("taxesIncluded"))
            lines = list((node.get("lineItems") or {}).get("nodes") or [])
            lines += list((node.get("shippingLines") or {}).get("nodes") or [])
            for line in lines:
                for tax in line.get("taxLines") or []:
                    if tax.get("rate") is not None:
                        rates.add((float(Decimal(str(tax["rate"])) * 100), included))
            if count >= TAX_SAMPLE_ORDERS:
                break
        return sorted(rates)

    def _omni_catch_up_cron(self):
        if self.channel != "shopify":
            return super()._omni_catch_up_cron()
        return self.env.ref("omni_connector_shopify.cron_shopify_poll_orders")

    def _omni_catch_up(self, since):
        if self.channel == "shopify" and not self.shopify_poll_enabled:
            self.shopify_poll_enabled = True  # the catch-up is the poll, from an earlier checkpoint
        return super()._omni_catch_up(since)
