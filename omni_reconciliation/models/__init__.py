from . import account_move, omni_settlement, omni_settlement_account, omni_settlement_line
