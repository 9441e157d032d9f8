"""Does Supabase store the Broadcast messages the library sends? Notice when it does not.

``realtime.send()`` inserts into ``realtime.messages``, which Supabase Realtime partitions by
UTC day on ``inserted_at`` and fills with partitions ahead of time (yesterday to today + 3).
It turns any error, such as a missing partition, into a ``WARNING``: the transaction
commits and the message is gone. Two guards:

- `server_warnings` collects the warnings the server sends during a statement, so
  `BroadcastTransport` counts each lost
  message (metric ``realtime.broadcast.lost``) and logs it, at most once a minute;
- `missing_partitions` lists the days (today, tomorrow) without a partition; the
  ``supahybrid.W062`` system check and `watch_partitions` (at most once per
  ``REALTIME_PARTITION_CHECK_INTERVAL`` seconds from the transport) report them.

Recent Realtime versions also create a ``DEFAULT`` partition, which catches every row.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_supahybrid._ratelimit import warn_every
from django_supahybrid.conf import app_settings
from django_supahybrid.monitoring import metrics

__all__ = [
    "missing_partitions",
    "report_lost",
    "reset",
    "server_warnings",
    "watch_partitions",
]

logger = logging.getLogger("django_supahybrid.realtime")

_PARTITIONS_SQL = """
SELECT (now() AT TIME ZONE 'UTC')::date, parent.relkind::text,
  ARRAY(SELECT pg_get_expr(child.relpartbound, child.oid)
        FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
        WHERE i.inhparent = parent.oid)
FROM pg_class parent JOIN pg_namespace n ON n.oid = parent.relnamespace
WHERE n.nspname = 'realtime' AND parent.relname = 'messages'
"""
# pg_get_expr() of a range partition: FOR VALUES FROM ('2025-01-02 00:00:00') TO (...),
# either side possibly MINVALUE or MAXVALUE.
_RANGE = re.compile(r"FROM \((.*?)\) TO \((.*?)\)")
_DAY = datetime.timedelta(days=1)

Bound = datetime.datetime | None


def _bound(text: str) -> Bound:
    text = text.strip()
    if not text.startswith("'"):  # MINVALUE or MAXVALUE: unbounded
        return None
    return datetime.datetime.fromisoformat(text.strip("'"))


def _ranges(bounds: list[str]) -> list[tuple[Bound, Bound]]:
    return [(_bound(low), _bound(high)) for low, high in _RANGE.findall("\n".join(bounds))]


def missing_partitions(connection: BaseDatabaseWrapper, days: int = 2) -> list[datetime.date]:
    """The UTC days from today on (``days`` of them) that ``realtime.messages`` cannot store.

    Empty where ``realtime.messages`` does not exist, is not partitioned, or has a
    ``DEFAULT`` partition.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PARTITIONS_SQL)
        row = cursor.fetchone()
    if row is None or row[1] != "p" or "DEFAULT" in row[2]:
        return []
    today: datetime.date = row[0]
    ranges = _ranges(row[2])
    missing = []
    for offset in range(days):
        start = datetime.datetime.combine(today + offset * _DAY, datetime.time())
        if not any(
            (low is None or low <= start) and (high is None or high >= start + _DAY)
            for low, high in ranges
        ):
            missing.append(start.date())
    return missing


_lock = threading.Lock()
_last_watch: dict[str, float] = {}


def watch_partitions(connection: BaseDatabaseWrapper) -> list[datetime.date]:
    """`missing_partitions`, at most once per ``REALTIME_PARTITION_CHECK_INTERVAL``.

    Called by the Broadcast transport after it sends. A missing partition counts
    ``realtime.partitions.missing`` and logs a warning (rate-limited); returns the days
    missing, or nothing when it is not yet time to look again (or the interval is 0).
    """
    interval = app_settings().REALTIME_PARTITION_CHECK_INTERVAL
    if interval <= 0:
        return []
    now = time.monotonic()
    with _lock:
        last = _last_watch.get(connection.alias)
        if last is not None and now - last < interval:
            return []
        _last_watch[connection.alias] = now
    missing = missing_partitions(connection)
    if missing:
        metrics.incr(metrics.REALTIME_PARTITION_MISSING)
        warn_every(
            logger,
            f"partitions:{connection.alias}",
            "realtime.messages on database %r has no partition for %s (UTC): Broadcast "
            "messages sent then are lost (realtime.send() only warns). Supabase Realtime "
            "creates the partitions; check that it runs for this database "
            "(system check supahybrid.W062).",
            connection.alias,
            ", ".join(day.isoformat() for day in missing),
            interval=max(interval, 60),
        )
    return missing


@contextlib.contextmanager
def server_warnings(connection: BaseDatabaseWrapper) -> Iterator[list[str]]:
    """Collect the ``WARNING`` messages the server sends on ``connection`` in the block.

    ``connection`` must be connected (open a cursor first).
    """
    raw = connection.connection
    received: list[str] = []

    def on_notice(diagnostic: Any) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            received.append(diagnostic.message_primary or "")

    raw.add_notice_handler(on_notice)
    try:
        yield received
    finally:
        raw.remove_notice_handler(on_notice)


def report_lost(alias: str, sent: int, warnings: list[str]) -> None:
    """Count and log (rate-limited) the messages ``realtime.send()`` did not store."""
    metrics.incr(metrics.REALTIME_BROADCAST_LOST, len(warnings))
    warn_every(
        logger,
        f"broadcast-lost:{alias}",
        "%d of %d Broadcast message(s) on database %r were not stored by realtime.send(), "
        "which only warned: %s",
        len(warnings),
        sent,
        alias,
        warnings[0],
    )


def reset() -> None:
    """Forget when partitions were last looked at (for tests)."""
    with _lock:
        _last_watch.clear()
