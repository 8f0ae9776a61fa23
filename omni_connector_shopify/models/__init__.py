# isort: skip_file
# omni_backend first: the other files extend the backend it completes.
from . import omni_backend
from . import shopify_inbound, shopify_outbound, shopify_sync, shopify_payouts
from . import omni_shopify_location, omni_shopify_variant
from . import sale_order, stock, account_move
from . import shopify_onboarding
from . import shopify_governance
