"""eBay Finances payouts for reconciliation (``_omni_fetch_settlements``), and their REFUND
transactions fed to the refund intake (one credit note per refund, whichever arrives first)."""

import functools
import json
import logging
from datetime import timedelta

from odoo import api, fields, models

from ..lib import collected_tax
from ..lib.ebay_payouts import settlement_from_ebay
from .ebay_backend import TOPIC_REFUND

_logger = logging.getLogger(__name__)
PAYOUT_LOOK_BACK_DAYS = 7


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _omni_can_fetch_settlements(self):
        if self.channel != "ebay":
            return super()._omni_can_fetch_settlements()
        return True

    def _omni_fetch_settlements(self, since=None):
        """SUCCEEDED payouts since ``since`` minus a week, oldest first, as ``[(payoutId,
        loader)]``; ``loader()`` reads the payout's transactions (signed calls) and maps them
        (``lib.ebay_payouts.settlement_from_ebay``) with the marketplace's collected-tax
        treatment, and queues its REFUND transactions for the refund intake."""
        if self.channel != "ebay":
            return super()._omni_fetch_settlements(since)
        self.ensure_one()
        start = (since - timedelta(days=PAYOUT_LOOK_BACK_DAYS)) if since else fields.Datetime.to_datetime("2000-01-01")
        payouts = list(self._ebay_call("iter_payouts", start, status="SUCCEEDED"))
        _logger.info("eBay backend %s: %s payouts since %s", self.id, len(payouts), start)
        return [(str(payout["payoutId"]), functools.partial(self._ebay_load_payout, payout)) for payout in payouts]

    @api.private
    def _ebay_treatment(self):
        marketplace = self.marketplace_ids.filtered("active")[:1]
        return marketplace.collected_tax_treatment if marketplace else collected_tax.TREATMENT_TAX

    @api.private
    def _ebay_load_payout(self, payout):
        transactions = list(self._ebay_call("iter_transactions", payout["payoutId"]))
        self._ebay_queue_refund_transactions(transactions)
        return settlement_from_ebay(payout, transactions, collected_tax_mode=self._ebay_treatment())

    @api.private
    def _ebay_queue_refund_transactions(self, transactions):
        Event = self.env["omni.event"].sudo()
        headers = json.dumps({"X-Omni-Source": "ebay-finances"})
        stored = 0
        for transaction in transactions:
            if transaction.get("transactionType") != "REFUND" or not transaction.get("transactionId"):
                continue
            body = json.dumps(transaction, sort_keys=True).encode()
            _id, is_new = Event._omni_store_incoming(self, body, {
                "idempotency_key": f"refund:{transaction['transactionId']}", "topic": TOPIC_REFUND,
                "resource_model": "account.move", "resource_key": str(transaction.get("orderId") or ""),
                "source_ts": False}, headers_json=headers)
            stored += int(is_new)
        return stored
