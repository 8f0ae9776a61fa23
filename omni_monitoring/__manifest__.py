{
    "name": "Omnichannel Monitoring",
    "summary": "Prometheus metrics and health endpoints, an Omnichannel overview, alert rules and a trace "
    "from the channel event to the bank line",
    "version": "19.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["omni_connector_base"],
    "external_dependencies": {"python": ["prometheus_client"]},
    "data": [
        "security/omni_monitoring_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "data/omni_alert_rules.xml",
        "views/omni_overview_views.xml",
        "views/omni_analysis_views.xml",
        "views/omni_alert_rule_views.xml",
        "wizard/omni_trace_views.xml",
        "views/res_config_settings_views.xml",
        "views/omni_monitoring_menus.xml",
    ],
    "assets": {
        "web.assets_tests": ["omni_monitoring/static/tests/tours/**/*"],
    },
    "uninstall_hook": "uninstall_hook",
}
