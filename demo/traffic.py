"""Demo traffic, run by ``tests/simulators/serve.py`` next to the simulators it drives.

Orders go round the channels that take orders (one every ``order_every`` seconds), every
``refund_every``-th order tick refunds an earlier order where the channel can, and every
``payout_every`` seconds each paying channel pays out what it collected. Configuration (JSON,
printed by ``demo/configure.py``)::

    {"odoo_url": ..., "db": ..., "login": ..., "password": ..., "seed": 1,
     "pace": {"order_every": 100, "refund_every": 4, "payout_every": 180, "first_payout": 90},
     "channels": {"shopify": {...}, "woocommerce": {...}, "amazon": {...}, "ebay": {...},
                  "custom_api": {...}, "stripe": {...}}}
"""

import itertools
import logging
import threading
import time
from collections import deque

import requests

from .channels import by_key
from .rpc import OdooRpc

_logger = logging.getLogger("demo.traffic")
PACES = {
    # ``order_every``: seconds for one round of the channels that take orders (one order each).
    # normal: a round every 100 s, five channels: 3 orders a minute; a payout every 3 minutes
    "normal": {"order_every": 100.0, "refund_every": 4, "payout_every": 180.0, "first_payout": 90.0},
    # for the end-to-end test: a round every 40 s (7.5 orders a minute), the first payout after 30 s;
    # three rounds of orders only (then payouts and bank lines go on): every channel has orders, the
    # unknown SKU and a refund are among them, and the work stays bounded on a loaded machine.
    "fast": {"order_every": 40.0, "refund_every": 3, "payout_every": 30.0, "first_payout": 30.0, "rounds": 3},
}


class Traffic(threading.Thread):
    def __init__(self, config, sims):
        super().__init__(name="demo-traffic", daemon=True)
        self.config = config
        self.sims = sims
        self.odoo_url = config["odoo_url"].rstrip("/")
        self.seed = int(config.get("seed") or 1)
        pace = config.get("pace") or "normal"
        self.pace = dict(PACES[pace]) if isinstance(pace, str) else dict(PACES["normal"], **pace)
        self.shared = {}
        self.clock = time.monotonic
        self.log = deque(maxlen=50)
        self.counts = {}
        self._stop = threading.Event()
        self._rpc = OdooRpc(self.odoo_url, config["db"], config["login"], config["password"])
        registry = by_key()
        self.channels = {}
        for key, info in config["channels"].items():
            channel = registry[key]
            sim = sims.get(channel.simulator) if channel.simulator else None
            self.channels[key] = channel.traffic(self, info, sim)

    # ------------------------------------------------------------ helpers
    def sim_module(self, key):
        return __import__("sys").modules[f"omni_sim_{key}_sim"]

    def rpc(self, model, method, args, kwargs=None):
        """Odoo's external JSON-RPC API, as the demo administrator."""
        return self._rpc(model, method, args, kwargs)

    def _record(self, key, kind, outcome):
        if outcome is None:
            return
        status, text = outcome
        self.counts[f"{key}.{kind}"] = self.counts.get(f"{key}.{kind}", 0) + 1
        line = f"{time.strftime('%H:%M:%S')} {text} -> {status}"
        self.log.append(line)
        print(f"[demo traffic] {line}", flush=True)

    def stats(self):
        return {"running": self.is_alive(), "counts": dict(self.counts), "recent": list(self.log)}

    def stop(self):
        self._stop.set()

    # --------------------------------------------------------------- loop
    def _do(self, key, kind, number):
        method = getattr(self.channels[key], kind, None)
        if method is None:
            return False
        try:
            self._record(key, kind, method(number))
        except Exception as error:
            self._record(key, kind, ("error", f"{key} {kind} failed: {type(error).__name__}: {error}"))
        return True

    def _wait_for_odoo(self):
        while not self._stop.is_set():
            try:
                if requests.get(f"{self.odoo_url}/web/health", timeout=5).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            self._stop.wait(2)
        return False

    def run(self):
        if not self._wait_for_odoo():
            return
        registry = by_key()
        for key in self.channels:
            try:
                registry[key].after_start(self.rpc, self.config["channels"][key])
                self._record(key, "setup", ("ok", f"{key}: set up in Odoo"))
            except Exception as error:
                self._record(key, "setup", ("error", f"{key} set-up failed: {type(error).__name__}: {error}"))
        order_channels = [key for key, obj in self.channels.items() if hasattr(obj, "order")]
        payout_channels = [key for key, obj in self.channels.items() if hasattr(obj, "payout")]
        refund_channels = itertools.cycle([key for key, obj in self.channels.items() if hasattr(obj, "refund")]
                                          or [None])
        cycle = itertools.cycle(order_channels)
        next_order = self.clock()
        next_payout = self.clock() + self.pace["first_payout"]
        ticks = payouts = 0
        while not self._stop.is_set():
            now = self.clock()
            rounds = self.pace.get("rounds") or 0
            if order_channels and now >= next_order and not (rounds and ticks >= rounds * len(order_channels)):
                ticks += 1
                # one order per channel per round, numbered per round so ids stay unique
                key = next(cycle)
                self._do(key, "order", ticks)
                if ticks % (self.pace["refund_every"] * len(order_channels)) == 0:
                    refund_key = next(refund_channels)
                    if refund_key:
                        self._do(refund_key, "refund", ticks)
                next_order = now + self.pace["order_every"] / max(1, len(order_channels))
            if payout_channels and now >= next_payout:
                payouts += 1
                for key in payout_channels:
                    self._do(key, "payout", payouts)
                next_payout = now + self.pace["payout_every"]
            self._stop.wait(0.2)
