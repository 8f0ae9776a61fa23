"""Shopify Payments payout 156.87 (tests/fixtures/shopify): import, match, post, bank."""

import copy
from datetime import date

from odoo.tests import tagged

from odoo.addons.omni_connector_shopify.lib.payouts import settlement_from_shopify

from .common import ReconciliationCommon, fixture_json


@tagged("post_install", "-at_install", "omni")
class TestShopifyPayout(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._payout_account("shopify_payments", cls.shop_backend, cls.bank_eur, currency_id=cls.eur.id)
        cls.sale_1042 = cls._import_shopify_1042_with_refund(cls.shop_backend)
        cls.order_1043 = cls._order(cls.shop_backend, "5829417095555", 120.0, cls.eur, "#1043")
        cls.payment_1043 = cls._payment(cls.shop_backend, "7301000101", 120.0, cls.eur, "shopify_payments",
                                        when=date(2026, 11, 21), order=cls.order_1043)
        cls.payout = fixture_json("shopify/payout.json")
        cls.transactions = fixture_json("shopify/payout_balance_transactions.json")

    def _import(self, transactions=None):
        settlement = settlement_from_shopify(self.payout, transactions or self.transactions)
        return self.account._omni_import_settlement(settlement)

    def test_payout_156_87_end_to_end(self):
        settlement = self._import()
        self.assertEqual(settlement.state, "imported")
        self.assertEqual(settlement.currency_id, self.eur)
        self.assertEqual(settlement.expected_amount, 156.87)
        self.assertEqual(settlement.payout_date, date(2026, 11, 25))
        self.assertEqual(settlement.line_count, 4)
        # the breakdown adds up to the deposit
        self.assertAlmostEqual(settlement.sales_total, 190.60, places=2)
        self.assertAlmostEqual(settlement.fees_total, -6.13, places=2)
        self.assertAlmostEqual(settlement.refunds_total, -26.10, places=2)
        self.assertAlmostEqual(settlement.adjustments_total, -1.50, places=2)
        self.assertAlmostEqual(settlement.lines_total, 156.87, places=2)
        self.assertEqual(settlement.balance_difference, 0.0)

        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        payment_1042 = self.sale_1042.omni_payment_ids
        charge = self._line(settlement, "746296001")
        self.assertEqual((charge.match_state, charge.match_method), ("matched", "reference"))
        self.assertEqual(charge.payment_id, payment_1042)
        self.assertEqual(charge.order_id, self.sale_1042)
        self.assertEqual(charge.invoice_id, self.sale_1042.invoice_ids.filtered(lambda m: m.move_type == "out_invoice"))
        refund = self._line(settlement, "746296003")
        credit_note = self.env["account.move"].search([("omni_external_id", "=", "930000001")])
        self.assertEqual(refund.match_state, "matched")
        self.assertEqual(refund.payment_id.memo, "7301000002")
        self.assertEqual(refund.payment_id.payment_type, "outbound")
        self.assertEqual(refund.credit_note_id, credit_note, "the refund of #1042 is matched to its credit note")
        self.assertEqual(refund.order_id, self.sale_1042)
        second = self._line(settlement, "746296002")
        self.assertEqual((second.payment_id, second.order_id), (self.payment_1043, self.order_1043))
        self.assertEqual(self._line(settlement, "746296004").match_state, "not_applicable")

        settlement._omni_post()
        self.assertEqual(settlement.state, "posted")
        move = settlement.move_id
        self.assertBalanced(move)
        self.assertEqual(move.omni_settlement_id, settlement)
        self.assertEqual(move.date, date(2026, 11, 25))
        net = settlement.net_move_line_id
        self.assertEqual(net.account_id, self.account.transit_account_id)
        self.assertEqual((net.currency_id, net.amount_currency), (self.eur, 156.87))
        fees = move.line_ids.filtered(lambda line: line.account_id == self.account.fee_account_id)
        self.assertAlmostEqual(sum(fees.mapped("amount_currency")), 6.13, places=2)
        adjustments = move.line_ids.filtered(lambda line: line.account_id == self.account.adjustment_account_id)
        self.assertAlmostEqual(sum(adjustments.mapped("amount_currency")), 1.50, places=2)
        # the order-time payments left the clearing accounts
        for payment in (payment_1042, self.payment_1043, refund.payment_id):
            clearing = payment.move_id.line_ids.filtered(lambda line, p=payment: line.account_id ==
                                                         p.outstanding_account_id)
            self.assertTrue(clearing.reconciled, f"{payment.memo} is cleared")
        self.assertEqual(charge.account_id, payment_1042.outstanding_account_id)
        self.assertTrue(charge.move_line_id)

        statement_line = self._statement_line(self.bank_eur, 156.87, date(2026, 11, 26),
                                              label="SHOPIFY PAYMENTS 623721858")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.statement_line_id, statement_line)
        self.assertEqual(settlement.bank_match_method, "label")
        self.assertTrue(statement_line.is_reconciled)
        self.assertTrue(net.reconciled)
        self.assertFalse(self._open_exceptions(settlement))

    def test_reimport_is_idempotent(self):
        first = self._import()
        line_ids = first.line_ids.ids
        digest = first.payload_digest
        second = self._import()
        self.assertEqual(second, first)
        self.assertEqual(first.line_ids.ids, line_ids)
        self.assertEqual(first.payload_digest, digest)
        first._omni_match()
        first._omni_post()
        move = first.move_id
        again = self._import()
        self.assertEqual(again, first)
        self.assertEqual((first.state, first.move_id), ("posted", move), "re-import after posting changes nothing")
        self.assertEqual(self.Settlement.search_count([("external_id", "=", "623721858")]), 1)
        self.assertFalse(self._open_exceptions(first))

    def test_lines_not_adding_up_open_an_exception_with_both_numbers(self):
        transactions = copy.deepcopy(self.transactions)
        transactions["transactions"] = [t for t in transactions["transactions"] if t["type"] != "adjustment"]
        settlement = self._import(transactions)
        self.assertEqual((settlement.state, settlement.block_reason), ("exception", "balance"))
        self.assertAlmostEqual(settlement.balance_difference, 1.50, places=2)
        exception = self._open_exceptions(settlement)
        self.assertEqual(len(exception), 1)
        self.assertIn("158.37", exception.message)
        self.assertIn("156.87", exception.message)
        self.assertEqual(exception.category, "reconciliation")
        settlement._omni_match()
        self.assertEqual(settlement.state, "exception", "a payout that does not add up is never matched or posted")
        # a corrected payout at the source replaces the lines while not posted
        fixed = self._import()
        self.assertEqual(fixed, settlement)
        self.assertEqual(settlement.state, "imported")
        self.assertEqual(settlement.line_count, 4)

    def test_balancing_line_lets_the_deposit_win(self):
        transactions = copy.deepcopy(self.transactions)
        transactions["transactions"] = [t for t in transactions["transactions"] if t["type"] != "adjustment"]
        settlement = self._import(transactions)
        settlement.action_add_balancing_line()
        self.assertEqual(settlement.state, "imported")
        self.assertEqual(settlement.balance_difference, 0.0)
        self.assertFalse(self._open_exceptions(settlement, "158.37"))
        settlement.action_post()
        self.assertEqual(settlement.state, "posted")
        self.assertBalanced(settlement.move_id)

    def test_detailed_posting_mode(self):
        self.account.posting_mode = "detailed"
        settlement = self._import()
        settlement.action_post()
        move = settlement.move_id
        self.assertBalanced(move)
        # 4 lines' gross + 2 fees + the net
        self.assertEqual(len(move.line_ids), 7)
        charge = self._line(settlement, "746296001")
        self.assertEqual(charge.move_line_id.partner_id, self.sale_1042.partner_invoice_id.commercial_partner_id)
        self.assertAlmostEqual(charge.move_line_id.amount_currency, -70.60, places=2)

    def test_reset_cancels_the_entry_and_reopens_the_payments(self):
        settlement = self._import()
        settlement.action_post()
        move = settlement.move_id
        payment = self.sale_1042.omni_payment_ids
        settlement.action_reset()
        self.assertEqual(move.state, "cancel")
        self.assertEqual(settlement.state, "matched")
        clearing = payment.move_id.line_ids.filtered(lambda line: line.account_id == payment.outstanding_account_id)
        self.assertFalse(clearing.reconciled)
        settlement.action_post()
        self.assertEqual(settlement.state, "posted")

    def test_large_payout_clears_in_several_entries(self):
        """Beyond the chunk size (1,000 payments; 1 here) the payments are cleared by entries of their own."""
        settlement = self._import()
        settlement._omni_match()
        settlement.with_context(omni_clearing_chunk=1)._omni_post()
        moves = self.env["account.move"].search([("omni_settlement_id", "=", settlement.id)])
        self.assertEqual(len(moves), 4, "the payout's entry + one clearing entry per payment (2 charges, 1 refund)")
        for move in moves:
            self.assertBalanced(move)
        transit = moves.line_ids.filtered(lambda line: line.account_id == self.account.transit_account_id)
        self.assertAlmostEqual(sum(transit.mapped("amount_currency")), 156.87, places=2)
        for payment in (self.sale_1042.omni_payment_ids, self.payment_1043):
            clearing = payment.move_id.line_ids.filtered(lambda line, p=payment: line.account_id ==
                                                         p.outstanding_account_id)
            self.assertTrue(clearing.reconciled)
        self.assertEqual(self._line(settlement, "746296001").move_line_id.move_id.ref,
                         f"{settlement.name}: clearing 1/3")
        statement_line = self._statement_line(self.bank_eur, 156.87, date(2026, 11, 25), label="623721858")
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertTrue(statement_line.is_reconciled)
        self.assertTrue(all(transit.mapped("reconciled")))
        settlement.action_reset()
        self.assertEqual(set(moves.mapped("state")), {"cancel"})
