"""Configure the demo inside Odoo: ``python3 -m demo.configure --db DB --addons-path P --sims URL``.

Reads the simulators' addresses and credentials from the simulators' control API
(``tests/simulators/serve.py``), runs the shared set-up (``demo/setup_common.py``) and every demo
channel's ``configure`` (``demo/channels/``), commits, and prints the traffic's configuration as
one JSON line prefixed ``DEMO_TRAFFIC_CONFIG``. Idempotent: run again, it finds what it made.
"""

import argparse
import json
import sys

import requests

MARKER = "DEMO_TRAFFIC_CONFIG "


def configure(env, sims, only=None, odoo_url=None):
    from .channels import CHANNELS  # noqa: PLC0415
    from .setup_common import prepare  # noqa: PLC0415

    if odoo_url:
        # Where the simulators reach Odoo: the webhook URL every channel registers (WooCommerce's
        # webhook check compares it with the store's webhooks). Frozen, so that logging in from
        # another address (docker: localhost:8069, the simulators use odoo:8069) does not move it.
        ICP = env["ir.config_parameter"]
        ICP.set_param("web.base.url", odoo_url.rstrip("/"))
        ICP.set_param("web.base.url.freeze", "True")
    setup = prepare(env)
    setup["channels"] = {}
    for channel in CHANNELS:
        if only and channel.key not in only:
            continue
        if channel.simulator and channel.simulator not in sims:
            print(f"demo: no {channel.simulator} simulator is served: channel {channel.key} left out", flush=True)
            continue
        setup["channels"][channel.key] = channel.configure(env, setup, sims.get(channel.simulator))
    env["ir.config_parameter"].set_param("omni_demo.configured", "1")
    env.cr.commit()
    return setup["channels"]


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", default=None)
    parser.add_argument("--sims", required=True, help="control URL of tests/simulators/serve.py")
    parser.add_argument("--odoo-url", default=None, help="where the simulators reach Odoo (web.base.url)")
    parser.add_argument("--odoo-conf", default=None, help="an odoo.conf (docker: /etc/odoo/odoo.conf)")
    parser.add_argument("--db-host", default=None)
    parser.add_argument("--db-user", default=None)
    parser.add_argument("--db-password", default=None)
    args = parser.parse_args(argv)
    sims = requests.get(f"{args.sims.rstrip('/')}/simulators", timeout=30).json()

    import odoo  # noqa: PLC0415 - importable Odoo 19 is this step's one requirement
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    odoo_args = ["-d", args.db]
    for flag, value in (("-c", args.odoo_conf), ("--addons-path", args.addons_path), ("--db_host", args.db_host),
                        ("--db_user", args.db_user), ("--db_password", args.db_password)):
        if value:
            odoo_args += [flag, value]
    config.parse_config(odoo_args)
    registry = Registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        channels = configure(env, sims, odoo_url=args.odoo_url)
    print(MARKER + json.dumps({"channels": channels}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
