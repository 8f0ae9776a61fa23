"""Shopify Payments payouts for reconciliation: the listing and ``_omni_fetch_settlements``."""

import functools
import logging
from datetime import timedelta

from odoo import models

from ..lib.client import (
    BALANCE_TRANSACTION_PAGE_SIZE,
    PAYOUT_PAGE_SIZE,
)
from ..lib.mapper_graphql import graphql_payout_id, settlement_from_graphql
from .omni_backend import BULK_IMPORT_MAX_WAIT

_logger = logging.getLogger(__name__)

# Shopify Payments payouts are listed by issue date but imported once paid, usually one to
# four bank days later: each fetch also looks this many days before ``since``, so a payout
# issued before the previous import and paid since is not missed. Known payouts cost nothing
# more than a line in the list (their transactions are not read again).
PAYOUT_SETTLE_DAYS = 10


class OmniBackend(models.Model):
    _inherit = "omni.backend"  # files by role; pylint: disable=consider-merging-classes-inherited

    def _omni_can_fetch_settlements(self):
        if self.channel != "shopify":
            return super()._omni_can_fetch_settlements()
        return True

    def _omni_fetch_settlements(self, since=None):
        """Paid Shopify Payments payouts issued since ``since`` minus ``PAYOUT_SETTLE_DAYS``, as
        ``[(payout id, loader)]``, ``loader()`` reading the payout's balance transactions and
        mapping them to a canonical settlement (``lib.mapper_graphql.settlement_from_graphql``).

        Only ``paid`` payouts are taken: the money is on the bank account and the payout will not
        change any more. Scheduled ones (Shopify's GraphQL API folded "in transit" into
        "scheduled") may still fail or be cancelled, and a payout once imported is not fetched
        again, so importing it early would leave its later failure unseen; it is imported by the
        first run after it is paid. Failed and cancelled payouts are never imported (their money
        comes back in a later payout as a payout failure line).
        """
        if self.channel != "shopify":
            return super()._omni_fetch_settlements(since)
        self.ensure_one()
        look_back = since - timedelta(days=PAYOUT_SETTLE_DAYS) if since else None
        payouts = []
        for payout, load_transactions in self._omni_shopify_payouts(look_back):
            if payout["status"] != "paid":
                continue
            payouts.append((payout["id"], (
                lambda node=payout["node"], load=load_transactions: settlement_from_graphql(node, load()))))
        return payouts

    def _omni_shopify_payouts(self, since=None):
        """The shop's Shopify Payments payouts issued since ``since`` (a date or datetime; None:
        all), oldest first, as ``[(payout, load_transactions), ...]``.

        ``payout`` is ``{"id": legacy id, "status": lower-case status, "node": the
        ShopifyPaymentsPayout node}`` (all statuses: the caller decides which ones it takes);
        ``load_transactions()`` reads that payout's balance transaction nodes only when called
        (``lib.mapper_graphql.settlement_from_graphql`` maps both), so a payout the
        caller already knows costs no further request. This is what the reconciliation addon
        (``omni_reconciliation``, which does not depend on this one) calls for a payout
        account whose channel is this backend. Needs the app scope
        ``read_shopify_payments_payouts``; raises the client's errors (channel API errors,
        Shopify Payments not active on the shop).
        """
        self.ensure_one()
        self._shopify_check_channel()
        client = self._shopify_client()
        if since is None:
            since_day = "1970-01-01"
        else:
            since_day = since.date() if hasattr(since, "date") else since
        try:
            payouts = list(client.iter_payouts(since_day, page_size=PAYOUT_PAGE_SIZE, max_wait=BULK_IMPORT_MAX_WAIT))
        finally:
            self._shopify_save_client_state(client)
        _logger.info("Shopify backend %s: %s payouts issued since %s", self.id, len(payouts), since_day)
        return [
            (
                {"id": graphql_payout_id(node), "status": str(node.get("status") or "").lower(), "node": node},
                functools.partial(self._shopify_payout_transactions, graphql_payout_id(node)),
            )
            for node in payouts
        ]

    def _shopify_payout_transactions(self, payout_id):
        """Every balance transaction node of one payout (see ``_omni_shopify_payouts``)."""
        self.ensure_one()
        client = self._shopify_client()
        return list(client.iter_balance_transactions(payout_id, page_size=BALANCE_TRANSACTION_PAGE_SIZE,
                                                     max_wait=BULK_IMPORT_MAX_WAIT))

