from . import test_ebay_orders, test_marketplace_collected_tax
