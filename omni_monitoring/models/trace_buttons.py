"""The *Trace* smart button on every record of the chain (see ``omni_trace.py``).

Payouts and payout lines get theirs from ``omni_monitoring_reconciliation``."""

from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "omni.trace.mixin"]


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "omni.trace.mixin"]


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "omni.trace.mixin"]


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "omni.trace.mixin"]


class AccountBankStatementLine(models.Model):
    _name = "account.bank.statement.line"
    _inherit = ["account.bank.statement.line", "omni.trace.mixin"]
