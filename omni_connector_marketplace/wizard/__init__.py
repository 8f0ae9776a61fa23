from . import omni_amazon_import_wizard
