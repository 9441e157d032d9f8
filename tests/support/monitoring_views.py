"""A health view that runs one SQL query, and the library's metrics view, for the tests."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path

from django_supahybrid.monitoring import MetricsView


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("health/", health),
    path("metrics/", MetricsView.as_view()),
]
