"""Consuming events from Python: ``LISTEN`` on a dedicated connection, with reconnects.

``LISTEN`` is session state: it needs a direct connection or Supavisor's session mode,
never the transaction-mode pooler (port 6543), where the session that listened is not
the one that would receive. `listen` refuses such an alias with a clear error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from psycopg import sql

from django_supahybrid.conf import app_settings
from django_supahybrid.db import database_mode
from django_supahybrid.realtime.events import MAX_CHANNEL_BYTES

__all__ = ["Listener", "Notification", "TransactionPoolerError", "is_transaction_pooler", "listen"]

logger = logging.getLogger("django_supahybrid.realtime")

_TRANSACTION_POOLER_PORT = "6543"


class TransactionPoolerError(ImproperlyConfigured):
    """``LISTEN`` was asked of a database alias that goes through a transaction pooler."""


@dataclasses.dataclass(frozen=True)
class Notification:
    """One notification received: its channel, raw payload and the sender's backend pid.

    `data` is the payload decoded from JSON (a dict for the library's events), or
    ``None`` when the payload is not JSON.
    """

    channel: str
    payload: str
    pid: int

    @property
    def data(self) -> Any:
        """The payload decoded from JSON, or ``None``."""
        try:
            return json.loads(self.payload)
        except ValueError:
            return None


def is_transaction_pooler(settings_dict: dict[str, Any]) -> bool:
    """Whether a ``DATABASES`` entry points at a transaction-mode pooler.

    True for port 6543 (Supavisor's and Supabase's PgBouncer transaction mode) or an
    entry whose mode, as `database_config` recorded it (for
    example with ``mode="transaction"`` for a self-hosted PgBouncer), is ``"transaction"``.
    """
    if database_mode(settings_dict) == "transaction":
        return True
    return str(settings_dict.get("PORT") or "") == _TRANSACTION_POOLER_PORT


def _connection_params(using: str) -> dict[str, Any]:
    wrapper = connections[using]
    if wrapper.vendor != "postgresql":
        raise ImproperlyConfigured(
            f"LISTEN needs PostgreSQL; database {using!r} is {wrapper.vendor!r}."
        )
    if is_transaction_pooler(wrapper.settings_dict):
        raise TransactionPoolerError(
            f"Database {using!r} goes through a transaction-mode pooler (port "
            f"{wrapper.settings_dict.get('PORT')!r}), where LISTEN cannot work. Listen on an "
            "alias with the direct connection (port 5432 on db.<ref>.supabase.co) or the "
            "session-mode pooler (port 5432 on *.pooler.supabase.com)."
        )
    params: dict[str, Any] = wrapper.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return params


def _connect(params: dict[str, Any], channels: list[str]) -> psycopg.Connection[Any]:
    conn = psycopg.connect(**params, autocommit=True)
    try:
        for channel in channels:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    except BaseException:
        conn.close()
        raise
    return conn


def listen(
    channels: str | Iterable[str],
    *,
    using: str | None = None,
    timeout: float | None = None,
    reconnect_delay: float = 0.5,
    max_reconnect_delay: float = 10.0,
    max_reconnect_attempts: int | None = None,
    application_name: str = "supahybrid-listen",
) -> Listener:
    """Open a connection of its own, ``LISTEN`` on ``channels`` and return a `Listener`.

    ``using`` is a ``DATABASES`` alias (default ``SUPAHYBRID["REALTIME_LISTEN_DATABASE"]``),
    opened with its settings in autocommit mode. The channels are listened to before this
    returns, so whatever commits afterwards is received. Iterating the listener yields
    `Notification` objects as they arrive; with ``timeout`` (seconds) it also
    yields ``None`` whenever that long passes without one, so a streaming view can send a
    keep-alive and notice a client that went away (each idle round also checks that the
    connection is alive). Without ``timeout`` it blocks until the next notification.

    When the connection drops, the listener reconnects (waiting ``reconnect_delay``
    seconds, doubling up to ``max_reconnect_delay``) and listens again; notifications sent
    while it was disconnected are lost (``NOTIFY`` keeps nothing), so a consumer that
    cannot miss one should re-read the rows after a reconnect (a warning is logged).
    After ``max_reconnect_attempts`` failed attempts in a row, the last error is raised.

    Each listener owns its connection, so listeners in several threads are independent.
    Close it (``close()``, or use it as a context manager) to close the connection.
    Raises `TransactionPoolerError` for an alias behind a transaction-mode pooler,
    and `ValueError` for a channel name above 63 bytes.
    """
    names = [channels] if isinstance(channels, str) else list(channels)
    for name in names:
        if len(name.encode()) > MAX_CHANNEL_BYTES:
            raise ValueError(
                f"Channel {name!r} is longer than PostgreSQL's {MAX_CHANNEL_BYTES} bytes; "
                "build channel names with django_supahybrid.realtime.channel_name()."
            )
    params = _connection_params(using or app_settings().REALTIME_LISTEN_DATABASE)
    params.setdefault("application_name", application_name)
    return Listener(
        names,
        params,
        timeout=timeout,
        reconnect_delay=reconnect_delay,
        max_reconnect_delay=max_reconnect_delay,
        max_reconnect_attempts=max_reconnect_attempts,
    )


class Listener(Iterator["Notification | None"]):
    """An open ``LISTEN`` session: iterate it for notifications; see `listen`."""

    def __init__(
        self,
        channels: list[str],
        params: dict[str, Any],
        *,
        timeout: float | None,
        reconnect_delay: float,
        max_reconnect_delay: float,
        max_reconnect_attempts: int | None,
    ) -> None:
        self.channels = channels
        self.timeout = timeout
        self._params = params
        self._delays = (reconnect_delay, max_reconnect_delay, max_reconnect_attempts)
        self._conn = _connect(params, channels)
        self._events = self._run()

    @property
    def backend_pid(self) -> int:
        """The server process id of the current connection (it changes on reconnect)."""
        return self._conn.info.backend_pid

    def __iter__(self) -> Listener:
        return self

    def __next__(self) -> Notification | None:
        return next(self._events)

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._events.close()
        self._conn.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> Generator[Notification | None]:
        timeout = self.timeout
        last = time.monotonic()
        while True:
            wait = None if timeout is None else max(0.0, timeout - (time.monotonic() - last))
            try:
                # Never leave notifies() early: a batch read from the socket would be lost.
                for notify in self._conn.notifies(timeout=wait):
                    yield Notification(notify.channel, notify.payload, notify.pid)
                    last = time.monotonic()
                if timeout is not None and time.monotonic() - last >= timeout:
                    self._conn.execute("SELECT 1")
                    yield None
                    last = time.monotonic()
            except psycopg.OperationalError as exc:
                self._conn.close()
                self._conn = _reconnect(self._params, self.channels, exc, *self._delays)


def _reconnect(
    params: dict[str, Any],
    names: list[str],
    error: Exception,
    delay: float,
    max_delay: float,
    max_attempts: int | None,
) -> psycopg.Connection[Any]:
    attempts = 0
    while True:
        logger.warning("LISTEN connection lost (%s); reconnecting in %.1f s.", error, delay)
        time.sleep(delay)
        attempts += 1
        try:
            conn = _connect(params, names)
        except psycopg.OperationalError as exc:
            if max_attempts is not None and attempts >= max_attempts:
                raise
            error, delay = exc, min(delay * 2, max_delay)
            continue
        logger.warning(
            "LISTEN reconnected after %d attempt(s); notifications sent meanwhile are lost.",
            attempts,
        )
        return conn
