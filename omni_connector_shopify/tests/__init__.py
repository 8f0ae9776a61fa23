from . import (
    test_governance_shopify,
    test_onboarding_wizard,
    test_proof_regressions,
    test_shopify_backend,
    test_shopify_contract,
    test_shopify_inbound,
    test_shopify_outbound,
    test_shopify_repairs,
    test_tours_connect,
    test_tours_exception,
)
