"""Odoo-free core of the Shopify connector.

* :mod:`.webhook` -- webhook signature verification and event keys;
* :mod:`.client` -- GraphQL Admin API client (cost-aware throttling, retries,
  client-credentials token exchange, inventory / fulfillment / refund / webhook
  helpers);
* :mod:`.mapper` -- Shopify payloads (REST-shaped webhook bodies) -> canonical
  ``Order`` / ``Refund`` / ``Shipment``;
* :mod:`.sync` -- synchronisation decisions: inbox keys of webhooks and polled orders,
  order content digest, stock batches, fulfillment and refund plans.

Nothing here imports ``odoo``: the modules are unit-tested without a database and
imported by the addon's models. Import the submodules directly; this package
imports nothing eagerly so that using the mapper does not pull in the HTTP stack.
"""
