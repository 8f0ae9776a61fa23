{
    "name": "Omnichannel Connector: Marketplaces (Amazon, eBay)",
    "summary": "Amazon (SP-API) and eBay seller accounts: orders of several marketplaces per account, "
    "shipment confirmation, stock, fulfilment-by-the-marketplace inventory, settlements, and the "
    "treatment of taxes the marketplace collects and remits itself",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    # omni_reconciliation: the settlements of both marketplaces are imported and matched there.
    "depends": ["omni_connector_base", "omni_reconciliation"],
    "external_dependencies": {"python": ["python-amazon-sp-api", "httpx", "requests", "cryptography"]},
    "data": [
        "security/marketplace_security.xml",
        "security/amazon_security.xml",
        "security/ir.model.access.csv",
        "data/amazon_cron.xml",
        "views/omni_marketplace_views.xml",
        "views/amazon_backend_views.xml",
        "data/ebay_cron.xml",
        "views/ebay_backend_views.xml",
    ],
}
