"""Who can do what with payouts, checked server side over JSON-2 and JSON-RPC, not only by hidden buttons.

Posting, resetting and bank-matching book journal entries as superuser: they need accounting rights
(``account.group_account_invoice`` at least; resetting also Omnichannel Manager); creating default
accounts and journals needs the Accounting Administrator. URL overrides and secrets of payout accounts
are for system administrators only, on the model.
"""

import json
from datetime import date, datetime, timedelta

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, get_db_name, new_test_user, tagged

from odoo.addons.omni_connector_shopify.lib.payouts import settlement_from_shopify

from .common import ReconciliationCommon, fixture_json


@tagged("post_install", "-at_install", "omni")
class TestReconciliationAccess(ReconciliationCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._payout_account("shopify_payments", cls.shop_backend, cls.bank_eur, currency_id=cls.eur.id)
        cls._import_shopify_1042_with_refund(cls.shop_backend)
        order_1043 = cls._order(cls.shop_backend, "5829417095555", 120.0, cls.eur, "#1043")
        cls._payment(cls.shop_backend, "7301000101", 120.0, cls.eur, "shopify_payments", when=date(2026, 11, 21),
                     order=order_1043)
        cls.settlement = cls.account._omni_import_settlement(settlement_from_shopify(
            fixture_json("shopify/payout.json"), fixture_json("shopify/payout_balance_transactions.json")))
        cls.settlement._omni_match()
        # an Omnichannel Manager without any accounting right, and an Omnichannel User who has Invoicing
        cls.manager = new_test_user(cls.env, "recon_manager_no_accounting",
                                    groups="omni_connector_base.group_omni_manager")
        cls.billing_user = new_test_user(cls.env, "recon_user_billing",
                                         groups="omni_connector_base.group_omni_user,account.group_account_invoice")

    def _bearer(self, user):
        key = self.env["res.users.apikeys"].with_user(user)._generate(
            scope="rpc", name="recon access test", expiration_date=datetime.now() + timedelta(days=1))
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def _json2(self, user, model, method, ids):
        response = self.url_open(f"/json/2/{model}/{method}", data=json.dumps({"ids": ids}),
                                 headers=self._bearer(user))
        self.env.invalidate_all()
        return response

    def _jsonrpc(self, user, model, method, ids):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": [get_db_name(), user.id, user.login, model, method, [ids]]}}
        response = self.url_open("/jsonrpc", data=json.dumps(payload), headers={"Content-Type": "application/json"})
        self.env.invalidate_all()
        return response.json()

    def assertRefused(self, response):
        self.assertEqual(response.status_code, 403, response.text)
        self.assertEqual(response.json()["name"], "odoo.exceptions.AccessError", response.text)

    def test_posting_needs_accounting_rights_over_json2(self):
        self.assertEqual(self.settlement.state, "matched", self.settlement.state_message)
        moves_before = self.env["account.move"].search_count([])
        self.assertRefused(self._json2(self.manager, "omni.settlement", "action_post", self.settlement.ids))
        self.assertEqual(self.settlement.state, "matched")
        self.assertFalse(self.settlement.move_id)
        self.assertEqual(self.env["account.move"].search_count([]), moves_before, "no entry was created")
        # with Invoicing rights the same call posts
        response = self._json2(self.billing_user, "omni.settlement", "action_post", self.settlement.ids)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.settlement.state, "posted")
        self.assertEqual(self.settlement.move_id.state, "posted")

    def test_posting_needs_accounting_rights_over_jsonrpc(self):
        answer = self._jsonrpc(self.manager, "omni.settlement", "action_post", self.settlement.ids)
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", answer)
        self.assertEqual(self.settlement.state, "matched")
        self.assertFalse(self.settlement.move_id)

    def test_reset_and_bank_match_need_accounting_rights(self):
        self.settlement._omni_post()
        move = self.settlement.move_id
        self._statement_line(self.bank_eur, 156.87, date(2026, 11, 25), label="SHOPIFY PAYOUT 623721858")
        self.assertRefused(self._json2(self.manager, "omni.settlement", "action_bank_match", self.settlement.ids))
        self.assertEqual(self.settlement.state, "posted")
        self.assertFalse(self.settlement.statement_line_id)
        answer = self._jsonrpc(self.manager, "omni.settlement", "action_reset", self.settlement.ids)
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", answer)
        self.assertRefused(self._json2(self.manager, "omni.settlement", "action_reset", self.settlement.ids))
        # an accountant who is no Omnichannel Manager cannot reset either (the button is a manager's)
        self.assertRefused(self._json2(self.billing_user, "omni.settlement", "action_reset", self.settlement.ids))
        self.assertEqual((self.settlement.state, self.settlement.move_id, move.state), ("posted", move, "posted"))
        # with Invoicing rights the bank match goes through
        response = self._json2(self.billing_user, "omni.settlement", "action_bank_match", self.settlement.ids)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.settlement.state, "reconciled")

    def test_default_accounts_need_the_accounting_administrator(self):
        self.account.commission_account_id = False
        self.env["account.account"].search([("code", "=", "OMNI.COMMISSION")]).unlink()
        accounts_before = self.env["account.account"].search_count([])
        self.assertRefused(self._json2(self.manager, "omni.settlement.account", "action_setup_accounts",
                                       self.account.ids))
        self.assertEqual(self.env["account.account"].search_count([]), accounts_before, "no account was created")
        self.assertFalse(self.account.commission_account_id)
        with self.assertRaises(AccessError):
            self.account.with_user(self.billing_user).action_setup_accounts()

    def test_url_override_and_secret_are_for_system_administrators(self):
        self.account.sudo().write({"stripe_api_base": "http://127.0.0.1:1", "stripe_secret_key": "sk_test_x"})
        as_manager = self.account.with_user(self.manager)
        for field_name in ("stripe_api_base", "stripe_secret_key"):
            with self.assertRaises(AccessError):
                as_manager.read([field_name])
            with self.assertRaises(AccessError):
                as_manager.write({field_name: "https://attacker.example"})
        self.assertEqual(self.account.stripe_api_base, "http://127.0.0.1:1")
        self.assertEqual(self.account.stripe_secret_key, "sk_test_x")
        self.assertTrue(as_manager.has_stripe_secret_key)
        as_manager.write({"date_window_days": 9})  # the rest of the configuration is the manager's
        admin = new_test_user(self.env, "recon_sysadmin",
                              groups="base.group_system,omni_connector_base.group_omni_manager")
        self.account.with_user(admin).write({"stripe_api_base": False})
        self.assertFalse(self.account.stripe_api_base)
