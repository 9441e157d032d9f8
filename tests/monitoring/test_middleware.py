"""The request log line and Server-Timing header, and the metrics endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path
from prometheus_client import CollectorRegistry, generate_latest
from rest_framework.test import APIClient

from django_supahybrid.monitoring import metrics
from django_supahybrid.monitoring.prometheus import register
from tests.settings import MIDDLEWARE
from tests.support import pgtools

pytestmark = pytest.mark.django_db

WITH_METRICS = override_settings(
    MIDDLEWARE=["django_supahybrid.monitoring.middleware.RequestMetricsMiddleware", *MIDDLEWARE]
)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django_supahybrid.requests"]


@WITH_METRICS
def test_one_log_line_per_request_with_status_time_and_queries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="django_supahybrid.requests")
    response = Client().get("/api/health/")  # one SQL query
    assert response.status_code == 200
    assert "Server-Timing" not in response
    [record] = _lines(caplog)
    assert record.getMessage().startswith("method=GET path=/api/health/ status=200 duration_ms=")
    assert " queries=1 sql_ms=" in record.getMessage()
    assert record.__dict__["queries"] == 1
    assert record.__dict__["status"] == 200
    assert record.__dict__["duration_ms"] >= record.__dict__["sql_ms"] >= 0
    Client().get("/no such page/")
    assert (
        _lines(caplog)[1]
        .getMessage()
        .startswith("method=GET path=/no%20such%20page/ status=404 duration_ms=")
    )
    assert " queries=0 " in _lines(caplog)[1].getMessage()
    assert metrics.snapshot() == {"http.responses.2xx": 1, "http.responses.4xx": 1}


def _count_on_both_aliases(request: HttpRequest) -> HttpResponse:
    counts = [get_user_model().objects.using(alias).count() for alias in ("default", "other")]
    return HttpResponse(str(counts))


urlpatterns = [path("both/", _count_on_both_aliases)]


@WITH_METRICS
@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.django_db(databases=["default", "other"])
def test_queries_on_every_alias_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="django_supahybrid.requests")
    response = Client().get("/both/")
    assert response.content == b"[0, 0]"
    [record] = _lines(caplog)
    assert record.__dict__["queries"] == 2


@WITH_METRICS
@override_settings(SUPAHYBRID={"REQUEST_METRICS_SERVER_TIMING": True})
def test_server_timing_header() -> None:
    response = Client().get("/api/health/")
    header = response["Server-Timing"]
    assert header.startswith("app;dur=")
    assert header.endswith(';desc="1 queries"')
    app, db = header.split(", ")
    assert float(app.split("=")[1]) >= float(db.split(";")[1].split("=")[1])


def _staff(is_staff: bool = True) -> APIClient:
    user = get_user_model().objects.create(username=f"u{is_staff}", is_staff=is_staff)
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_metrics_endpoint_serves_staff_the_snapshot() -> None:
    metrics.incr(metrics.AUTH_CACHE_MISS, 3)
    response = _staff().get("/api/metrics/")
    assert response.status_code == 200
    body = response.json()
    assert body["counters"] == {metrics.AUTH_CACHE_MISS: 3}
    assert isinstance(body["pid"], int)
    assert isinstance(body["gauges"], dict)


def test_metrics_endpoint_refuses_anonymous_and_non_staff_users() -> None:
    anonymous = APIClient().get("/api/metrics/")
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["detail"]
    assert _staff(is_staff=False).get("/api/metrics/").status_code == 403


@override_settings(SUPAHYBRID={"METRICS_TOKEN": "scrape-me-please"})
def test_metrics_endpoint_accepts_the_configured_token_only() -> None:
    metrics.incr(metrics.JWKS_FETCH)
    ok = APIClient().get("/api/metrics/", HTTP_X_METRICS_TOKEN="scrape-me-please")
    assert ok.status_code == 200
    assert ok.json()["counters"] == {metrics.JWKS_FETCH: 1}
    wrong = APIClient().get("/api/metrics/", HTTP_X_METRICS_TOKEN="scrape-me-pleasE")
    assert wrong.status_code in (401, 403)


def test_no_token_configured_means_no_token_accepted() -> None:
    response = APIClient().get("/api/metrics/", HTTP_X_METRICS_TOKEN="")
    assert response.status_code in (401, 403)


def test_prometheus_text_format() -> None:
    metrics.incr(f"{metrics.REALTIME_PUBLISHED}.NotifyTransport", 3)
    metrics.incr(f"{metrics.REALTIME_PUBLISHED}.BroadcastTransport", 2)
    metrics.incr(metrics.AUTH_CACHE_SHARED_HIT)
    metrics.incr("http.responses.2xx", 4)
    response = _staff().get("/api/metrics/?format=prometheus")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE supahybrid_realtime_published_total counter" in text
    assert 'supahybrid_realtime_published_total{transport="NotifyTransport"} 3.0' in text
    assert 'supahybrid_realtime_published_total{transport="BroadcastTransport"} 2.0' in text
    assert "supahybrid_auth_cache_shared_hit_total 1.0" in text
    assert 'supahybrid_http_responses_total{status="2xx"} 4.0' in text
    refused = APIClient().get("/api/metrics/?format=prometheus")
    assert refused.status_code in (401, 403)
    assert refused.content.startswith(b"# ")


def test_prometheus_collector_in_a_registry_exports_gauges() -> None:
    registry = CollectorRegistry()
    register(registry)
    metrics.incr(metrics.JWKS_FAILURE)
    with pgtools.alias(pgtools.engine_config("django", pool_size=2)) as name:
        pgtools.connection(name).ensure_connection()
        gauge = f"{metrics.POOL_IN_USE}.{name}"
        assert pgtools.wait_for(lambda: metrics.gauges()[gauge] == 1)
        text = generate_latest(registry).decode()
        assert f'supahybrid_db_pool_in_use{{alias="{name}"}} 1.0' in text
        assert "# TYPE supahybrid_db_pool_in_use gauge" in text
        assert "supahybrid_auth_jwks_failure_total 1.0" in text
        pgtools.release(name)
