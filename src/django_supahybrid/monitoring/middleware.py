"""Per-request monitoring: one structured log line with the time and the SQL queries.

Add it near the top of ``MIDDLEWARE`` so it measures the rest:

```python
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_supahybrid.monitoring.middleware.RequestMetricsMiddleware",
    ...
]
```

Each request logs, on the ``django_supahybrid.requests`` logger at ``INFO``:

```python
method=GET path=/api/campaigns/ status=200 duration_ms=12.4 queries=3 sql_ms=2.1
```

and passes the same values as ``extra`` fields (``http_method``, ``path``, ``status``,
``duration_ms``, ``queries``, ``sql_ms``) for a JSON log formatter. Queries are counted
with ``connection.execute_wrapper()`` on every database alias, so ``DEBUG`` may stay off.
With ``SUPAHYBRID["REQUEST_METRICS_SERVER_TIMING"]`` the response also carries a
``Server-Timing`` header that browsers' developer tools display. The counters
``http.responses.<class>`` (``2xx`` ... ``5xx``) of
`django_supahybrid.monitoring.metrics` count the responses.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.db import connections
from django.http import HttpRequest, HttpResponseBase

from django_supahybrid.conf import app_settings
from django_supahybrid.monitoring import metrics

__all__ = ["RequestMetricsMiddleware"]

logger = logging.getLogger("django_supahybrid.requests")


class _QueryCounter:
    """An ``execute_wrapper`` that counts the statements and the time spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            # Connection wrappers are per thread: only this request's queries come here.
            self.count += 1
            self.seconds += time.perf_counter() - start


class RequestMetricsMiddleware:
    """Log method, path, status, duration and SQL query count of every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        counter = _QueryCounter()
        start = time.perf_counter()
        with contextlib.ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        duration_ms = (time.perf_counter() - start) * 1000
        sql_ms = counter.seconds * 1000
        metrics.incr(f"http.responses.{response.status_code // 100}xx")
        if app_settings().REQUEST_METRICS_SERVER_TIMING:
            response["Server-Timing"] = (
                f'app;dur={duration_ms:.1f}, db;dur={sql_ms:.1f};desc="{counter.count} queries"'
            )
        logger.info(
            "method=%s path=%s status=%d duration_ms=%.1f queries=%d sql_ms=%.1f",
            request.method,
            quote(request.path),
            response.status_code,
            duration_ms,
            counter.count,
            sql_ms,
            extra={
                "http_method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 1),
                "queries": counter.count,
                "sql_ms": round(sql_ms, 1),
            },
        )
        return response
