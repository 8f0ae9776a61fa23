# isort: skip_file
# Shared by every marketplace channel (Amazon, eBay): the marketplaces of an account and the
# treatment of the tax a marketplace collects and remits itself.
from . import omni_marketplace, marketplace_backend, marketplace_importer
# eBay channel (files by role)
from . import ebay_backend, ebay_listing, ebay_inbound, ebay_outbound, ebay_stock, ebay_sync, ebay_payouts
from . import ebay_settlement_account
