{
    "name": "Omnichannel Payout Reconciliation",
    "summary": "Import Stripe, Shopify Payments and Amazon payouts, match them to orders and payments, post them "
    "through clearing accounts and match the bank deposit",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "Odoo Omnichannel contributors",
    "website": "https://github.com/odoo-omnichannel/odoo-omnichannel",
    "depends": ["omni_connector_base", "account"],
    "external_dependencies": {"python": ["stripe"]},
    "data": [
        "security/omni_reconciliation_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "views/omni_settlement_account_views.xml",
        "views/omni_settlement_views.xml",
        "views/omni_settlement_line_views.xml",
        "views/omni_settlement_fee_report_views.xml",
        "wizard/omni_settlement_import_wizard_views.xml",
        "views/omni_reconciliation_menus.xml",
    ],
    "assets": {
        "web.assets_tests": ["omni_reconciliation/static/tests/tours/**/*"],
    },
}
