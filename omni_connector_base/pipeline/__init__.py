"""Odoo-free building blocks of the event pipeline (errors, backoff, signatures).

Kept free of any ``odoo`` import so connectors and pure tests can use them directly.
"""
