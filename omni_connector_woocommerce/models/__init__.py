from . import omni_woocommerce_maps
from . import omni_woocommerce_product
from . import omni_backend
from . import woocommerce_inbound
from . import woocommerce_outbound
from . import woocommerce_sync
from . import stock
from . import account_move
