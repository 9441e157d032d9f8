"""The library's own counters: a tiny, thread-safe registry, one per process.

The library counts what it does where it does it (``incr("auth.cache.miss")``), and you
read the totals with `snapshot`, from a metrics endpoint, a log line or Prometheus
(``django_supahybrid.monitoring.prometheus``). Counters only grow until `reset`; each
process (each gunicorn worker) has its own, so add them up across processes. Gauges, such
as the pooled connections in use, are read when asked, by `gauges`.

Names (see the monitoring guide for how to read them):

- ``auth.cache.local_hit``: a token found in the process-local cache;
- ``auth.cache.shared_hit``: a token found in the shared (Redis) cache;
- ``auth.cache.miss``: a token verified from scratch;
- ``auth.jwks.fetch`` / ``auth.jwks.failure``: JWKS documents fetched, and failed fetches;
- ``realtime.published.<transport>`` / ``realtime.failed.<transport>``: events published,
  or not, per transport class (``NotifyTransport``, ``BroadcastTransport``);
- ``realtime.broadcast.lost``: Broadcast messages that ``realtime.send()`` accepted but did
  not store (it only warned, for example for want of a partition of ``realtime.messages``);
- ``realtime.partitions.missing``: periodic looks that found a day (today or tomorrow)
  without a partition of ``realtime.messages``;
- ``db.pool.in_use.<alias>`` (a gauge): connections of the alias's pool lent out now.
"""

from __future__ import annotations

import threading

__all__ = [
    "AUTH_CACHE_LOCAL_HIT",
    "AUTH_CACHE_MISS",
    "AUTH_CACHE_SHARED_HIT",
    "JWKS_FAILURE",
    "JWKS_FETCH",
    "POOL_IN_USE",
    "REALTIME_BROADCAST_LOST",
    "REALTIME_FAILED",
    "REALTIME_PARTITION_MISSING",
    "REALTIME_PUBLISHED",
    "gauges",
    "incr",
    "reset",
    "snapshot",
]

AUTH_CACHE_LOCAL_HIT = "auth.cache.local_hit"
AUTH_CACHE_SHARED_HIT = "auth.cache.shared_hit"
AUTH_CACHE_MISS = "auth.cache.miss"
JWKS_FETCH = "auth.jwks.fetch"
JWKS_FAILURE = "auth.jwks.failure"
#: A prefix: the transport's class name follows (``realtime.published.NotifyTransport``).
REALTIME_PUBLISHED = "realtime.published"
#: A prefix: the transport's class name follows.
REALTIME_FAILED = "realtime.failed"
#: Broadcast messages ``realtime.send()`` did not store (it only warned).
REALTIME_BROADCAST_LOST = "realtime.broadcast.lost"
#: Looks at ``realtime.messages`` that found today's or tomorrow's partition missing.
REALTIME_PARTITION_MISSING = "realtime.partitions.missing"
#: A prefix of the gauges: the database alias follows (``db.pool.in_use.default``).
POOL_IN_USE = "db.pool.in_use"

_lock = threading.Lock()
_counters: dict[str, int] = {}


def incr(name: str, n: int = 1) -> None:
    """Add ``n`` to the counter ``name`` (created at zero on first use)."""
    with _lock:
        _counters[name] = _counters.get(name, 0) + n


def snapshot() -> dict[str, int]:
    """A copy of every counter of this process, sorted by name."""
    with _lock:
        return dict(sorted(_counters.items()))


def reset() -> None:
    """Set every counter back to zero (forget them), for tests and after a deployment."""
    with _lock:
        _counters.clear()


def gauges() -> dict[str, int]:
    """The gauges, read now: pooled connections in use per database alias.

    Only aliases whose pool this process has already opened appear: Django's native
    psycopg pool (``pool_size - pool_available``) and django-db-connection-pool's
    (SQLAlchemy's ``checkedout()``). Reading never opens a pool or a connection.
    """
    from django_supahybrid.monitoring.pool_gauges import pool_in_use

    return {f"{POOL_IN_USE}.{alias}": value for alias, value in sorted(pool_in_use().items())}
