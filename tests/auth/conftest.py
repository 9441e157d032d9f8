"""Fixtures for the authentication tests: settings, keys, a JWKS on loopback, clean caches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches

from django_supahybrid import _ratelimit, authcache, jwks
from django_supahybrid.testing import JWKSServer, SigningKey

SECRET = "test-only-jwt-secret-with-more-than-32-characters"
SUPABASE_URL = "https://abcdefghijklmnop.supabase.co"
ISSUER = SUPABASE_URL + "/auth/v1"

Configure = Callable[..., dict[str, Any]]


def reset_auth_state() -> None:
    authcache.clear_local()
    jwks._registry.clear()
    _ratelimit.reset()
    authcache._shared_down_until = 0.0


@pytest.fixture(autouse=True)
def _clean_auth_state() -> Iterator[None]:
    reset_auth_state()
    caches["default"].clear()
    yield
    reset_auth_state()


@pytest.fixture
def configure(settings: Any) -> Configure:
    """Set ``SUPAHYBRID`` to the HS256 defaults below, updated with keyword arguments."""

    def _configure(**overrides: Any) -> dict[str, Any]:
        value = {"SUPABASE_URL": SUPABASE_URL, "JWT_SECRET": SECRET, "JWKS_URL": False}
        value.update(overrides)
        settings.SUPAHYBRID = value
        return value

    _configure()
    return _configure


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ("ES256", "RS256", "EdDSA")}  # type: ignore[arg-type]


@pytest.fixture
def jwks_server(signing_keys: dict[str, SigningKey], configure: Configure) -> Iterator[JWKSServer]:
    """A JWKS on loopback with an ES256, an RS256 and an EdDSA key, configured with the secret."""
    with JWKSServer(signing_keys.values()) as server:
        configure(JWKS_URL=server.url)
        yield server
