"""Screenshots of the key screens of a running demo (headless Chromium, 1280x800) into docs/screenshots/.

    python3 -m demo.screenshots --url http://127.0.0.1:8069 --db omni_demo

Needs ``playwright`` (``pip install playwright``) and a Chromium (``/usr/bin/chromium`` is used when
present). Each screen is opened as a user would, through the web client's URL of its action.
"""

import argparse
import sys
import time
from pathlib import Path

from .rpc import OdooRpc

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _screens(rpc):
    """(file name, URL path, what must be on screen before the shot)."""
    screens = [
        ("01_sale_orders.png", "/odoo/action-sale.action_orders", ".o_list_view .o_data_row"),
        ("02_exceptions.png", "/odoo/action-omni_connector_base.action_omni_exception", ".o_data_row"),
    ]
    exception = rpc("omni.exception", "search", [[("message", "ilike", "DEMO-BEANIE-RED")]], {"limit": 1})
    if exception:
        screens.append(("03_exception_unknown_sku.png",
                        f"/odoo/action-omni_connector_base.action_omni_exception/{exception[0]}", ".o_form_view"))
    screens.append(("04_payouts.png", "/odoo/action-omni_reconciliation.action_omni_settlement", ".o_data_row"))
    payout = rpc("omni.settlement", "search", [[("state", "in", ("posted", "reconciled"))]], {"limit": 1})
    if payout:
        screens.append(("05_payout.png", f"/odoo/action-omni_reconciliation.action_omni_settlement/{payout[0]}",
                        ".o_form_view"))
    screens.append(("06_events.png", "/odoo/action-omni_connector_base.action_omni_event", ".o_data_row"))
    backend = rpc("omni.backend", "search", [[("channel", "=", "shopify")]], {"limit": 1})
    if backend:
        screens.append(("07_shopify_channel.png",
                        f"/odoo/action-omni_connector_base.action_omni_backend/{backend[0]}", ".o_form_view"))
    screens.append(("08_connect_wizard.png", "/odoo/action-omni_connector_base.action_omni_connect_wizard",
                    ".modal .o_form_view"))
    return screens


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="omni_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional, for this script only

    rpc = OdooRpc(args.url, args.db, args.login, args.password)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(300000)
        page.goto(f"{args.url}/web/login?db={args.db}")
        page.fill("input[name=login]", args.login)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_selector(".o_main_navbar", timeout=300000)
        for name, path, ready in _screens(rpc):
            page.goto(f"{args.url}{path}")
            try:
                page.wait_for_selector(ready, timeout=120000)
            except Exception:
                print(f"screenshots: {name}: '{ready}' not seen, shot taken anyway", file=sys.stderr)
            time.sleep(1.0)  # fonts, the chatter, lazy widgets
            page.screenshot(path=str(out / name))
            print(f"screenshots: {out / name}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
