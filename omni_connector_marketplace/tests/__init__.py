from . import test_marketplace_collected_tax
