from . import (
    omni_alert_rule,
    omni_backend_overview,
    omni_event,
    omni_exception,
    omni_health,
    omni_metric_minute,
    omni_metrics,
    omni_payout_transit_report,
    omni_settlement_account,
    omni_trace,
    res_config_settings,
    trace_buttons,
)
