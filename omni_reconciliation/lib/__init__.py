"""Odoo-free core of payout reconciliation: source importers, matching, posting (the canonical
settlement they produce is base's ``canonical.settlement``).

Nothing here imports ``odoo``; the ``omni_reconciliation`` models call it. Money (ISO 4217
exponents, number formats) is base's ``canonical.money``. The Stripe client needs the
``stripe`` package, so it is imported on demand (``from .stripe_client import
fetch_settlement``), not from here; ``stripe_mapper`` is pure.
"""
