from . import omni_api_key_wizard, omni_product_map_wizard
