"""What the library counts, and the ways to read it.

- ``metrics``: per-process counters and gauges (`snapshot()`);
- ``middleware``: `RequestMetricsMiddleware`, requests, latency and queries;
- ``views``: `MetricsView`, JSON or Prometheus text behind a token;
- ``prometheus``: a collector for ``prometheus_client`` (the ``metrics`` extra);
- ``pool_gauges``: connections in use per database pool.

The view and the middleware are imported on first use: the authentication component
counts its cache hits here, and importing DRF's views from it would import the
authentication classes DRF's settings name before they exist.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from django_supahybrid.monitoring.metrics import gauges, incr, reset, snapshot

if TYPE_CHECKING:
    from django_supahybrid.monitoring.middleware import RequestMetricsMiddleware
    from django_supahybrid.monitoring.views import (
        HasMetricsAccess,
        MetricsView,
        PrometheusRenderer,
    )

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

_LAZY = {
    "HasMetricsAccess": "views",
    "MetricsView": "views",
    "PrometheusRenderer": "views",
    "RequestMetricsMiddleware": "middleware",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
