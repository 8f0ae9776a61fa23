"""429 honoured at the right time (no sleeping), and a credential change resetting the token cache."""

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..lib import amazon_client
from ..lib.amazon_client import RATE_LIMITS, RateLimiter
from ..models import amazon_backend
from .amazon_common import FBM_ORDER, AmazonCase


@tagged("post_install", "-at_install", "omni")
class TestAmazonClientState(AmazonCase):
    def _cron_trigger_times(self):
        cron = self.env.ref("omni_connector_marketplace.cron_amazon_poll_orders")
        return self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).mapped("call_at")

    def test_429_is_honoured_without_sleeping(self):
        # A client that does not pace itself, to meet Amazon's own 429 (its x-amzn-RateLimit-Limit header).
        amazon_backend.CLIENT_OPTIONS[self.backend.id] = {"limiter": RateLimiter({op: (1000.0, 1000) for op in
                                                                                   RATE_LIMITS})}
        self.backend._omni_reset_client()
        for index in range(150):
            self.sim.add_order(self.sim_module.make_order(f"114-{index:07d}-0000009",
                                                          updated=f"2026-11-12T11:{index // 60:02d}:{index % 60:02d}Z"))
        for _burst in range(19):  # the usage plan is nearly spent: one page passes, the next is refused
            self.sim._check_rate("searchOrders")
        self.rewind()
        before = fields.Datetime.now()
        stored, read = self.backend._amazon_poll_orders()
        self.assertEqual((stored, read), (100, 100), "what was read before the 429 is kept")
        self.assertEqual(self.sim.throttled["searchOrders"], 1)
        resume = self.backend.sudo().amazon_poll_resume
        self.assertIn("token", resume, "the page token is kept to resume")
        triggers = self._cron_trigger_times()
        wait = min(triggers) - before
        # Amazon said 0.0056 requests/s: one token every 178.6 s
        self.assertGreaterEqual(wait.total_seconds(), 170)
        self.assertLess(wait.total_seconds(), 200)
        self.assertEqual(self.backend._omni_checkpoint("amazon_orders").checkpoint,
                         fields.Datetime.to_datetime("2026-11-01 00:00:00"), "the checkpoint waits for the last page")
        # the bucket refilled: the next run resumes from the page token
        self.sim._buckets.clear()
        self.backend._amazon_client().limiter._buckets.clear()  # (the client's bucket too: time has passed)
        stored, read = self.backend._amazon_poll_orders()
        self.assertEqual((stored, read), (50, 50))
        self.assertFalse(self.backend.sudo().amazon_poll_resume)

    def test_client_side_bucket_raises_before_amazon_refuses(self):
        for index in range(130):
            self.sim.add_order(self.sim_module.make_order(f"114-{index:07d}-0000008",
                                                          updated=f"2026-11-12T12:{index // 60:02d}:{index % 60:02d}Z"))
        self.rewind()
        client = self.backend._amazon_client()
        client.limiter._buckets["searchOrders"] = [1.0, client.limiter.clock()]
        _stored, read = self.backend._amazon_poll_orders()
        self.assertEqual(read, 100)
        self.assertEqual(self.sim.throttled["searchOrders"], 0, "the client paced itself")
        self.assertTrue(self.backend.sudo().amazon_poll_resume)

    def test_credential_change_resets_the_token_cache(self):
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        self.backend._amazon_poll_orders()
        self.assertEqual(self.sim.token_requests, 1)
        old = self.backend._amazon_client()
        self.assertIn(old.fingerprint, amazon_client._TOKENS)
        self.rewind()
        self.backend._amazon_poll_orders()
        self.assertEqual(self.sim.token_requests, 1, "the access token is cached")
        # The LWA secret is rotated in Seller Central: old tokens die; the backend gets the new secret.
        self.sim.rotate_secret("amzn1.oa2-cs.v1.rotated-secret-0002")
        self.backend.amazon_lwa_client_secret = "amzn1.oa2-cs.v1.rotated-secret-0002"
        self.assertNotIn(old.fingerprint, amazon_client._TOKENS, "the old token is forgotten")
        new = self.backend._amazon_client()
        self.assertIsNot(new, old)
        self.rewind()
        _stored, read = self.backend._amazon_poll_orders()
        self.assertEqual(read, 1)
        self.assertEqual(self.sim.token_requests, 2, "a new token for the new credentials")

    def test_revoked_token_is_renewed(self):
        self.sim.add_order(self.mfn_fixture())
        self.rewind()
        self.backend._amazon_poll_orders()
        self.sim.revoke_tokens()
        self.rewind()
        with self.assertRaises(amazon_client.AmazonTransientError):
            self.backend._amazon_poll_orders()
        self.rewind()
        self.backend._amazon_poll_orders()
        self.assertEqual(self.sim.token_requests, 2)

    def test_wrong_credentials_are_a_clear_error(self):
        self.backend.amazon_refresh_token = "Atzr|wrong"
        self.rewind()
        with self.assertRaises(amazon_client.AmazonError) as caught:
            self.backend._amazon_poll_orders()
        self.assertIn("refused the credentials", caught.exception.message)
        self.assertNotIn("Atzr|wrong", caught.exception.message)

    def test_test_connection_and_import_since(self):
        action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.sim.add_order(self.mfn_fixture())
        wizard = self.env["omni.amazon.import.wizard"].create({"backend_id": self.backend.id,
                                                               "since": "2026-11-01 00:00:00"})
        wizard.action_import()
        self.assertEqual(self.backend.catch_up_since, fields.Datetime.to_datetime("2026-11-01 00:00:00"))
        self.env["omni.backend"]._cron_amazon_poll_orders()  # what the triggered cron runs
        self.assertTrue(self.backend.amazon_poll_progress.startswith("Done: 1 orders"))
        self._omni_run_ready()
        self.assertEqual(self.sale(FBM_ORDER).state, "sale")

    def test_catch_up_through_base_shows_its_progress_and_resumes(self):
        """Base's catch-up (Connect a channel's first import, Import Orders Updated Since...) on Amazon's
        own checkpoint, read at Amazon's rate with its progress on the account."""
        for index in range(250):
            self.sim.add_order(self.sim_module.make_order(f"114-{index:07d}-0000007",
                                                          updated=f"2026-11-12T13:{index // 60:02d}:{index % 60:02d}Z"))
        self.backend.amazon_poll_enabled = False
        since = fields.Datetime.to_datetime("2026-11-01 00:00:00")
        self.backend._omni_catch_up(since)
        self.assertTrue(self.backend.amazon_poll_enabled, "the catch-up is the poll: switched on")
        self.assertEqual(self.backend.catch_up_since, since)
        self.assertEqual(self.backend._omni_checkpoint_since("amazon_orders"), since)
        self.assertTrue(self._cron_trigger_times(), "the poll cron runs at once")
        self.assertIn("queued", self.backend.amazon_poll_progress)
        client = self.backend._amazon_client()
        client.limiter._buckets["searchOrders"] = [2.0, client.limiter.clock()]  # two pages left in the plan
        self.env["omni.backend"]._cron_amazon_poll_orders()
        progress = self.backend.amazon_poll_progress
        self.assertIn("200 orders (2 page(s), 200 new)", progress)
        self.assertIn("resumes at", progress)
        client.limiter._buckets.clear()  # the plan refilled: the triggered run goes on from the page token
        self.env["omni.backend"]._cron_amazon_poll_orders()
        self.assertIn("250 orders", self.backend.amazon_poll_progress)
        self.assertIn("3 page(s), 250 new", self.backend.amazon_poll_progress)
        self.assertTrue(self.backend.amazon_poll_progress.startswith("Done"))
        self.assertEqual(len(self.events("orders/polled")), 250)
        with self.assertRaises(UserError):
            self.backend._omni_catch_up(fields.Datetime.now())
