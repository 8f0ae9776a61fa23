"""A settlement report fetched (gzip), imported once, matched and reconciled to the bank;
marketplace facilitator tax cleared against the collected tax; its Refund transactions recorded as
credit notes against their orders (never held for approval)."""

from datetime import date

from odoo.tests import tagged

from .amazon_common import FBA_ORDER, FBA_ORDER_2, FBM_ORDER, AmazonCase, fixture_text


@tagged("post_install", "-at_install", "omni")
class TestAmazonSettlement(AmazonCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["account.journal"].create({"name": "Bank USD (Amazon)", "type": "bank", "code": "BAMZ",
                                                      "currency_id": cls.usd.id})
        Account = cls.env["omni.settlement.account"]
        values = Account._omni_default_values(cls.env.company, "amazon", name="Amazon.com payouts")
        values.update({"backend_id": cls.backend.id, "bank_journal_id": cls.bank.id})
        cls.account = Account.create(values)
        cls.account.action_setup_accounts()

    def _import_fixture_orders(self):
        for order_id in (FBA_ORDER, FBM_ORDER, FBA_ORDER_2):
            self.sim.add_order(self.search_fixture(order_id))
        self.rewind()
        self.poll()

    def test_settlement_fetched_imported_once_and_reconciled(self):
        self._import_fixture_orders()
        self.sim.add_settlement_report(fixture_text("settlement_v2.tsv"))
        settlements = self.account._omni_import_from_source()
        # the report's Refund transaction (Amazon refunded the buyer) becomes a credit note and the refund
        # payment in the Amazon clearing journal, which the settlement's refund line matches below
        self._omni_run_ready()
        credit_note = self.env["account.move"].search([("omni_backend_id", "=", self.backend.id),
                                                       ("move_type", "=", "out_refund")])
        self.assertEqual(credit_note.omni_external_id, "amzn1.adj.7711")
        self.assertAlmostEqual(credit_note.amount_total, 31.54)
        self.assertEqual(self.sim.calls["getReportDocument"], 1)
        settlement = settlements
        self.assertEqual((settlement.external_id, settlement.expected_amount), ("11223344556", 25.73))
        self.assertEqual(self.env["omni.amazon.report"].search([("backend_id", "=", self.backend.id)]).settlement_ref,
                         "11223344556")
        # imported once: the next run lists the report but does not download it again
        self.account._omni_import_from_source()
        self.assertEqual(self.sim.calls["getReportDocument"], 1)
        self.assertEqual(self.env["omni.settlement"].search_count([("payout_account_id", "=", self.account.id)]), 1)

        settlement._omni_match()
        self.assertEqual(settlement.state, "matched", settlement.state_message)
        sales = settlement.line_ids.filtered(lambda line: line.kind == "sale")
        self.assertEqual(sales.order_id, self.sale(FBA_ORDER) | self.sale(FBM_ORDER) | self.sale(FBA_ORDER_2))
        settlement._omni_post()
        self.assertEqual(settlement.state, "posted")
        # facilitator tax: the invoice's collected tax and the settlement's withheld tax meet on one account
        collected_account = self.us.collected_tax_id.invoice_repartition_line_ids.filtered(
            lambda r: r.repartition_type == "tax").account_id
        self.assertEqual(self.account.withheld_tax_account_id, collected_account)
        order_2 = self.sale(FBA_ORDER_2)
        lines = self.env["account.move.line"].search([("account_id", "=", collected_account.id),
                                                      ("parent_state", "=", "posted")])
        invoice_tax = lines.filtered(lambda aml: aml.move_id in order_2.invoice_ids)
        self.assertAlmostEqual(sum(invoice_tax.mapped("balance")), -3.94)
        settlement_tax = lines.filtered(lambda aml: aml.move_id == settlement.move_id)
        # the settlement debits what Amazon withheld: 5.08 + 3.94 on the sales, less 2.54 given back on the refund
        self.assertAlmostEqual(sum(settlement_tax.mapped("balance")), 6.48, msg="cleared by the withheld tax")
        # the credit note gave the refunded collected tax back (2.54) as Amazon did: the account is clear
        self.assertAlmostEqual(sum(lines.filtered(lambda aml: aml.move_id == credit_note).mapped("balance")), 2.54)
        self.assertAlmostEqual(sum(lines.mapped("balance")), 0.0)

        statement_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.bank.id, "amount": 25.73, "date": date(2026, 11, 24),
            "payment_ref": "AMAZON 11223344556"})
        settlement._omni_bank_match()
        self.assertEqual(settlement.state, "reconciled")
        self.assertTrue(statement_line.is_reconciled)

    def test_excluded_treatment_nets_the_facilitator_tax(self):
        self.us.collected_tax_treatment = "exclude"
        self.sim.add_order(self.search_fixture(FBA_ORDER_2))
        self.rewind()
        self.poll()
        sale = self.sale(FBA_ORDER_2)
        self.assertAlmostEqual(sale.amount_total, 45.00)
        self.assertFalse(sale.order_line.tax_ids)
        self.assertIn("3.94 USD", sale.omni_collected_tax_memo)
        self.assertIn("Amazon Services, Inc.", sale.note or sale.omni_collected_tax_memo)
        self.sim.add_settlement_report(fixture_text("settlement_v2.tsv"))
        settlement = self.account._omni_import_from_source()
        sale_line = settlement.line_ids.filtered(lambda line: line.kind == "sale" and line.order_ref == FBA_ORDER_2)
        self.assertAlmostEqual(sale_line.gross, 45.00, msg="the sale line is what the order sold for")
        withheld = settlement.line_ids.filtered(
            lambda line: line.kind == "withheld_tax" and line.order_ref == FBA_ORDER_2)
        self.assertAlmostEqual(withheld.gross, 0.0)
        self.assertAlmostEqual(settlement.lines_total, 25.73)

    def test_eu_report_amounts_with_decimal_comma(self):
        text = fixture_text("settlement_v2.tsv").replace("Amazon.com", "Amazon.de").replace("USD", "EUR")
        lines = []
        for line in text.splitlines():
            cells = line.split("\t")
            for index in (4, 14):
                if index < len(cells) and cells[index].replace("-", "").replace(".", "").isdigit():
                    cells[index] = cells[index].replace(".", ",")
            lines.append("\t".join(cells))
        self.sim.add_settlement_report("\n".join(lines) + "\n", marketplace_ids=("A1PA6795UKMFR9",))
        settlement = self.account._omni_import_from_source()
        self.assertEqual(settlement.currency_id, self.eur)
        self.assertAlmostEqual(settlement.expected_amount, 25.73)
        self.assertAlmostEqual(settlement.lines_total, 25.73)

    def test_settlement_refund_is_a_credit_note_against_the_order_never_held(self):
        self._import_fixture_orders()
        sale = self.sale(FBA_ORDER)
        self.backend.refund_approval_threshold = 1.0  # refunds made in Odoo above 1.00 wait for approval
        self.sim.add_settlement_report(fixture_text("settlement_v2.tsv"))
        self.account._omni_import_from_source()
        (event,) = self.events("refunds/settlement")
        self.assertEqual((event.idempotency_key, event.resource_key), ("refund:amzn1.adj.7711", FBA_ORDER))
        self._omni_run_ready()
        self.assertEqual(event.state, "done", event.last_error)
        credit_note = self.env["account.move"].search([("omni_backend_id", "=", self.backend.id),
                                                       ("move_type", "=", "out_refund")])
        self.assertEqual(len(credit_note), 1)
        self.assertEqual(credit_note.state, "posted", "a refund Amazon made is recorded, not held for approval")
        self.assertFalse(credit_note.omni_refund_approval_state)
        self.assertEqual(credit_note.partner_id, sale.partner_invoice_id)
        self.assertEqual(credit_note.currency_id, self.usd)
        self.assertEqual(credit_note.invoice_origin, sale.name)
        self.assertAlmostEqual(credit_note.amount_total, 31.54)
        self.assertAlmostEqual(credit_note.amount_tax, 2.54)
        shirt = self.products["TSHIRT-BLK-M"]
        product_line = credit_note.invoice_line_ids.filtered(lambda line: line.product_id == shirt)
        self.assertEqual(product_line.sale_line_ids.order_id, sale)
        self.assertEqual(product_line.tax_ids, sale.order_line.filtered(lambda line: line.product_id == shirt).tax_ids,
                         "the order's collected tax")
        payment = self.env["account.payment"].search([("omni_backend_id", "=", self.backend.id),
                                                      ("payment_type", "=", "outbound")])
        self.assertEqual((payment.omni_transaction_id, payment.amount), ("amzn1.adj.7711", 31.54))
        self.assertEqual(payment.journal_id, self.backend._omni_clearing_journal("amazon"))
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        # the same refund again (a replay, or a later report listing it): one credit note
        event.action_replay()
        self._omni_run_ready()
        self.assertEqual(self.env["account.move"].search_count([("omni_backend_id", "=", self.backend.id),
                                                                ("move_type", "=", "out_refund")]), 1)
        self.assertEqual(self.backend._amazon_queue_refunds([json_refund(event)], {"reportId": "2"}), 0)

    def test_refund_of_an_order_not_in_odoo_is_skipped_with_the_reason(self):
        self.sim.add_settlement_report(fixture_text("settlement_v2.tsv"))
        self.account._omni_import_from_source()
        (event,) = self.events("refunds/settlement")
        self._omni_run_ready()
        self.assertEqual(event.state, "skipped")
        self.assertIn("not in Odoo", event.last_error or "")

    def test_excluded_treatment_credits_no_tax(self):
        self.us.collected_tax_treatment = "exclude"
        self.sim.add_order(self.search_fixture(FBA_ORDER))
        self.rewind()
        self.poll()
        self.sim.add_settlement_report(fixture_text("settlement_v2.tsv"))
        self.account._omni_import_from_source()
        self._omni_run_ready()
        credit_note = self.env["account.move"].search([("omni_backend_id", "=", self.backend.id),
                                                       ("move_type", "=", "out_refund")])
        self.assertAlmostEqual(credit_note.amount_total, 29.00)
        self.assertFalse(credit_note.amount_tax)


def json_refund(event):
    return event._omni_payload_json()
