"""Cache access that tells an outage from a miss."""

from __future__ import annotations

from typing import Any


def strict(cache: Any) -> Any:
    """``cache``, or its client when the backend swallows server errors.

    django-redis with ``IGNORE_EXCEPTIONS`` (``cache_config(on_outage="degrade")``) turns
    an unreachable Redis into misses. The authentication cache must know the difference:
    a miss on an invalidation generation means "never changed", an outage means "unknown",
    and only an error lets it skip a slow server for a while instead of waiting for the
    socket timeout on every request.
    """
    if getattr(cache, "_ignore_exceptions", False):
        return cache.client
    return cache


def error_name(exc: BaseException) -> str:
    """The class name of a cache error's root cause (django-redis wraps the client's)."""
    return type(exc.__cause__ or exc).__name__
