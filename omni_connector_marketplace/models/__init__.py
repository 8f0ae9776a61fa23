# isort: skip_file
# Shared by every marketplace channel (Amazon, eBay): the marketplaces of an account and the
# treatment of the tax a marketplace collects and remits itself.
from . import omni_marketplace, marketplace_backend, marketplace_importer
# Amazon (SP-API); amazon_backend first: the other files extend the backend it completes.
from . import amazon_backend, amazon_listing, amazon_sync, amazon_inbound, amazon_outbound, amazon_payouts
from . import amazon_pii, amazon_stock
# eBay channel (files by role)
from . import ebay_backend, ebay_listing, ebay_inbound, ebay_outbound, ebay_stock, ebay_sync, ebay_payouts
from . import ebay_settlement_account
