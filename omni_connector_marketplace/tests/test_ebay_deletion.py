"""eBay Marketplace Account Deletion on /omni/webhook/<id>: the challenge, a good and a bad
signature (412, nothing stored), and the anonymization of what no invoice needs."""

import hashlib
import json

from odoo.tests import tagged

from .ebay_common import EbayCase


@tagged("post_install", "-at_install", "omni", "omni_ebay")
class TestEbayDeletion(EbayCase):
    def url(self):
        return f"{self.base_url()}/omni/webhook/{self.backend.id}"

    def send(self, call, *args, **kwargs):
        self.env.cr.flush()
        with self.allow_requests(all_requests=True):
            response = call(*args, **kwargs)
        self.env.invalidate_all()
        return response

    def test_challenge_answers_sha256_of_code_token_and_endpoint(self):
        self.backend.sudo().ebay_notification_endpoint = "https://erp.example.com/omni/webhook/%s" % self.backend.id
        code, response = self.send(self.sim.challenge, self.url())
        self.assertEqual(response.status_code, 200)
        expected = hashlib.sha256((code + self.backend.sudo().ebay_verification_token
                                   + self.backend.sudo().ebay_notification_endpoint).encode()).hexdigest()
        self.assertEqual(response.json(), {"challengeResponse": expected})
        import requests  # noqa: PLC0415

        missing = self.send(requests.get, self.url(), timeout=30)
        self.assertEqual(missing.status_code, 400)

    def test_good_signature_is_stored_then_the_buyer_is_anonymized(self):
        self.seed_fixture_orders()
        self.poll()
        self.process()
        sale = self.sale("17-12984-63051")
        partner = sale.partner_id
        self.assertEqual(partner.email, "c41e7b9a2f08d3@members.ebay.com")
        response = self.send(self.sim.send_deletion_notification, self.url(), "pdx_rosecity_jo")
        self.assertEqual(response.status_code, 200, response.text)
        event = self.events(topic="MARKETPLACE_ACCOUNT_DELETION")
        self.assertEqual(event.state, "pending", "stored, processed later")
        self.assertEqual(self.sim.public_key_requests, 1)
        # a second notification (eBay retries) uses the cached key and has no second effect
        again = self.send(self.sim.send_deletion_notification, self.url(), "pdx_rosecity_jo",
                          body=event._omni_payload_bytes())
        self.assertEqual(again.json()["status"], "duplicate")
        self.assertEqual(self.sim.public_key_requests, 1)
        self.process()
        self.assertEqual(event.state, "done")
        # invoiced: the name and address stay on the invoice's partner, e-mail and phone go
        self.assertTrue(sale.invoice_ids)
        self.assertEqual(partner.name, "Jordan Ellis")
        self.assertFalse(partner.email or partner.phone)
        order_events = self.events(topic="ebay/order", resource_key="17-12984-63051")
        self.assertTrue(all(json.loads(e.payload) == {"anonymized": True} for e in order_events))
        self.assertNotIn("pdx_rosecity_jo", event.payload)
        binding = self.env["omni.binding"].search([("backend_id", "=", self.backend.id),
                                                   ("res_model", "=", "res.partner"), ("res_id", "=", partner.id)])
        self.assertTrue(binding.external_id.startswith("deleted:"))
        self.assertIn("account deletion", self.backend.message_ids[0].body)
        # the other buyer is untouched
        other = self.sale("09-13021-48877").partner_id
        self.assertEqual(other.email, "8d2f5a0c9e61b7@members.ebay.com")

    def test_buyer_without_invoice_is_anonymized_entirely(self):
        self.env["omni.payment.rule"].create({"backend_id": self.backend.id, "gateway": "ebay", "sequence": 1,
                                              "confirm_order": True, "create_invoice": False})
        self.seed_fixture_orders()
        self.poll()
        self.process()
        partner = self.sale("17-12984-63051").partner_id
        self.send(self.sim.send_deletion_notification, self.url(), "pdx_rosecity_jo")
        self.process()
        self.assertTrue(partner.name.startswith("Deleted eBay user"))
        self.assertFalse(partner.street or partner.email or partner.phone or partner.city)

    def test_bad_signature_gets_412_and_nothing_is_stored(self):
        response = self.send(self.sim.send_deletion_notification, self.url(), "someone", bad_signature=True)
        self.assertEqual(response.status_code, 412)
        self.assertFalse(self.events(topic="MARKETPLACE_ACCOUNT_DELETION"))
        body = self.sim.deletion_body("someone")
        self.env.cr.flush()
        with self.allow_requests(all_requests=True):
            import requests  # noqa: PLC0415

            unsigned = requests.post(self.url(), data=body, timeout=30)
            forged_kid = requests.post(self.url(), data=body, timeout=30, headers={
                "X-EBAY-SIGNATURE": self.sim.sign_notification(body).replace("A", "B", 1)})
        self.assertEqual(unsigned.status_code, 412)
        self.assertEqual(forged_kid.status_code, 412)
        self.assertFalse(self.events())

    def test_user_odoo_does_not_know(self):
        self.send(self.sim.send_deletion_notification, self.url(), "never_bought_here")
        self.process()
        self.assertEqual(self.events(topic="MARKETPLACE_ACCOUNT_DELETION").state, "done")
        self.assertIn("holds no data", self.backend.message_ids[0].body)
