"""Odoo's external JSON-RPC API (``/jsonrpc``), as the demo's administrator. No Odoo import."""

import requests


class OdooRpc:
    def __init__(self, url, db, login, password):
        self.url, self.db, self.login, self.password = url.rstrip("/"), db, login, password
        self._uid = None
        self.session = requests.Session()

    def _call(self, service, method, args):
        response = self.session.post(f"{self.url}/jsonrpc", json={
            "jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args},
        }, timeout=120)
        body = response.json()
        if body.get("error"):
            error = body["error"]
            raise RuntimeError((error.get("data") or {}).get("message") or error.get("message"))
        return body["result"]

    def __call__(self, model, method, args, kwargs=None):
        if self._uid is None:
            self._uid = self._call("common", "login", [self.db, self.login, self.password])
            if not self._uid:
                raise RuntimeError(f"login {self.login} refused by database {self.db}")
        return self._call("object", "execute_kw",
                          [self.db, self._uid, self.password, model, method, args, kwargs or {}])
