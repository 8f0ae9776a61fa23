"""Odoo conventions (issue 10, item 24): crons an upgrade does not reset, a translation template."""

from pathlib import Path

from odoo.tests import TransactionCase, tagged

ADDON = Path(__file__).resolve().parents[1]


@tagged("post_install", "-at_install", "omni")
class TestConventions(TransactionCase):
    def test_crons_are_noupdate(self):
        data = self.env["ir.model.data"].search([("module", "=", "omni_reconciliation"), ("model", "=", "ir.cron")])
        self.assertEqual(len(data), 3)
        self.assertTrue(all(data.mapped("noupdate")), "an upgrade must keep what users changed on the crons")

    def test_translation_template_is_shipped(self):
        pot = ADDON / "i18n" / "omni_reconciliation.pot"
        self.assertTrue(pot.is_file())
        text = pot.read_text(encoding="utf-8")
        self.assertIn("Project-Id-Version: Odoo Server 19.0", text)
        for msgid in ("Payout Account", "Posting payouts", "Match Bank Deposit"):
            self.assertIn(f'msgid "{msgid}"', text)
