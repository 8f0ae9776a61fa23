"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.tests import tagged

from .order_factory import shopify_1042
from .test_importer import OmniImporterCommon


@tagged("post_install", "-at_install", "omni")
class TestProofRegressions(OmniImporterCommon):
    def test_proof_chaos_an_update_that_only_changes_the_note_applies_it(self):
        """Delivery chaos: an ``orders/updated`` (or a poll) whose lines did not change but whose
        note did left the old note on the sale order; the newer version's note is applied."""
        order = shopify_1042(note="Please gift wrap")
        sale = self.Importer._omni_import_order(self.backend, order)
        self.assertIn("gift wrap", sale.note or "")
        updated = shopify_1042(updated_at=order.updated_at.replace(hour=11), note="Leave at the back door")
        same = self.Importer._omni_import_order(self.backend, updated)
        self.assertEqual(same, sale)
        self.assertIn("Leave at the back door", sale.note)
        self.assertAlmostEqual(sale.amount_total, 70.60, places=2)
