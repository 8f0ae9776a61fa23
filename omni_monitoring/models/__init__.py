from . import (
    omni_alert_rule,
    omni_backend_overview,
    omni_event,
    omni_event_state_count,
    omni_exception,
    omni_health,
    omni_metric_minute,
    omni_metrics,
    omni_trace,
    res_config_settings,
    trace_buttons,
)
