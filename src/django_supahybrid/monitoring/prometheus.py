"""Export `django_supahybrid.monitoring.metrics` to Prometheus (the ``metrics`` extra).

``pip install django-supahybrid[metrics]`` installs ``prometheus_client``. Then either
register the collector in the default registry, which django-prometheus' ``/metrics``
view (or ``prometheus_client.start_http_server``) serves:

```python
from django_supahybrid.monitoring.prometheus import register

register()  # once, e.g. in an AppConfig.ready()
```

or let `MetricsView` answer ``?format=prometheus``.
Counters become ``supahybrid_<name>_total`` (dots become underscores); the transport of
``realtime.*`` counters, the class of ``http.responses.*`` and the alias of the pool gauge
become labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django_supahybrid.monitoring import metrics

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

__all__ = ["SupaHybridCollector", "register", "render"]

_NAMESPACE = "supahybrid"
#: Counter and gauge name prefixes whose last dotted part becomes a label.
_LABELLED = {
    metrics.REALTIME_PUBLISHED: "transport",
    metrics.REALTIME_FAILED: "transport",
    metrics.POOL_IN_USE: "alias",
    "http.responses": "status",
}


def _split(name: str) -> tuple[str, dict[str, str]]:
    """``("supahybrid_realtime_published", {"transport": "NotifyTransport"})``."""
    for prefix, label in _LABELLED.items():
        if name.startswith(prefix + "."):
            return _metric_name(prefix), {label: name[len(prefix) + 1 :]}
    return _metric_name(name), {}


def _metric_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name)
    return f"{_NAMESPACE}_{cleaned}"


def _families(values: dict[str, int], family_class: Any, kind: str) -> Iterator[Any]:
    families: dict[str, Any] = {}
    for name, value in values.items():
        metric, labels = _split(name)
        family = families.get(metric)
        if family is None:
            family = families[metric] = family_class(
                metric, f"django-supahybrid {kind}: {metric}", labels=sorted(labels)
            )
        family.add_metric([labels[k] for k in sorted(labels)], value)
    yield from families.values()


class SupaHybridCollector:
    """A ``prometheus_client`` collector reading the registry at every scrape."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield from _families(metrics.snapshot(), CounterMetricFamily, "counter")
        yield from _families(metrics.gauges(), GaugeMetricFamily, "gauge")


def register(registry: CollectorRegistry | None = None) -> SupaHybridCollector:
    """Add the collector to ``registry`` (Prometheus' default one when ``None``)."""
    from prometheus_client import REGISTRY

    collector = SupaHybridCollector()
    (registry or REGISTRY).register(collector)
    return collector


def render() -> bytes:
    """The counters and gauges in Prometheus' text exposition format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    register(registry)
    return generate_latest(registry)
