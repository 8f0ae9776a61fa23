from . import (
    account_move,
    omni_backend,
    omni_woocommerce_maps,
    omni_woocommerce_product,
    stock,
    woocommerce_inbound,
    woocommerce_outbound,
    woocommerce_sync,
)
