from . import (
    test_governance_shopify,
    test_shopify_backend,
    test_shopify_contract,
    test_shopify_inbound,
    test_shopify_outbound,
    test_shopify_repairs,
)
