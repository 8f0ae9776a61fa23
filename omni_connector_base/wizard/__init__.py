from . import (
    omni_api_key_wizard,
    omni_connect_wizard,
    omni_governance_reject_wizard,
    omni_onboarding_hooks,
    omni_product_map_wizard,
    omni_product_match,
    omni_secret_rotate_wizard,
)
