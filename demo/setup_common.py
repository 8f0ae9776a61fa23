"""What every demo channel shares, created inside Odoo: company name, currencies, products with stock,
sales taxes, the bank journal, fast reconciliation crons. Idempotent (found again by name/code).

Runs in ``demo/configure.py`` with an ``env`` as superuser; imports no Odoo module at import time.
"""

DEMO_TAG = "Demo data"
COMPANY_NAME = "Omni Demo Retail [DEMO]"
# SKU, name, price (EUR, tax included), barcode, stock. DEMO-BEANIE-RED is sold by Shopify but is not
# in Odoo: its order lands in the exception queue.
PRODUCTS = [
    ("TSHIRT-BLK-M", "[DEMO] Organic T-Shirt Black M", 29.0, "4006381333931", 120),
    ("MUG-CLASSIC", "[DEMO] Classic Mug", 15.0, "4006381333948", 80),
    ("HOODIE-GRY-L", "[DEMO] Hoodie Grey L", 90.0, "4006381333955", 40),
    ("SOCKS-3PK", "[DEMO] Socks, 3-pack", 10.0, "4006381333962", 200),
]
UNKNOWN_SKU = "DEMO-BEANIE-RED"
BANK_JOURNAL_CODE = "DBNK"
FAST_CRONS = (
    "omni_reconciliation.cron_omni_settlement_import",
    "omni_reconciliation.cron_omni_settlement_match_post",
    "omni_reconciliation.cron_omni_settlement_bank",
)


def prepare(env):
    """Return ``{"company", "warehouse", "products" {sku: product}, "taxes" {key: tax}, "bank_journal"}``."""
    from odoo import Command  # noqa: PLC0415 - this module is imported outside Odoo too

    company = env.ref("base.main_company")
    if company.name != COMPANY_NAME:
        company.name = COMPANY_NAME
    eur = env.ref("base.EUR")
    if not eur.active:
        eur.active = True
    if not env["res.currency.rate"].search([("currency_id", "=", eur.id), ("company_id", "in", (company.id, False))]):
        env["res.currency.rate"].create({"currency_id": eur.id, "rate": 0.92, "name": "2020-01-01",
                                         "company_id": company.id})
    tag = env["product.tag"].search([("name", "=", DEMO_TAG)], limit=1) or env["product.tag"].create(
        {"name": DEMO_TAG})
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    if warehouse.name != "[DEMO] Warehouse":
        warehouse.name = "[DEMO] Warehouse"
    Tax = env["account.tax"].with_company(company)
    taxes = {}
    for key, name, amount, included in (("19_incl", "[DEMO] VAT 19% (included)", 19.0, "tax_included"),
                                        ("875_excl", "[DEMO] Sales tax 8.75%", 8.75, "tax_excluded")):
        tax = Tax.search([("name", "=", name), ("company_id", "=", company.id)], limit=1)
        taxes[key] = tax or Tax.create({"name": name, "amount": amount, "amount_type": "percent",
                                        "type_tax_use": "sale", "price_include_override": included,
                                        "company_id": company.id})
    Product = env["product.product"].with_company(company)
    products = {}
    for sku, name, price, barcode, quantity in PRODUCTS:
        product = Product.search([("default_code", "=", sku)], limit=1)
        if not product:
            product = Product.create({
                "name": name, "default_code": sku, "barcode": barcode, "type": "consu", "is_storable": True,
                "list_price": price, "taxes_id": [Command.set(taxes["19_incl"].ids)],
                "product_tag_ids": [Command.link(tag.id)],
                "description_sale": "Demo product of the omnichannel demo (python3 -m demo).",
            })
            env["stock.quant"].with_context(inventory_mode=True).create({
                "product_id": product.id, "location_id": warehouse.lot_stock_id.id, "inventory_quantity": quantity,
            }).action_apply_inventory()
        products[sku] = product
    Journal = env["account.journal"].with_company(company)
    bank = Journal.search([("code", "=", BANK_JOURNAL_CODE), ("company_id", "=", company.id)], limit=1)
    if not bank:
        bank = Journal.create({"name": "[DEMO] Bank (payout deposits)", "code": BANK_JOURNAL_CODE, "type": "bank",
                               "company_id": company.id})
    # The demo's administrator works the payouts and posts bank lines (the demo's bank feed).
    admin = env.ref("base.user_admin")
    for xmlid in ("account.group_account_manager", "account.group_account_basic"):
        group = env.ref(xmlid, raise_if_not_found=False)
        if group and group not in admin.group_ids:
            admin.group_ids = [Command.link(group.id)]
    for xmlid in FAST_CRONS:
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron:
            # Every minute, priority 0. Not to keep them from starving: Odoo 19's cron worker runs,
            # per pass, every job that is due at the start of the pass, once each, in
            # (failure_count, priority, id) order (ir_cron._process_jobs), so a due payout job runs
            # in the next pass whatever its priority. But a busy event processor (priority 1) is
            # "partially done" only after Odoo's minimum of 10 runs of it (MIN_RUNS_PER_JOB), one
            # order import each once its 10 s are spent: a pass lasts a minute or more on a loaded
            # machine. Priority 0 runs the payout jobs at the start of each pass instead of after
            # those runs (the demo's pollers too, demo/channels/amazon.py and ebay.py).
            cron.write({"interval_number": 1, "interval_type": "minutes", "active": True, "priority": 0})
    return {"company": company, "warehouse": warehouse, "products": products, "taxes": taxes,
            "bank_journal": bank, "eur": eur}
