from . import (
    test_proof_regressions,
    test_woocommerce_catch_up,
    test_woocommerce_inbound,
    test_woocommerce_money,
    test_woocommerce_outbound,
    test_woocommerce_payout,
    test_woocommerce_risk,
    test_woocommerce_rotation,
    test_woocommerce_sync,
)
