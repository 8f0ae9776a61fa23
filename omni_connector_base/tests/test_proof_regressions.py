"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

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


@tagged("post_install", "-at_install", "omni")
class TestProofAuthzRegressions(TransactionCase):
    """Authorization matrix (tests/proof/suite_authz.py): channel actions ran for an Omnichannel
    User over JSON-RPC although the README gives them to Managers (the buttons were only hidden)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="proof_authz_user", groups="omni_connector_base.group_omni_user")
        cls.manager = new_test_user(cls.env, login="proof_authz_manager",
                                    groups="omni_connector_base.group_omni_manager")
        cls.backend = cls.env["omni.backend"].create({"name": "Proof authz", "channel": "custom"})

    def test_proof_authz_an_omnichannel_user_cannot_run_channel_actions(self):
        for method in ("action_test_connection", "action_new_api_key"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(self.backend.with_user(self.user), method)()
        action = self.backend.with_user(self.manager).action_new_api_key()
        self.assertEqual(action["res_model"], "omni.api.key.wizard")
