from . import test_access, test_alerts, test_base_only, test_health, test_metrics, test_overview, test_tours_overview
