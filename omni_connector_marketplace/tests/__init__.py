from . import test_ebay_deletion, test_ebay_orders, test_ebay_payouts, test_ebay_stock, test_marketplace_collected_tax
