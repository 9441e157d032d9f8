"""A Redis outage against real sockets: bounded delay, then degrade or raise."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from django_supahybrid.cache import cache_config


@pytest.fixture
def refused_url() -> str:
    """A loopback port where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


def _timed_get(config: dict[str, object]) -> tuple[object, float]:
    with override_settings(CACHES={"default": config}):
        started = time.monotonic()
        try:
            value: object = caches["default"].get("key", "fallback")
        finally:
            elapsed = time.monotonic() - started
            caches["default"].close()
    return value, elapsed


@pytest.mark.parametrize("which", ["refused_url", "silent_url"])
def test_degrade_misses_within_the_timeout(which: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(which)
    value, elapsed = _timed_get(cache_config(url, socket_timeout=0.3, socket_connect_timeout=0.3))
    assert value == "fallback"
    assert elapsed < 2.0


@pytest.mark.parametrize(
    ("which", "error"),
    [("refused_url", RedisConnectionError), ("silent_url", RedisTimeoutError)],
)
def test_raise_fails_within_the_timeout(
    which: str, error: type[Exception], request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(which)
    config = cache_config(url, socket_timeout=0.3, socket_connect_timeout=0.3, on_outage="raise")
    started = time.monotonic()
    with pytest.raises(error):
        _timed_get(config)
    assert time.monotonic() - started < 2.0


def test_silent_server_costs_about_one_socket_timeout(silent_url: str) -> None:
    # The bound is the configured timeout, not redis-py's retries piled on top of it.
    _, elapsed = _timed_get(cache_config(silent_url, socket_timeout=0.5))
    assert 0.45 <= elapsed < 1.5
