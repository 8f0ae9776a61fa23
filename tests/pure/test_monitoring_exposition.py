"""omni_monitoring's pure parts: the exposition through prometheus_client, the alert state machine,
and the shipped Prometheus rules and Grafana dashboard (YAML/JSON structure, every expression names
metrics the addon exports)."""

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from omni_monitoring.lib.alerts import breached, next_step
from omni_monitoring.lib.exposition import CONTENT_TYPE, cumulative, render

ADDON = Path(__file__).resolve().parents[2] / "omni_monitoring"
FAMILY = re.compile(r'_family\(\s*"(omni_[a-z_]+)",\s*"(gauge|counter|histogram)"')
PROMQL_FUNCTIONS = {"sum", "by", "rate", "increase", "time", "max", "min", "and", "or", "histogram_quantile",
                    "le", "avg", "count", "without", "on", "ignoring", "offset"}


def exported_names():
    """Series names /omni/metrics serves, read from the families omni_metrics.py declares."""
    source = (ADDON / "models" / "omni_metrics.py").read_text()
    names = set()
    for name, kind in FAMILY.findall(source):
        names |= {"counter": {f"{name}_total"}, "histogram": {f"{name}_bucket", f"{name}_sum", f"{name}_count"},
                  "gauge": {name}}[kind]
    return names


def metric_names(expr):
    """Identifiers of an expression that are metric names (outside label matchers and strings)."""
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\((?:[a-z_]+(?:,\s*)?)+\)", lambda m: "" if m.group(0)[1:-1].split(",")[0].strip() in {
        "backend", "channel", "company", "le", "operation", "account", "currency", "state", "reason", "scope",
        "resource", "category", "severity", "cron"} else m.group(0), expr)
    return {word for word in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr) if word not in PROMQL_FUNCTIONS}


def test_render_parses_back_with_prometheus_client():
    families = [
        {"name": "omni_ready_queue_depth", "type": "gauge", "help": "Ready.", "labels": ("backend", "channel"),
         "samples": [(("Shop \"A\"", "shopify"), 3), (("B", None), 0)]},
        {"name": "omni_api_calls", "type": "counter", "help": "Calls.", "labels": ("backend", "operation"),
         "samples": [(("Shop", "orderCreate"), 7)]},
        {"name": "omni_api_call_duration_seconds", "type": "histogram", "help": "Latency.",
         "labels": ("backend", "operation"),
         "samples": [(("Shop", "orderCreate"), (cumulative((0.1, 1.0), (2, 4), 7), 3.5))]},
    ]
    text = render(families).decode()
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    depth = {sample.labels["backend"]: sample.value for sample in parsed["omni_ready_queue_depth"].samples}
    assert depth == {'Shop "A"': 3.0, "B": 0.0}
    assert parsed["omni_api_calls"].type == "counter"
    assert parsed["omni_api_calls"].samples[0].name == "omni_api_calls_total"
    assert parsed["omni_api_calls"].samples[0].value == 7.0
    buckets = {s.labels["le"]: s.value for s in parsed["omni_api_call_duration_seconds"].samples
               if s.name.endswith("_bucket")}
    assert buckets == {"0.1": 2.0, "1.0": 6.0, "+Inf": 7.0}
    sums = {s.name: s.value for s in parsed["omni_api_call_duration_seconds"].samples if not s.name.endswith("_bucket")}
    assert sums == {"omni_api_call_duration_seconds_count": 7.0, "omni_api_call_duration_seconds_sum": 3.5}


def test_alert_state_machine():
    now = datetime(2026, 12, 3, 12, 0)
    assert breached(11, ">", 10) and not breached(10, ">", 10) and breached(10, ">=", 10)
    assert not breached(None, ">", 0)
    assert next_step(True, None, False, now, 5) == "start"
    assert next_step(True, None, False, now, 0) == "fire"
    assert next_step(True, now - timedelta(minutes=4), False, now, 5) == "wait"
    assert next_step(True, now - timedelta(minutes=5), False, now, 5) == "fire"
    assert next_step(True, now - timedelta(minutes=50), True, now, 5) == "keep"
    assert next_step(False, now - timedelta(minutes=50), True, now, 5) == "resolve"
    assert next_step(False, now - timedelta(minutes=1), False, now, 5) == "clear"
    assert next_step(False, None, False, now, 5) == "idle"


def test_exported_names_are_read_from_the_model():
    names = exported_names()
    assert {"omni_ready_queue_depth", "omni_events_processed_total", "omni_api_call_duration_seconds_bucket",
            "omni_cron_lateness_seconds", "omni_payout_in_transit_amount"} <= names
    assert len(names) > 20


def test_alerts_yml_structure_and_metric_names():
    rules = yaml.safe_load((ADDON / "prometheus" / "alerts.yml").read_text())
    exported = exported_names()
    alerts = []
    assert isinstance(rules["groups"], list) and rules["groups"]
    for group in rules["groups"]:
        assert set(group) == {"name", "rules"}
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", rule["alert"])
            assert rule["labels"]["severity"] in {"info", "warning", "error", "critical"}
            assert {"summary", "description"} <= set(rule["annotations"])
            if "for" in rule:
                assert re.fullmatch(r"\d+[smhd]", rule["for"])
            names = metric_names(rule["expr"])
            assert names, rule["alert"]
            assert names <= exported, (rule["alert"], names - exported)
            alerts.append(rule["alert"])
    assert len(alerts) == len(set(alerts))
    # the default rules of Odoo's omni.alert.rule, one by one
    assert {"OmniOldestReadyEventTooOld", "OmniFailureRatioHigh", "OmniNoWebhook", "OmniPollFailing", "OmniDeadEvent",
            "OmniPayoutUnmatched", "OmniNoPayout"} <= set(alerts)


def test_grafana_dashboard_structure_and_metric_names():
    dashboard = json.loads((ADDON / "prometheus" / "grafana_dashboard.json").read_text())
    exported = exported_names()
    assert dashboard["title"] and dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    covered = set()
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= exported, (panel["title"], names - exported)
            covered |= names
    # every family appears on the dashboard (counters through _total, the histogram through _bucket)
    families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in exported}
    assert families <= {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in covered}
