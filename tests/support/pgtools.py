"""Helpers for the pooling tests: throwaway aliases, simulated requests, backend counts."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from django_supahybrid.db import database_config


def server() -> dict[str, Any]:
    """Host, port, user and test database name of the PostgreSQL the suite runs on."""
    default = connections["default"].settings_dict
    return {
        "host": default["HOST"] or "127.0.0.1",
        "port": default["PORT"] or "5432",
        "user": default["USER"] or "postgres",
        "name": default["NAME"],
    }


def url(*, port: str | int | None = None, name: str | None = None) -> str:
    """A URL for the suite's server (TCP or a Unix socket directory, as it runs).

    With ``port``, the URL is for a listener in front of it on that loopback TCP port (the
    tests' PgBouncer), even when the server itself is reached through a socket.
    """
    s = server()
    if str(s["host"]).startswith("/") and port is None:
        return f"postgresql://{s['user']}@/{name or s['name']}?host={s['host']}&port={s['port']}"
    host = "127.0.0.1" if str(s["host"]).startswith("/") else s["host"]
    return f"postgresql://{s['user']}@{host}:{port or s['port']}/{name or s['name']}"


def admin() -> psycopg.Connection[Any]:
    """A plain autocommit connection for counting and terminating backends."""
    s = server()
    return psycopg.connect(
        host=s["host"], port=s["port"], user=s["user"], dbname=s["name"], autocommit=True
    )


def backends(app_name: str) -> list[int]:
    """PIDs of the server backends whose application_name is ``app_name``."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [app_name]
        ).fetchall()
    return sorted(row[0] for row in rows)


def terminate(app_name: str) -> int:
    with admin() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [app_name],
        ).fetchall()
    return len(rows)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


_configs: dict[str, dict[str, Any]] = {}


def connection(name: str) -> BaseDatabaseWrapper:
    """This thread's wrapper for the throwaway alias ``name``.

    The aliases stay out of ``settings.DATABASES`` and ``connections.settings``: Django's
    test cases treat unlisted aliases as created on the fly and let them connect, and no
    other test sees them. Each thread gets its own wrapper, as Django's handler would.
    """
    try:
        return getattr(connections._connections, name)  # type: ignore[no-any-return]
    except AttributeError:
        config = _configs[name]
        wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, name)
        setattr(connections._connections, name, wrapper)
        return wrapper  # type: ignore[no-any-return]


def release(name: str) -> None:
    """Close and forget this thread's wrapper of ``name`` (pools stay open)."""
    with contextlib.suppress(AttributeError):
        getattr(connections._connections, name).close()
        delattr(connections._connections, name)


def request(alias: str, sql: str = "SELECT pg_backend_pid()") -> Any:
    """What Django does around one request: close stale connections, query, release."""
    conn = connection(alias)
    conn.close_if_unusable_or_obsolete()  # request_started
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    finally:
        conn.close_if_unusable_or_obsolete()  # request_finished


@contextlib.contextmanager
def alias(config: dict[str, Any], *, name: str | None = None) -> Iterator[str]:
    """Make ``config`` a throwaway alias on the test database; yield its name.

    Its connections carry a unique ``application_name`` (the alias) so the server's
    ``pg_stat_activity`` tells them apart. Everything is closed and removed afterwards.
    """
    name = name or f"t{uuid.uuid4().hex[:12]}"
    config = {**config, "OPTIONS": {**config["OPTIONS"], "application_name": name}}
    _configs[name] = connections.configure_settings({"default": config})["default"]
    try:
        yield name
    finally:
        close_alias(name)
        del _configs[name]


def close_alias(name: str) -> None:
    """Close this thread's connection of ``name`` and any pool behind it."""
    conn = connection(name)
    if hasattr(conn, "close_pool"):
        conn.close_pool()
    release(name)
    from dj_db_conn_pool.core import pool_container

    pool = pool_container.pop(name, None)
    if pool is not None:
        pool.dispose()


def engine_config(kind: str, base_url: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """``database_config()`` for one of the engines the tests compare."""
    target = base_url or url()
    if kind == "none":
        return database_config(target, CONN_MAX_AGE=0, **kwargs)
    if kind == "persistent":
        return database_config(target, **kwargs)
    return database_config(target, pool=kind, **kwargs)  # type: ignore[arg-type]


def in_threads(count: int, target: Callable[[int], Any], name: str) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads; each thread closes its own connection."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = target(i)
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)
        finally:
            release(name)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def forget_sqlite(alias: str) -> None:
    """Close and remove a throwaway in-memory SQLite alias.

    Django's ``close()`` keeps an in-memory SQLite database open, which leaves an unclosed
    connection for the garbage collector (a ResourceWarning under ``-X dev``).
    """
    wrapper = connections[alias]
    if wrapper.connection is not None:
        wrapper.connection.close()
        wrapper.connection = None
    del connections[alias]
