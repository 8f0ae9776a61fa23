# isort: skip_file
# Shared by every marketplace channel (Amazon, eBay): the marketplaces of an account and the
# treatment of the tax a marketplace collects and remits itself.
from . import omni_marketplace, marketplace_backend, marketplace_importer
