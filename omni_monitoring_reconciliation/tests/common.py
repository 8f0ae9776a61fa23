"""Shared setup of omni_monitoring_reconciliation's tests: the reconciliation fixtures (order #1042, its refund, the
Shopify Payments payout of 156.87) and the base addon's test channel helpers."""

from datetime import date

from odoo.addons.omni_connector_base.tests.common import OmniTestMixin
from odoo.addons.omni_connector_shopify.lib.payouts import settlement_from_shopify
from odoo.addons.omni_reconciliation.tests.common import ReconciliationCommon, fixture_json

PAYOUT_AMOUNT = 156.87
PAYOUT_DATE = date(2026, 11, 25)


class MonitoringCommon(OmniTestMixin, ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.payout_account = cls._payout_account("shopify_payments", cls.shop_backend, cls.bank_eur,
                                                 currency_id=cls.eur.id, name="Shopify Payments EUR")
        cls.sale_1042 = cls._import_shopify_1042_with_refund(cls.shop_backend)
        cls.order_1043 = cls._order(cls.shop_backend, "5829417095555", 120.0, cls.eur, "#1043")
        cls.payment_1043 = cls._payment(cls.shop_backend, "7301000101", 120.0, cls.eur, "shopify_payments",
                                        when=date(2026, 11, 21), order=cls.order_1043)

    def _post_payout(self, bank_match=True):
        """Import, match and post the 156.87 payout; match it to its bank line when asked."""
        data = settlement_from_shopify(fixture_json("shopify/payout.json"),
                                       fixture_json("shopify/payout_balance_transactions.json"))
        settlement = self.payout_account._omni_import_settlement(data)
        settlement._omni_match()
        settlement._omni_post()
        self.assertEqual(settlement.state, "posted", settlement.state_message)
        statement_line = None
        if bank_match:
            statement_line = self._statement_line(self.bank_eur, PAYOUT_AMOUNT, date(2026, 11, 26),
                                                  label="SHOPIFY PAYMENTS 623721858")
            settlement._omni_bank_match()
            self.assertEqual(settlement.state, "reconciled")
        return settlement, statement_line
