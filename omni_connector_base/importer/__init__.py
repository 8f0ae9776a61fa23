"""Pure-Python planning for the shared order importer (no Odoo import)."""
