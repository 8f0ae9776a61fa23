from . import (
    account_move,
    omni_exception,
    omni_settlement,
    omni_settlement_account,
    omni_settlement_actions,
    omni_settlement_bank,
    omni_settlement_import,
    omni_settlement_line,
    omni_settlement_matching,
    omni_settlement_posting,
)
