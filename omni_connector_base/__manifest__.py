{
    "name": "Omnichannel Connector Base",
    "summary": "Backends, bindings, the durable event inbox/outbox, webhook intake and the exception queue "
    "shared by every omnichannel connector",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["sale_management", "sale_stock", "account", "mail"],
    "data": [
        "security/omni_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "data/omni_products.xml",
        "views/omni_backend_views.xml",
        "views/omni_backend_kit_views.xml",
        "views/omni_event_views.xml",
        "views/omni_product_map_wizard_views.xml",
        "views/omni_exception_views.xml",
        "views/omni_binding_views.xml",
        "views/omni_menus.xml",
        "views/omni_connect_wizard_views.xml",
        "views/sale_order_views.xml",
        "views/omni_api_key_views.xml",
        "views/omni_api_key_gateway_views.xml",
        "views/omni_governance_views.xml",
    ],
    "assets": {
        # the tours' shared steps (screenshots), imported by the connectors' tours
        "web.assets_tests": ["omni_connector_base/static/tests/tours/**/*"],
    },
    "application": True,
}
