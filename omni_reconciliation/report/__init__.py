from . import omni_settlement_fee_report
