"""The demo's channels: one plug-in entry per kind of channel.

Each entry is a :class:`~demo.channels.base.DemoChannel` with

* ``simulator``: the key of its simulator in ``tests/simulators/serve.py`` (or None);
* ``configure(env, setup, sim)``: runs inside Odoo (``demo/configure.py``), creates or updates the
  channel's records (backend, tax maps, payout account...) and returns what its traffic needs
  (JSON-able);
* ``traffic(runner, info, sim)``: runs in the simulators' process (``demo/traffic.py``) and
  returns an object whose ``order(n)``, ``refund(n)`` and ``payout(n)`` methods (each optional)
  make the channel's traffic.

A new channel is a new module here added to :data:`CHANNELS` and, when
it has a simulator, an entry in ``tests/simulators/serve.py``'s ``SIMULATORS``.
"""

from . import amazon, custom_api, ebay, shopify, stripe, woocommerce

# Order matters: payouts of Stripe settle the custom storefront's card payments (configured first).
CHANNELS = [shopify.CHANNEL, woocommerce.CHANNEL, amazon.CHANNEL, ebay.CHANNEL, custom_api.CHANNEL, stripe.CHANNEL]


def by_key():
    return {channel.key: channel for channel in CHANNELS}
