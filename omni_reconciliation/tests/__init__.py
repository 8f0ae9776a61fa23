from . import (
    test_access,
    test_amazon_and_currencies,
    test_chunked_posting,
    test_conventions,
    test_matching_and_fees,
    test_shopify_fetch,
    test_shopify_payout,
    test_stripe_payout,
    test_tours_payout,
)
