{
    "name": "Omnichannel Connector: Shopify",
    "summary": "Shopify orders, refunds and fulfillments into Odoo through signed webhooks and a polling "
    "backstop; stock levels, shipments and refunds back to Shopify through the GraphQL Admin API",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["omni_connector_base"],
    "external_dependencies": {"python": ["shopifyapp", "httpx"]},
    "data": [
        "security/shopify_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "views/omni_backend_views.xml",
        "views/omni_shopify_variant_views.xml",
        "views/stock_picking_views.xml",
        "views/sale_order_views.xml",
        "views/shopify_menus.xml",
    ],
    "assets": {
        "web.assets_tests": ["omni_connector_shopify/static/tests/tours/**/*"],
    },
}
