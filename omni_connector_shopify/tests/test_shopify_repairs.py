"""Issue 10's Shopify items: versions that share a second (15)."""

from odoo.tests import tagged

from .common import ShopifyCase


@tagged("post_install", "-at_install", "omni")
class TestShopifySameSecondUpdates(ShopifyCase):
    def test_update_within_the_same_second_with_other_content_is_applied(self):
        """Shopify's ``updated_at`` has one-second resolution: two edits in one second carry the
        same timestamp. The second one's content differs, so it must be applied, not taken for
        the version already applied."""
        stamp = "2026-11-20T10:14:05+01:00"
        self.deliver("orders/create", self.order_payload(updated_at=stamp, financial_status="authorized"))
        self.process()
        sale = self.sale_orders()
        shirt = sale.order_line.filtered(lambda line: line.product_id == self.shirt)
        self.assertEqual(shirt.product_uom_qty, 2)
        edited = self.one_shirt(self.order_payload(updated_at=stamp, financial_status="authorized"))
        self.assertEqual(self.deliver("orders/updated", edited), 200)
        self.process()
        event = self.events()[-1]
        self.assertEqual(event.state, "done", event.last_error)
        self.assertEqual(shirt.product_uom_qty, 1, "the same-second edit is applied")
        self.assertAlmostEqual(sale.amount_total, 44.50, places=2)
        # The very same version again (a poll re-reading it, or a retry) still changes nothing.
        self.assertEqual(self.deliver("orders/updated", edited), 200)
        self.process()
        self.assertEqual(self.events()[-1].state, "done")
        self.assertEqual((len(self.sale_orders()), shirt.product_uom_qty), (1, 1))
