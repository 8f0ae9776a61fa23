"""Prometheus text exposition of metric families computed from the database.

The Odoo side (``models/omni_metrics.py``) computes plain families::

    {"name": "omni_ready_queue_depth", "type": "gauge", "help": "...", "labels": ("backend", ...),
     "samples": [((label values...), value), ...]}

(histograms: ``value`` is ``(buckets, sum)`` with ``buckets`` ``[(upper bound, cumulative count)]``
ending with ``+Inf``). :func:`render` turns them into the text format through ``prometheus_client``:
a private ``CollectorRegistry`` with one custom collector, never the process-wide default registry,
so a scrape shows what the database holds whichever worker answers. No ``odoo`` import.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_FAMILY_CLASSES = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily, "histogram": HistogramMetricFamily}


def _label(value):
    return "" if value is None or value is False else str(value)


def build_family(family):
    """One ``prometheus_client`` metric family from a plain one."""
    kind = family["type"]
    metric = _FAMILY_CLASSES[kind](family["name"], family["help"], labels=list(family["labels"]))
    for labels, value in family["samples"]:
        values = [_label(label) for label in labels]
        if kind == "histogram":
            buckets, total = value
            metric.add_metric(values, [(_bound(bound), count) for bound, count in buckets], total)
        else:
            metric.add_metric(values, float(value))
    return metric


def _bound(bound):
    return "+Inf" if bound in ("+Inf", float("inf")) else repr(float(bound))


class FamiliesCollector:
    """A custom collector serving families computed by ``compute()`` at each collection."""

    def __init__(self, compute):
        self._compute = compute

    def collect(self):
        for family in self._compute():
            yield build_family(family)


def render(families):
    """The text exposition (bytes) of ``families`` (an iterable of plain families)."""
    families = list(families)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(lambda: families))
    return generate_latest(registry)


def cumulative(bounds, counts, total):
    """Histogram buckets ``[(bound, cumulative)] + [("+Inf", total)]`` from per-bucket ``counts``."""
    running, buckets = 0, []
    for bound, count in zip(bounds, counts, strict=True):
        running += count
        buckets.append((bound, running))
    buckets.append(("+Inf", total))
    return buckets
