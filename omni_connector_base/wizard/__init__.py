from . import omni_product_map_wizard
