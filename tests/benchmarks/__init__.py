"""Benchmarks: real Odoo servers on loopback, measured from the outside (see ``odoo_server``)."""
