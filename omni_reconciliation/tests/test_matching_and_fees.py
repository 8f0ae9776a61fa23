"""Matching and booking defects found by review (issue 10, items 19-22), on real Odoo and PostgreSQL."""

from datetime import date, datetime, timezone
from decimal import Decimal as D

from odoo.tests import tagged

from odoo.addons.omni_connector_base.canonical.settlement import SettlementData, SettlementLineData

from .common import ReconciliationCommon

UTC = timezone.utc
DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _sale(external_id, gross, fee="0", ref=None, **values):
    return SettlementLineData(external_id=external_id, kind="sale", gross=D(gross), fee=D(fee), currency="USD",
                              transaction_ref=ref, occurred_at=DAY, **values)


def _payout(external_id, lines, currency="USD"):
    return SettlementData(source="stripe", external_id=external_id, currency=currency,
                          expected_amount=sum((line.net for line in lines), D(0)), payout_date=date(2026, 11, 22),
                          lines=lines)


@tagged("post_install", "-at_install", "omni")
class TestMatchingAndFees(ReconciliationCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # no clearing journal: the gateway code is all the account knows about the order-time payments
        cls.account = cls._payout_account("stripe", cls.woo_backend, cls.bank_usd)
        assert not cls.account.clearing_journal_id

    def _manual_payment(self, amount, memo, payment_type="inbound", gateway=False):
        """A payment entered by hand on the bank journal: the charge id in its Memo, nothing else."""
        payment = self.env["account.payment"].create({
            "payment_type": payment_type, "partner_type": "customer", "partner_id": self.customer.id,
            "amount": amount, "journal_id": self.bank_usd.id, "date": date(2026, 11, 20), "memo": memo,
            "omni_gateway": gateway})
        payment.action_post()
        self.assertFalse(payment.payment_reference or payment.omni_transaction_id)
        return payment

    # ----------------------------------------------------------------- item 19

    def test_payment_entered_by_hand_matches_on_its_memo(self):
        payment = self._manual_payment(40.00, "ch_manual_1")
        settlement = self.account._omni_import_settlement(_payout("po_memo", [_sale("txn_m1", "40.00", "1.50",
                                                                                    "ch_manual_1")]))
        settlement._omni_match()
        line = self._line(settlement, "txn_m1")
        self.assertEqual((line.match_state, line.match_method, line.payment_id), ("matched", "reference", payment))
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        settlement._omni_post()
        self.assertBalanced(settlement.move_id)
        clearing = payment.move_id.line_ids.filtered(lambda aml: aml.account_id == payment.outstanding_account_id)
        self.assertTrue(clearing.reconciled, "the hand-made payment is cleared by the payout")

    def test_amount_and_date_fallback_proposes_hand_made_payments_without_clearing_journal(self):
        manual = self._manual_payment(25.00, "cash desk 12")
        other_gateway = self._manual_payment(25.00, "shop 12", gateway="shopify_payments")
        settlement = self.account._omni_import_settlement(_payout("po_fallback", [_sale("txn_m2", "25.00", "0.80",
                                                                                        "ch_unknown_2")]))
        settlement._omni_match()
        line = self._line(settlement, "txn_m2")
        self.assertEqual((line.match_state, line.match_method), ("suggested", "amount_date"))
        self.assertEqual(line.suggested_payment_ids, manual, "another gateway's payment is never proposed")
        self.assertNotIn(other_gateway, line.suggested_payment_ids)

    # ----------------------------------------------------------------- item 20

    def test_refund_failure_is_linked_to_its_refund_payment(self):
        sale_payment = self._payment(self.woo_backend, "ch_rf_1", 50.00, when=date(2026, 11, 18))
        refund_payment = self._payment(self.woo_backend, "re_rf_1", 20.00, payment_type="outbound",
                                       when=date(2026, 11, 19))
        lines = [
            _sale("txn_rf_sale", "50.00", "1.75", "ch_rf_1"),
            SettlementLineData(external_id="txn_rf_refund", kind="refund", gross=D("-20.00"), currency="USD",
                               transaction_ref="ch_rf_1", refund_ref="re_rf_1", occurred_at=DAY),
            SettlementLineData(external_id="txn_rf_failure", kind="refund_failure", gross=D("20.00"),
                               currency="USD", transaction_ref="ch_rf_1", refund_ref="re_rf_1", occurred_at=DAY),
        ]
        settlement = self.account._omni_import_settlement(_payout("po_refund_failure", lines))
        settlement._omni_match()
        refund, failure = self._line(settlement, "txn_rf_refund"), self._line(settlement, "txn_rf_failure")
        self.assertEqual((refund.match_state, refund.payment_id), ("matched", refund_payment))
        self.assertEqual((failure.match_state, failure.match_method), ("matched", "reference"))
        self.assertEqual(failure.payment_id, refund_payment, "the failed refund belongs to the refund's payment")
        self.assertEqual(failure.partner_id, refund_payment.partner_id)
        self.assertEqual(self._line(settlement, "txn_rf_sale").payment_id, sale_payment)
        settlement._omni_post()
        move = settlement.move_id
        self.assertBalanced(move)
        # the refund line cleared the refund payment; the money coming back is credited to the refund
        # clearing account with the customer, for a person to refund again
        refund_item = refund_payment.move_id.line_ids.filtered(
            lambda aml: aml.account_id == refund_payment.outstanding_account_id)
        self.assertTrue(refund_item.reconciled)
        back = move.line_ids.filtered(lambda aml: aml.account_id == self.account.refund_clearing_account_id
                                      and aml.credit)
        self.assertAlmostEqual(sum(back.mapped("credit")), 20.00, places=2)

    # ----------------------------------------------------------------- item 21

    def test_fee_report_and_ledger_agree_on_a_partial_fee_breakdown(self):
        # Stripe itemises 2.90 of a 3.20 fee; a separate fee line of 1.00
        lines = [
            _sale("txn_fee_sale", "100.00", "3.20", "ch_fee_1", fee_breakdown={"stripe_fee": D("2.90")}),
            SettlementLineData(external_id="txn_fee_radar", kind="fee", gross=D("-1.00"), currency="USD",
                               description="Radar", occurred_at=DAY),
        ]
        self._payment(self.woo_backend, "ch_fee_1", 100.00, when=date(2026, 11, 20))
        settlement = self.account._omni_import_settlement(_payout("po_fees", lines))
        settlement._omni_match()
        settlement._omni_post()
        fees_booked = sum(settlement.move_id.line_ids.filtered(
            lambda aml: aml.account_id == self.account.fee_account_id).mapped("balance"))
        self.assertAlmostEqual(fees_booked, 4.20, places=2)
        self.env.flush_all()
        report = self.env["omni.settlement.fee.report"].search([("settlement_id", "=", settlement.id)])
        self.assertAlmostEqual(sum(report.mapped("amount")), fees_booked, places=2)
        self.assertAlmostEqual(-settlement.fees_total, fees_booked, places=2)
        by_type = {}
        for row in report:
            by_type[row.fee_type] = round(by_type.get(row.fee_type, 0.0) + row.amount, 2)
        self.assertEqual(by_type, {"stripe_fee": 2.90, "fee": 0.30, "Radar": 1.00})

    # ----------------------------------------------------------------- item 22

    def test_line_in_the_company_currency_has_amount_currency_equal_to_balance(self):
        # a USD company paid out in EUR: the customer paid 54.00 USD, the payout carries 49.50 EUR for it
        account = self._payout_account("stripe", self.woo_backend, self.bank_eur, name="stripe eur")
        payment = self._payment(self.woo_backend, "ch_usd_1", 54.00, when=date(2026, 11, 20))
        line = SettlementLineData(external_id="txn_usd_1", kind="sale", gross=D("49.50"), fee=D("1.50"),
                                  currency="EUR", original_currency="USD", original_amount=D("54.00"),
                                  transaction_ref="ch_usd_1", occurred_at=DAY)
        settlement = account._omni_import_settlement(_payout("po_eur_usd", [line], currency="EUR"))
        settlement.company_rate = 1.1111111111  # the settlement's own conversion: 49.50 EUR = 55.00 USD
        settlement._omni_match()
        self.assertEqual(self._line(settlement, "txn_usd_1").payment_id, payment)
        settlement._omni_post()
        move = settlement.move_id
        self.assertBalanced(move)
        usd_items = move.line_ids.filtered(lambda aml: aml.currency_id == self.usd)
        self.assertTrue(usd_items)
        for item in usd_items:
            self.assertAlmostEqual(item.amount_currency, item.balance, places=2, msg=item.name)
        clearing = usd_items.filtered(lambda aml: aml.account_id == payment.outstanding_account_id)
        self.assertAlmostEqual(clearing.balance, -54.00, places=2)
        self.assertTrue(clearing.reconciled)
        gain = move.line_ids.filtered(lambda aml: aml.account_id == self.company.income_currency_exchange_account_id)
        self.assertAlmostEqual(sum(gain.mapped("balance")), -1.00, places=2)
