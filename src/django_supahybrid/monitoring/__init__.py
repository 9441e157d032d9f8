"""What the library counts, and the ways to read it.

- ``metrics``: per-process counters and gauges (:func:`snapshot`);
- ``middleware``: :class:`RequestMetricsMiddleware`, requests, latency and queries;
- ``views``: :class:`MetricsView`, JSON or Prometheus text behind a token;
- ``prometheus``: a collector for ``prometheus_client`` (the ``metrics`` extra);
- ``pool_gauges``: connections in use per database pool.
"""

from __future__ import annotations

from django_supahybrid.monitoring.metrics import gauges, incr, reset, snapshot
from django_supahybrid.monitoring.middleware import RequestMetricsMiddleware
from django_supahybrid.monitoring.views import HasMetricsAccess, MetricsView, PrometheusRenderer

__all__ = [
    "HasMetricsAccess",
    "MetricsView",
    "PrometheusRenderer",
    "RequestMetricsMiddleware",
    "gauges",
    "incr",
    "reset",
    "snapshot",
]
