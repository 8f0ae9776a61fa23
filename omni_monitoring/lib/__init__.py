"""Odoo-free parts of the monitoring: the Prometheus exposition and the alert conditions."""
