"""Defects found by the proof suites (tests/proof/), each kept from coming back."""

import uuid

import psycopg2.errors

from odoo import SUPERUSER_ID, api, sql_db
from odoo.exceptions import AccessError
from odoo.tests import BaseCase, TransactionCase, new_test_user, tagged

from odoo.addons.omni_connector_base.models.omni_event_processor import TRANSIENT_DB_ERRORS


@tagged("post_install", "-at_install", "omni")
class TestMarketplaceProofAuthz(TransactionCase):
    """Authorization matrix (tests/proof/suite_authz.py): an Omnichannel User could run the Amazon
    and eBay buttons over JSON-RPC (polls, imports, stock pushes, the FBA warehouse)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="proof_market_user", groups="omni_connector_base.group_omni_user")
        Backend = cls.env["omni.backend"]
        cls.amazon = Backend.create({"name": "Proof authz Amazon", "channel": "amazon"})
        cls.ebay = Backend.create({"name": "Proof authz eBay", "channel": "ebay"})

    def test_proof_authz_an_omnichannel_user_cannot_run_the_marketplace_buttons(self):
        calls = [(self.amazon, name) for name in ("action_amazon_setup_fba_warehouse", "action_amazon_push_stock",
                                                  "action_amazon_sync_fba", "action_amazon_poll_now",
                                                  "action_amazon_import_since")]
        calls += [(self.ebay, name) for name in ("action_ebay_push_stock", "action_ebay_import_orders")]
        for backend, method in calls:
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(backend.with_user(self.user), method)()


@tagged("post_install", "-at_install", "omni")
class TestAmazonFbaWarehouseRace(BaseCase):
    """Chaos suite (tests/proof/suite_chaos.py): two workers importing an account's first FBA orders
    at once both created the FBA warehouse; the second failed on the stock location's unique name
    and the server logged it as an error. Two real connections, committed data, like two workers."""

    # These connections are the test's own (two workers), so they commit on purpose.
    # pylint: disable=invalid-commit

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create({"name": f"FBA race {uuid.uuid4().hex[:8]}"})
            cls.backend_id = env["omni.backend"].create(
                {"name": "FBA race", "channel": "amazon", "company_id": company.id}).id
            cls.company_id = company.id
            cr.commit()

    @classmethod
    def tearDownClass(cls):
        with cls._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["omni.backend"].browse(cls.backend_id).unlink()
            cr.commit()
        super().tearDownClass()

    @staticmethod
    def _cursor():
        from odoo.tests.common import get_db_name  # noqa: PLC0415

        return sql_db.db_connect(get_db_name()).cursor()

    def test_second_worker_meets_a_retryable_conflict_not_a_duplicate_warehouse(self):
        with self._cursor() as first, self._cursor() as second:
            backend_first = api.Environment(first, SUPERUSER_ID, {})["omni.backend"].browse(self.backend_id)
            backend_second = api.Environment(second, SUPERUSER_ID, {})["omni.backend"].browse(self.backend_id)
            # Both read the account before either has a warehouse (the second's snapshot starts here).
            self.assertFalse(backend_first.amazon_fba_warehouse_id)
            self.assertFalse(backend_second.amazon_fba_warehouse_id)
            warehouse = backend_first._amazon_fba_warehouse()
            first.commit()
            with self.assertNoLogs("odoo.sql_db", level="ERROR"), \
                    self.assertRaises(psycopg2.errors.SerializationFailure):
                backend_second._amazon_fba_warehouse()
            self.assertIsInstance(psycopg2.errors.SerializationFailure(), TRANSIENT_DB_ERRORS)
            second.rollback()
            # The processor's retry, in a new transaction, finds the first worker's warehouse.
            backend_second.env.invalidate_all()
            self.assertEqual(backend_second._amazon_fba_warehouse().id, warehouse.id)
            self.assertEqual(backend_second.env["stock.warehouse"].search_count(
                [("company_id", "=", self.company_id), ("name", "like", "Amazon FBA")]), 1)
