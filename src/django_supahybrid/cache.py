"""Django cache settings for Redis through django-redis."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = ["cache_config"]

_SCHEMES = {"redis", "rediss", "unix", "valkey", "valkeys"}


def cache_config(
    url: str,
    *,
    key_prefix: str = "",
    timeout: float | None = 300,
    socket_timeout: float = 1.0,
    socket_connect_timeout: float = 1.0,
    on_outage: Literal["degrade", "raise"] = "degrade",
    **options: Any,
) -> dict[str, Any]:
    """Return one ``CACHES`` entry for the Redis server at ``url``, through django-redis.

    Socket timeouts are bounded (one second by default) so that a Redis outage slows a
    request by at most that much instead of hanging it. ``valkey://`` URLs are accepted
    and treated as ``redis://``.

    ``on_outage`` decides what a cache call does when Redis cannot be reached:
    ``"degrade"`` (the default) makes reads miss and writes no-ops (django-redis's
    ``IGNORE_EXCEPTIONS``), so the authentication cache falls back to verifying the
    token and reading the user from the database; ``"raise"`` lets the error reach the
    caller, for caches whose callers must know (locks, rate limits). Set
    ``DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True`` to log what ``"degrade"`` swallows.
    """
    for name, value in (
        ("socket_timeout", socket_timeout),
        ("socket_connect_timeout", socket_connect_timeout),
    ):
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ImproperlyConfigured(
                f"cache_config({name}={value!r}) must be a positive number of seconds: "
                "an unbounded socket would hang requests during a Redis outage."
            )
    if on_outage not in ("degrade", "raise"):
        raise ImproperlyConfigured(
            f"cache_config(on_outage={on_outage!r}) must be 'degrade' or 'raise'."
        )
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ImproperlyConfigured(
            f"Cache URL scheme {parts.scheme!r} is not supported; "
            f"expected one of {', '.join(sorted(_SCHEMES))}."
        )
    if parts.scheme.startswith("valkey"):
        url = "redis" + url[len("valkey") :]
    client_options: dict[str, Any] = {
        "SOCKET_TIMEOUT": socket_timeout,
        "SOCKET_CONNECT_TIMEOUT": socket_connect_timeout,
        "IGNORE_EXCEPTIONS": on_outage == "degrade",
    }
    client_options.update(options)
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "TIMEOUT": timeout,
        "OPTIONS": client_options,
    }
