"""A read-only endpoint serving the library's metrics as JSON or Prometheus text.

```python
# urls.py
from django_supahybrid.monitoring.views import MetricsView

urlpatterns = [path("api/metrics/", MetricsView.as_view())]
```

Staff users may read it; so may a client sending ``X-Metrics-Token: <token>`` when
``SUPAHYBRID["METRICS_TOKEN"]`` is set (for a scraper without a user account). Anyone
else gets a 401 or a 403. ``?format=prometheus`` (or ``Accept: text/plain``) answers in
Prometheus' text format, which needs the ``metrics`` extra (``prometheus_client``).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_supahybrid.conf import app_settings
from django_supahybrid.monitoring import metrics

__all__ = ["HasMetricsAccess", "MetricsView", "PrometheusRenderer"]

TOKEN_HEADER = "X-Metrics-Token"  # noqa: S105 (a header name, not a secret)


class HasMetricsAccess(BasePermission):
    """A staff user, or the ``X-Metrics-Token`` header equal to ``METRICS_TOKEN``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        expected = app_settings().METRICS_TOKEN
        given = request.headers.get(TOKEN_HEADER)
        if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
            return True
        user = request.user
        return bool(user is not None and user.is_authenticated and user.is_staff)


class PrometheusRenderer(BaseRenderer):
    """Prometheus' text exposition format (``?format=prometheus``)."""

    media_type = "text/plain"
    format = "prometheus"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return f"# {data.get('detail', '')}\n".encode()
        from django_supahybrid.monitoring.prometheus import render

        return render()


class MetricsView(APIView):
    """``GET``: this process's counters and gauges.

    JSON: ``{"pid": 1234, "counters": {"auth.cache.miss": 3, ...},
    "gauges": {"db.pool.in_use.default": 1}}``.
    """

    permission_classes = [HasMetricsAccess]
    renderer_classes = [JSONRenderer, PrometheusRenderer]

    def get(self, request: Request) -> Response:
        return Response(
            {"pid": os.getpid(), "counters": metrics.snapshot(), "gauges": metrics.gauges()}
        )
