{
    "name": "Omnichannel Monitoring of Payouts",
    "summary": "Payout metrics' companion views: Payouts in Transit, payout analysis, the Trace button on payouts "
    "and payout lines, the last payout on the Overview (installed automatically with monitoring and "
    "reconciliation)",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["omni_monitoring", "omni_reconciliation"],
    "auto_install": True,
    "data": [
        "security/omni_monitoring_reconciliation_security.xml",
        "security/ir.model.access.csv",
        "views/omni_settlement_analysis_views.xml",
        "views/omni_payout_transit_report_views.xml",
        "views/omni_trace_views.xml",
        "views/omni_overview_views.xml",
        "views/omni_monitoring_reconciliation_menus.xml",
    ],
}
