# isort: skip_file
# Shared by every marketplace channel (Amazon, eBay): the marketplaces of an account and the
# treatment of the tax a marketplace collects and remits itself.
from . import omni_marketplace, marketplace_backend, marketplace_importer
# Amazon (SP-API); amazon_backend first: the other files extend the backend it completes.
from . import amazon_backend, amazon_listing, amazon_sync, amazon_inbound, amazon_outbound, amazon_payouts
from . import amazon_pii, amazon_stock
