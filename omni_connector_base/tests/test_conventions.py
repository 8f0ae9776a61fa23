"""Odoo conventions: crons survive upgrades, record rules live in security/, a translation template ships."""

from pathlib import Path

from odoo.tests import TransactionCase, tagged

ADDON = Path(__file__).resolve().parents[1]


@tagged("post_install", "-at_install", "omni")
class TestConventions(TransactionCase):
    def test_crons_are_noupdate(self):
        """An upgrade must not reset what users changed (interval, active, worker count)."""
        crons = self.env["ir.model.data"].search([("module", "=", "omni_connector_base"), ("model", "=", "ir.cron")])
        self.assertGreaterEqual(len(crons), 3)
        for data in crons:
            self.assertTrue(data.noupdate, data.name)

    def test_record_rules_live_in_security(self):
        views = "".join(path.read_text(encoding="utf-8") for path in (ADDON / "views").glob("*.xml"))
        self.assertNotIn('model="ir.rule"', views)
        security = (ADDON / "security" / "omni_security.xml").read_text(encoding="utf-8")
        self.assertIn('id="rule_omni_api_key_company"', security)

    def test_translation_template_ships(self):
        pot = ADDON / "i18n" / "omni_connector_base.pot"
        self.assertTrue(pot.is_file())
        text = pot.read_text(encoding="utf-8")
        self.assertIn('msgid "Webhook Secret Set"', text)
        self.assertIn("Omnichannel: process events", text)
