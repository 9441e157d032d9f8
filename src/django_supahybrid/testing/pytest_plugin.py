"""pytest fixtures for your own tests.

Enable them in a ``conftest.py``:

```python
pytest_plugins = ["django_supahybrid.testing.pytest_plugin"]
```

Every test then starts and ends with empty process-local authentication caches (tokens,
signing keys), so a token cached by one test never authenticates in the next. The
fixtures below are there for the asking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_supahybrid.testing import queries
from django_supahybrid.testing.tokens import (
    TEST_JWT_SECRET,
    TEST_SUPABASE_URL,
    Algorithm,
    JWKSServer,
    SigningKey,
    reset_process_state,
)

__all__ = [
    "assert_queries_do_not_grow",
    "supahybrid_configure",
    "supahybrid_jwks_server",
    "supahybrid_signing_keys",
]


@pytest.fixture(autouse=True)
def _supahybrid_process_state() -> Iterator[None]:
    reset_process_state()
    yield
    reset_process_state()


@pytest.fixture
def assert_queries_do_not_grow() -> Callable[..., int]:
    """`django_supahybrid.testing.assert_queries_do_not_grow`, as a fixture."""
    return queries.assert_queries_do_not_grow


@pytest.fixture
def supahybrid_configure(settings: Any) -> Callable[..., dict[str, Any]]:
    """Set ``SUPAHYBRID`` for HS256 test tokens; call it again with keys to override.

    The defaults are ``SUPABASE_URL=TEST_SUPABASE_URL``, ``JWT_SECRET=TEST_JWT_SECRET``
    and ``JWKS_URL=False``, so `mint_token` with
    ``TEST_JWT_SECRET`` makes tokens the project accepts. Uses pytest-django's
    ``settings`` fixture, so everything is restored after the test.
    """

    def configure(**overrides: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "SUPABASE_URL": TEST_SUPABASE_URL,
            "JWT_SECRET": TEST_JWT_SECRET,
            "JWKS_URL": False,
            **overrides,
        }
        settings.SUPAHYBRID = value
        return value

    configure()
    return configure


@pytest.fixture(scope="session")
def supahybrid_signing_keys() -> dict[str, SigningKey]:
    """One ES256, one RS256 and one EdDSA key, generated once per test session."""
    algorithms: tuple[Algorithm, ...] = ("ES256", "RS256", "EdDSA")
    return {alg: SigningKey.generate(alg) for alg in algorithms}


@pytest.fixture
def supahybrid_jwks_server(
    supahybrid_signing_keys: dict[str, SigningKey],
    supahybrid_configure: Callable[..., dict[str, Any]],
) -> Iterator[JWKSServer]:
    """A JWKS on loopback serving the three keys, configured as ``JWKS_URL``."""
    with JWKSServer(supahybrid_signing_keys.values()) as server:
        supahybrid_configure(JWKS_URL=server.url)
        yield server
