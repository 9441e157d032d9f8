"""Where events go: PostgreSQL ``NOTIFY`` and Supabase Realtime Broadcast.

``SUPAHYBRID["REALTIME_TRANSPORTS"]`` lists the transport classes (dotted paths); each
event goes to every one that is available on the connection it was written on. By
default that is ``NOTIFY`` on any PostgreSQL, plus Broadcast where Supabase's
``realtime.send()`` exists. On another database vendor nothing applies: saving works as
usual and one warning per alias says that nothing is published.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cache

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.module_loading import import_string

from django_supahybrid.conf import app_settings
from django_supahybrid.monitoring import metrics
from django_supahybrid.realtime.events import RealtimeEvent
from django_supahybrid.realtime.storage import report_lost, server_warnings, watch_partitions

__all__ = [
    "BroadcastTransport",
    "NotifyTransport",
    "Transport",
    "configured_transports",
    "publish_now",
    "reset_detection",
]

logger = logging.getLogger("django_supahybrid.realtime")


class Transport:
    """Base class of a transport: say whether it applies, then publish one event."""

    #: The largest encoded payload this transport accepts, in bytes.
    max_payload_bytes: int = 7999

    def available(self, connection: BaseDatabaseWrapper) -> bool:
        """Whether this transport can publish on ``connection``."""
        raise NotImplementedError

    def publish(self, connection: BaseDatabaseWrapper, events: Sequence[RealtimeEvent]) -> None:
        """Publish ``events``, in order, on ``connection`` (called after the commit)."""
        raise NotImplementedError


class NotifyTransport(Transport):
    """``pg_notify(channel, payload)``: any PostgreSQL, delivered to ``LISTEN`` sessions.

    The payload must be shorter than 8000 bytes (PostgreSQL's default build).
    """

    max_payload_bytes = 7999

    def available(self, connection: BaseDatabaseWrapper) -> bool:
        return connection.vendor == "postgresql"

    def publish(self, connection: BaseDatabaseWrapper, events: Sequence[RealtimeEvent]) -> None:
        channels = [event.channel for event in events]
        payloads = [event.encode(self.max_payload_bytes) for event in events]
        with connection.cursor() as cursor:
            # One statement for the batch; unnest() yields its rows in array order.
            cursor.execute(
                "SELECT pg_notify(c, p) FROM unnest(%s::text[], %s::text[]) AS t(c, p)",
                [channels, payloads],
            )


_SEND_SIGNATURE = "realtime.send(jsonb,text,text,boolean)"
_detected: dict[str, bool] = {}
_detect_lock = threading.Lock()


class BroadcastTransport(Transport):
    """Supabase Realtime Broadcast through ``realtime.send(payload, event, topic, private)``.

    Detected once per database alias with ``to_regprocedure``; absent on a plain
    PostgreSQL. The event name is the operation (``INSERT``, ``UPDATE``, ``DELETE``), the
    topic `RealtimeEvent.topic`, private unless
    ``SUPAHYBRID["REALTIME_BROADCAST_PRIVATE"]`` is ``False``. Supabase's free plan caps
    a Broadcast payload at 256 KB.

    ``realtime.send()`` only warns when it cannot store a message (no partition of
    ``realtime.messages`` for the day): each such warning counts as
    ``realtime.broadcast.lost`` and is logged, and the partitions are looked at every
    ``REALTIME_PARTITION_CHECK_INTERVAL`` seconds (see `storage`).
    """

    max_payload_bytes = 250_000

    def available(self, connection: BaseDatabaseWrapper) -> bool:
        if connection.vendor != "postgresql":
            return False
        with _detect_lock:
            if connection.alias not in _detected:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [_SEND_SIGNATURE])
                    _detected[connection.alias] = bool(cursor.fetchone()[0])
            return _detected[connection.alias]

    def publish(self, connection: BaseDatabaseWrapper, events: Sequence[RealtimeEvent]) -> None:
        payloads = [event.encode(self.max_payload_bytes) for event in events]
        private = app_settings().REALTIME_BROADCAST_PRIVATE
        # realtime.send() turns a failed insert into a WARNING: count those as lost.
        with connection.cursor() as cursor, server_warnings(connection) as warnings:
            cursor.execute(
                "SELECT realtime.send(p::jsonb, e, t, %s) "
                "FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(p, e, t)",
                [private, payloads, [e.op for e in events], [e.topic for e in events]],
            )
        if warnings:
            report_lost(connection.alias, len(events), warnings)
        watch_partitions(connection)


def reset_detection() -> None:
    """Forget which aliases have ``realtime.send()`` (after installing or removing it)."""
    with _detect_lock:
        _detected.clear()


@cache
def _load(paths: tuple[str, ...]) -> tuple[Transport, ...]:
    return tuple(import_string(path)() for path in paths)


def configured_transports() -> tuple[Transport, ...]:
    """Instances of the classes named in ``SUPAHYBRID["REALTIME_TRANSPORTS"]``."""
    return _load(tuple(app_settings().REALTIME_TRANSPORTS))


_warned: set[str] = set()
#: Events per statement: a large transaction's events go out in several statements.
_CHUNK = 1000


def publish_now(events: Sequence[RealtimeEvent], using: str) -> None:
    """Publish ``events`` on alias ``using`` through every available transport.

    Called after the commit: a failure is logged, never raised, because the row is
    already saved and the caller must not believe otherwise.
    """
    connection = connections[using]
    published = False
    for transport in configured_transports():
        kind = type(transport).__name__
        try:
            if transport.available(connection):
                for start in range(0, len(events), _CHUNK):
                    chunk = events[start : start + _CHUNK]
                    transport.publish(connection, chunk)
                    metrics.incr(f"{metrics.REALTIME_PUBLISHED}.{kind}", len(chunk))
                published = True
        except DatabaseError:
            metrics.incr(f"{metrics.REALTIME_FAILED}.{kind}", len(events))
            logger.exception(
                "%d realtime event(s) for %s (first pk=%r) not published by %s.",
                len(events),
                events[0].model_label,
                events[0].pk,
                kind,
            )
            published = True
    if not published and using not in _warned:
        _warned.add(using)
        logger.warning(
            "django-supahybrid publishes no realtime events on database %r (vendor %r): "
            "NOTIFY and Supabase Broadcast need PostgreSQL. Saving works; nothing is sent.",
            using,
            connection.vendor,
        )
