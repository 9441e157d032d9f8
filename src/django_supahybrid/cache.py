"""Django cache settings for Redis through django-redis."""

from __future__ import annotations

from typing import Any
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
    **options: Any,
) -> dict[str, Any]:
    """Return one ``CACHES`` entry for the Redis server at ``url``, through django-redis.

    Socket timeouts are bounded (one second by default) so that a Redis outage slows a
    request by at most that much instead of hanging it. ``valkey://`` URLs are accepted
    and treated as ``redis://``.
    """
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
    }
    client_options.update(options)
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "TIMEOUT": timeout,
        "OPTIONS": client_options,
    }
