"""The example project's health endpoint, in process, against the real services."""

from __future__ import annotations

import socket

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from django_supahybrid.cache import cache_config


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db
def test_health_ok() -> None:
    response = APIClient().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }


@pytest.mark.django_db
def test_health_names_the_cache_when_redis_is_down() -> None:
    dead = cache_config(f"redis://127.0.0.1:{_dead_port()}/0", socket_connect_timeout=0.2)
    with override_settings(CACHES={"default": dead}):
        response = APIClient().get("/api/health/")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
    assert response.json()["checks"] == {"database": "ok", "cache": "failed"}


@pytest.mark.django_db
def test_health_names_the_database_when_it_is_down(settings: object) -> None:
    from django.db import connection

    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = str(_dead_port())
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["OPTIONS"] = {"connect_timeout": 1}
    try:
        response = APIClient().get("/api/health/")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
