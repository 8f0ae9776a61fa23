from . import omni_backend_overview, omni_payout_transit_report, omni_settlement_account, trace_buttons
