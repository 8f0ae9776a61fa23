{
    "name": "Omnichannel Connector: WooCommerce",
    "summary": "WooCommerce orders, refunds and cancellations into Odoo through signed webhooks and a "
    "polling backstop; stock, shipments and refunds back to the store through the REST API v3",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["omni_connector_base"],
    "external_dependencies": {"python": ["woocommerce", "requests"]},
    "data": [
        "security/woocommerce_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "views/omni_backend_views.xml",
        "views/omni_woocommerce_product_views.xml",
        "views/account_move_views.xml",
    ],
}
