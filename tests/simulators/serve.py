#!/usr/bin/env python3
"""Serve every channel simulator as a network service, plus a small control API.

    python3 tests/simulators/serve.py [--host 127.0.0.1] [--public-host HOST] [--port 8180]

Each simulator of :data:`SIMULATORS` listens on its own port (``--port`` + its offset); the
control API listens on ``--port`` itself:

* ``GET  /simulators`` -- ``{key: {"url": ..., "credentials": {...}}}``: where each simulator
  answers (seen from ``--public-host``) and the credentials it accepts;
* ``POST /traffic`` -- start the demo traffic (``demo/traffic.py``) in this process with the JSON
  configuration the demo's set-up step printed; ``GET /traffic`` -- what it sent so far;
* ``GET  /health`` -- ``{"ok": true}``.

The source-install demo (``python3 -m demo``) and the ``simulators`` service of
``docker-compose.yml`` both run this file. A new channel simulator is one entry of
:data:`SIMULATORS` (its module file, port offset, how to build it and its credentials).
"""

import argparse
import importlib.util
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _shopify(module, host, port, credentials):
    sim = module.ShopifySimulator(
        access_token=credentials["access_token"],
        api_secret=credentials["webhook_secret"],
        client_id=credentials["client_id"],
        shop_domain=credentials["shop_domain"],
    )
    sim.known_shops = {credentials["shop_domain"]}  # a wrong shop domain gets Shopify's 404
    return sim.start(host=host, port=port)


def _stripe(module, host, port, credentials):
    return module.StripeSimulator(api_key=credentials["api_key"], host=host, port=port).start()


def _woocommerce(module, host, port, credentials):
    sim = module.WooCommerceSimulator(credentials["consumer_key"], credentials["consumer_secret"])
    return sim.start(host=host, port=port)


def _amazon(module, host, port, credentials):
    # Amazon's usage plans stay on (searchOrders: a burst of 20, then one call every 3 minutes):
    # the demo polls every 2 minutes, within them.
    sim = module.AmazonSimulator()
    sim.start(host=host, port=port)
    sim.public_url = credentials.get("public_url")  # presigned document URLs, seen from Odoo
    return sim


def _ebay(module, host, port, credentials):
    sim = module.EbaySimulator(app_id=credentials["app_id"], cert_id=credentials["cert_id"],
                               refresh_token=credentials["refresh_token"])
    sim.start(host=host, port=port)
    # The Finances API's signing key pair is made by the simulator (as eBay's Key Management API
    # issues one): handed to the demo with the other credentials.
    credentials["signing_key"] = sim.signing_private_pem
    credentials["signing_jwe"] = sim.signing_jwe
    return sim


# key -> module file, port offset, factory(module, host, port, credentials), credentials (simulated:
# nothing secret, the same on both sides of the demo).
SIMULATORS = {
    "shopify": {
        "file": "shopify_sim.py",
        "offset": 1,
        "factory": _shopify,
        "credentials": {
            "access_token": "shpat_demo_access_token",
            "webhook_secret": "demo-shopify-app-secret",
            "client_id": "demo-shopify-client-id",
            "shop_domain": "omni-demo-store.myshopify.com",
        },
    },
    "stripe": {
        "file": "stripe_sim.py",
        "offset": 2,
        "factory": _stripe,
        "credentials": {"api_key": "sk_test_omni_demo_key"},
    },
    "woocommerce": {
        "file": "woocommerce_sim.py",
        "offset": 3,
        "factory": _woocommerce,
        "credentials": {
            "consumer_key": "ck_omni_demo_0123456789abcdef",
            "consumer_secret": "cs_omni_demo_fedcba9876543210",
            "webhook_secret": "demo-woocommerce-webhook-secret",
        },
    },
    "amazon": {
        "file": "amazon_sim.py",
        "offset": 4,
        "factory": _amazon,
        # the simulator's own LWA application and seller (amazon_sim.CLIENT_ID...), filled in at start
        "credentials": {},
    },
    "ebay": {
        "file": "ebay_sim.py",
        "offset": 5,
        "factory": _ebay,
        "credentials": {
            "app_id": "OmniDemo-PRD-0001",
            "cert_id": "PRD-omni-demo-cert",
            "refresh_token": "v^1.1#i^1#r^1#omni-demo-refresh-token",
        },
    },
}


