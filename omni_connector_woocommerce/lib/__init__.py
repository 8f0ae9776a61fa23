"""Plain-Python parts of the WooCommerce connector: the REST client (``client``), the
payload mapper (``mapper``) and the webhook verifier (``webhook``).

Nothing here imports ``odoo``: the modules are unit-tested without a database. Import the
submodules directly; this package imports nothing eagerly.
"""
