from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from django_supahybrid.testing import JWKSServer, SigningKey

pytest_plugins = [
    "django_supahybrid.testing.pytest_plugin",
    "tests.support.plain_postgres",
    "tests.support.tenancy",
]


# Short names for the plugin's fixtures, as the tests have always called them.
@pytest.fixture
def configure(supahybrid_configure: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    return supahybrid_configure


@pytest.fixture
def signing_keys(supahybrid_signing_keys: dict[str, SigningKey]) -> dict[str, SigningKey]:
    return supahybrid_signing_keys


@pytest.fixture
def jwks_server(supahybrid_jwks_server: JWKSServer) -> JWKSServer:
    return supahybrid_jwks_server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Leave no key behind on a shared Redis: this run's own (its key prefix), nothing else.
    from django.core.cache import caches

    with contextlib.suppress(Exception):  # no Redis reachable: nothing was left there
        caches["default"].delete_pattern("*")
