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
)
# test_tours_exception: the tour reaches Process Now (step 8 of 11) and is not finished yet; not run.