def load_module(filename):
    name = f"omni_sim_{Path(filename).stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Services:
    """The running simulators and, once started, the demo traffic."""

    def __init__(self, host, public_host, port, only=None):
        self.host, self.public_host, self.port = host, public_host, port
        self.sims, self.info = {}, {}
        self.traffic = None
        self.lock = threading.Lock()
        for key, spec in SIMULATORS.items():
            if only and key not in only:
                continue
            module = load_module(spec["file"])
            sim_port = port + spec["offset"]
            url = f"http://{public_host}:{sim_port}"
            credentials = dict(spec["credentials"])
            if key == "amazon":
                credentials.update(client_id=module.CLIENT_ID, client_secret=module.CLIENT_SECRET,
                                   refresh_token=module.REFRESH_TOKEN, seller_id=module.SELLER_ID, public_url=url)
            self.sims[key] = spec["factory"](module, host, sim_port, credentials)
            self.info[key] = {"url": url, "credentials": credentials}

    def start_traffic(self, config):
        with self.lock:
            if self.traffic is not None:
                self.traffic.stop()
            if str(REPO) not in sys.path:
                sys.path.insert(0, str(REPO))
            from demo.traffic import Traffic  # noqa: PLC0415 - only this process runs traffic

            self.traffic = Traffic(config, self.sims)
            self.traffic.start()

    def stop(self):
        if self.traffic is not None:
            self.traffic.stop()
        for sim in self.sims.values():
            sim.stop()


class _Control(BaseHTTPRequestHandler):
    services = None  # set on the bound subclass

    def log_message(self, format, *args):
        return

    def _answer(self, status, body):
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self._answer(200, {"ok": True})
        if self.path == "/simulators":
            return self._answer(200, self.services.info)
        if self.path == "/traffic":
            traffic = self.services.traffic
            return self._answer(200, traffic.stats() if traffic else {"running": False})
        return self._answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/traffic":
            return self._answer(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            config = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._answer(400, {"error": "the body is not JSON"})
        self.services.start_traffic(config)
        return self._answer(202, {"running": True})


def _traffic_from_file(services, path, stopping):
    while not stopping.is_set():
        if path.exists():
            try:
                config = json.loads(path.read_text())
            except ValueError:
                config = None  # being written: read again
            if config:
                print(f"traffic: configuration read from {path}", flush=True)
                services.start_traffic(config)
                return
        stopping.wait(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 in docker)")
    parser.add_argument("--public-host", default=None, help="host name others reach the simulators by")
    parser.add_argument("--port", type=int, default=8180, help="control port; simulators use the next ports")
    parser.add_argument("--traffic-from", default=None,
                        help="start the traffic once this JSON file exists (docker: written by the demo service)")
    parser.add_argument("--only", default="", help="comma-separated simulator keys (default: all)")
    args = parser.parse_args(argv)
    only = {key for key in args.only.split(",") if key}
    services = Services(args.host, args.public_host or args.host, args.port, only)
    control = ThreadingHTTPServer((args.host, args.port), type("Control", (_Control,), {"services": services}))
    control.daemon_threads = True
    stopping = threading.Event()

    def _stop(*_args):
        stopping.set()
        threading.Thread(target=control.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for key, info in services.info.items():
        print(f"simulator {key}: {info['url']}", flush=True)
    print(f"control: http://{args.public_host or args.host}:{args.port}", flush=True)
    if args.traffic_from:
        threading.Thread(target=_traffic_from_file, args=(services, Path(args.traffic_from), stopping),
                         daemon=True).start()
    try:
        control.serve_forever(poll_interval=0.2)
    finally:
        services.stop()
        control.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
