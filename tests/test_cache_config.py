from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.cache import cache_config


def test_bounded_timeouts_and_prefix() -> None:
    config = cache_config("redis://127.0.0.1:6379/1", key_prefix="app")
    assert config["BACKEND"] == "django_redis.cache.RedisCache"
    assert config["LOCATION"] == "redis://127.0.0.1:6379/1"
    assert config["KEY_PREFIX"] == "app"
    assert config["OPTIONS"]["SOCKET_TIMEOUT"] == 1.0
    assert config["OPTIONS"]["SOCKET_CONNECT_TIMEOUT"] == 1.0


def test_valkey_scheme_is_redis() -> None:
    assert cache_config("valkeys://h:1/0")["LOCATION"] == "rediss://h:1/0"


def test_extra_options() -> None:
    config = cache_config("redis://h/0", socket_timeout=0.25, IGNORE_EXCEPTIONS=True)
    assert config["OPTIONS"]["SOCKET_TIMEOUT"] == 0.25
    assert config["OPTIONS"]["IGNORE_EXCEPTIONS"] is True


def test_bad_scheme() -> None:
    with pytest.raises(ImproperlyConfigured, match="scheme 'http'"):
        cache_config("http://h/0")


def test_real_redis_round_trip() -> None:
    from django_redis import get_redis_connection

    cache.set("roundtrip", {"a": 1}, timeout=10)
    assert cache.get("roundtrip") == {"a": 1}
    assert get_redis_connection("default").ping() is True
    cache.delete("roundtrip")


def test_outage_choice() -> None:
    assert cache_config("redis://h/0")["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert cache_config("redis://h/0", on_outage="raise")["OPTIONS"]["IGNORE_EXCEPTIONS"] is False
    with pytest.raises(ImproperlyConfigured, match="on_outage='ignore'"):
        cache_config("redis://h/0", on_outage="ignore")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 0, -1, True, "1"])
def test_unbounded_timeouts_are_refused(value: object) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be a positive number"):
        cache_config("redis://h/0", socket_timeout=value)  # type: ignore[arg-type]
    with pytest.raises(ImproperlyConfigured, match="socket_connect_timeout"):
        cache_config("redis://h/0", socket_connect_timeout=value)  # type: ignore[arg-type]
