from . import (
    test_amazon_client_state,
    test_amazon_orders,
    test_amazon_pii,
    test_amazon_settlement,
    test_amazon_shipment,
    test_amazon_stock,
    test_marketplace_collected_tax,
)
