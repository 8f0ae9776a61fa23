"""The shape of a demo channel (see ``demo/channels/__init__.py``)."""


class DemoChannel:
    key = ""
    label = ""
    simulator = None  # key in tests/simulators/serve.py SIMULATORS

    def configure(self, env, setup, sim):
        """Create or update the channel in Odoo; return the traffic's information (JSON-able)."""
        raise NotImplementedError

    def traffic(self, runner, info, sim):
        """An object with optional ``order(n)``, ``refund(n)``, ``payout(n)`` methods."""
        raise NotImplementedError

    def after_start(self, rpc, info):
        """Optional: once Odoo serves and the traffic seeded the simulator (``rpc``: demo/rpc.py)."""
