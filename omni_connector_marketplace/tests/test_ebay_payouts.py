"""An eBay payout through the Finances API (signed calls) into omni_reconciliation: sales, fees,
a refund, a dispute and a shipping label, matched, posted and bank-matched."""

import copy
from datetime import date

from odoo.tests import tagged

from odoo.addons.omni_connector_base.pipeline.errors import BusinessError

from .ebay_common import EbayCase, fixture

DISPUTE = {
    "transactionId": "5W7A3612XK", "orderId": "09-13021-48877", "payoutId": "6612458093",
    "transactionType": "DISPUTE", "amount": {"value": "10.00", "currency": "USD"}, "bookingEntry": "DEBIT",
    "transactionDate": "2026-11-16T10:00:00.000Z", "transactionStatus": "PAYOUT",
    "references": [{"referenceId": "5312345678", "referenceType": "PAYMENT_DISPUTE_ID"}],
}


@tagged("post_install", "-at_install", "omni", "omni_ebay")
class TestEbayPayouts(EbayCase):
    def setUp(self):
        super().setUp()
        self.seed_fixture_orders()
        self.poll()
        self.process()
        payout = copy.deepcopy(fixture("payout.json")["payouts"][0])
        payout["amount"]["value"] = "76.10"  # the fixture's 86.10 less the dispute
        transactions = [*fixture("transactions.json")["transactions"], DISPUTE]
        self.sim.add_payout(payout, transactions)
        Account = self.env["omni.settlement.account"]
        values = Account._omni_default_values(self.env.company, "ebay", name="eBay US")
        values.update(backend_id=self.backend.id, bank_journal_id=self.company_data["default_journal_bank"].id,
                      import_days=36500)
        self.account = Account.create(values)
        self.account.action_setup_accounts()

    def test_payout_imported_matched_posted_and_bank_matched(self):
        self.assertTrue(self.account._omni_can_fetch())
        self.account.last_import_at = False
        settlement = self.account._omni_import_from_source()
        self.assertEqual(settlement.external_id, "6612458093")
        self.assertEqual(settlement.source, "ebay")
        self.assertAlmostEqual(settlement.expected_amount, 76.10, places=2)
        self.assertEqual(settlement.balance_difference, 0.0)
        self.assertEqual(sorted(settlement.line_ids.mapped("kind")),
                         ["chargeback", "fee", "refund", "sale", "sale", "shipping", "withheld_tax"])
        self.assertAlmostEqual(settlement.withheld_taxes_total, -2.52, places=2)
        self.assertEqual(self.sim.signature_failures, 0)
        self.assertEqual(self.sim.signed_requests, 2, "getPayouts and getTransactions, both signed")
        # the Finances REFUND is queued for the refund intake: one credit note, then the match
        self.process()
        sale = self.sale("17-12984-63051")
        self.assertEqual(len(sale.invoice_ids.filtered(lambda m: m.move_type == "out_refund")), 1)
        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        sale_line = settlement.line_ids.filtered(lambda line: line.external_id == "09-13021-48877")
        self.assertEqual(sale_line.payment_id, self.sale("09-13021-48877").omni_payment_ids)
        settlement._omni_post()
        self.assertEqual(settlement.move_id.state, "posted")
        self.assertAlmostEqual(sum(settlement.move_id.line_ids.mapped("balance")), 0.0, places=6)
        statement_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.company_data["default_journal_bank"].id, "amount": 76.10,
            "date": date(2026, 11, 18), "payment_ref": "EBAY COMMERCE 6612458093"})
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.statement_line_id, statement_line)
        # fetched again: known payouts cost no transaction call
        before = len(self.sim.requests_log)
        self.account.last_import_at = False
        self.account._omni_import_from_source()
        paths = [p for _m, p, _q in self.sim.requests_log[before:]]
        self.assertNotIn("/sell/finances/v1/transaction", paths)

    def test_unsigned_finances_calls_are_refused(self):
        self.backend.sudo().write({"ebay_signing_key": False, "ebay_signing_jwe": False})
        with self.assertRaises(BusinessError) as caught:
            self.backend._omni_fetch_settlements()
        self.assertIn("215120", caught.exception.message)
        self.assertEqual(self.sim.signature_failures, 1)
        self.sim.require_signature = False  # a seller outside the EU/UK
        self.assertEqual([payout_id for payout_id, _loader in self.backend._omni_fetch_settlements()],
                         ["6612458093"])
