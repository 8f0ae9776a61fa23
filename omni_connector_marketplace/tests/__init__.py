from . import (
    test_amazon_client_state,
    test_amazon_metrics,
    test_amazon_orders,
    test_amazon_pii,
    test_amazon_settlement,
    test_amazon_shipment,
    test_amazon_stock,
    test_ebay_deletion,
    test_ebay_orders,
    test_ebay_payouts,
    test_ebay_stock,
    test_marketplace_collected_tax,
)
