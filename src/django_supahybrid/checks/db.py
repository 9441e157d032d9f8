"""System checks for ``DATABASES`` against Supabase's poolers and limits.

Ids ``supahybrid.E050``-``E059`` and ``W050``-``W059``; each is documented in
``docs/checks.md``. Registered by `django_supahybrid.checks`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import connections

from django_supahybrid.checks._base import with_settings
from django_supahybrid.conf import SupaHybridSettings
from django_supahybrid.db import (
    SETTINGS_KEY,
    database_mode,
    is_supabase_host,
    sslmode_is_strong,
)

__all__ = [
    "SUPABASE_MAX_CONNECTIONS",
    "check_database_budget",
    "check_databases",
    "web_processes",
]

#: Postgres ``max_connections`` per Supabase compute size (Supabase's compute add-ons
#: page). Supabase's own services (Auth, Storage, Realtime, the poolers) hold some.
SUPABASE_MAX_CONNECTIONS = {
    "nano": 60,
    "micro": 60,
    "small": 90,
    "medium": 120,
    "large": 160,
    "xl": 240,
    "2xl": 380,
    "4xl": 480,
    "8xl": 490,
    "12xl": 500,
    "16xl": 500,
}

_NATIVE_POOL_DEFAULT_SIZE = 4  # psycopg_pool.ConnectionPool's default min_size
_DB_POOL_DEFAULTS = (10, 10)  # dj_db_conn_pool's default pool_size, max_overflow


def web_processes(conf: SupaHybridSettings) -> int | None:
    """``WEB_PROCESSES``, else gunicorn's ``WEB_CONCURRENCY`` variable, else ``None``."""
    if conf.WEB_PROCESSES is not None:
        return conf.WEB_PROCESSES
    value = os.environ.get("WEB_CONCURRENCY", "")
    return int(value) if value.strip().isdigit() else None


def _databases() -> dict[str, dict[str, Any]]:
    databases: dict[str, dict[str, Any]] = settings.DATABASES
    return databases


def check_databases(**kwargs: Any) -> list[checks.CheckMessage]:
    """Pooler mode, pooling, SSL and the connection budget of every ``DATABASES`` alias.

    Static: reads settings only. The budget is checked here when its limit is in the
    settings; otherwise `check_database_budget` asks the server.
    """
    messages: list[checks.CheckMessage] = []
    for alias, entry in _databases().items():
        if "postgresql" not in str(entry.get("ENGINE", "")):
            continue
        if database_mode(entry) == "transaction":
            messages += _check_transaction_mode(alias, entry)
        messages += _check_pooling(alias, entry)
        messages += _check_ssl(alias, entry)
    return messages + _check_static_budget()


@with_settings
def _check_static_budget(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    return _check_budget(conf, set()) + _check_direct_alias()


@with_settings
def check_database_budget(
    conf: SupaHybridSettings, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The connection budget against the server's own ``max_connections``.

    Tagged ``database``: it runs only when Django is asked to look at databases
    (``manage.py check --database default``, ``migrate``), and only when the settings give
    no limit (``DATABASE_MAX_CONNECTIONS``, ``SUPABASE_COMPUTE``).
    """
    if not databases or _static_limit(conf) is not None:
        return []
    return _check_budget(conf, set(databases))


def _check_transaction_mode(alias: str, entry: dict[str, Any]) -> list[checks.CheckMessage]:
    where = f"DATABASES[{alias!r}] goes through a transaction-mode pooler"
    options = entry.get("OPTIONS") or {}
    messages: list[checks.CheckMessage] = []
    if entry.get("DISABLE_SERVER_SIDE_CURSORS") is not True:
        messages.append(
            checks.Error(
                f"{where} but allows server-side cursors.",
                hint="Set DISABLE_SERVER_SIDE_CURSORS = True (database_config() does), or "
                ".iterator() fails with InvalidCursorName when the next FETCH lands on "
                "another server connection.",
                obj=alias,
                id="supahybrid.E050",
            )
        )
    if options.get("prepare_threshold") is not None:
        messages.append(
            checks.Error(
                f"{where} but re-enables prepared statements "
                f"(OPTIONS['prepare_threshold'] = {options['prepare_threshold']!r}).",
                hint="Remove prepare_threshold: a statement prepared on one server connection "
                "does not exist on the next one.",
                obj=alias,
                id="supahybrid.E051",
            )
        )
    session_state = [
        name for name in ("assume_role", "server_side_binding", "options") if options.get(name)
    ]
    if session_state:
        messages.append(
            checks.Error(
                f"{where} but sets session state through OPTIONS: {', '.join(session_state)}.",
                hint="Drop them; set per-role defaults on the server instead "
                "(ALTER ROLE ... SET statement_timeout = '30s'), or use a direct or "
                "session-mode URL for this alias.",
                obj=alias,
                id="supahybrid.E052",
            )
        )
    return messages


def _check_pooling(alias: str, entry: dict[str, Any]) -> list[checks.CheckMessage]:
    max_age = entry.get("CONN_MAX_AGE", 0)
    if max_age == 0:
        return []
    if (entry.get("OPTIONS") or {}).get("pool"):
        return [
            checks.Error(
                f"DATABASES[{alias!r}] uses Django's connection pool with "
                f"CONN_MAX_AGE = {max_age!r}.",
                hint="Set CONN_MAX_AGE = 0: Django refuses persistent connections with a pool "
                "and fails on the first query.",
                obj=alias,
                id="supahybrid.E053",
            )
        ]
    if str(entry.get("ENGINE", "")).startswith("dj_db_conn_pool."):
        return [
            checks.Warning(
                f"DATABASES[{alias!r}] uses dj_db_conn_pool with CONN_MAX_AGE = {max_age!r}.",
                hint="Set CONN_MAX_AGE = 0 so each request hands its connection back to the "
                "pool; otherwise every thread keeps one and the pool never shares them.",
                obj=alias,
                id="supahybrid.W050",
            )
        ]
    return []


def _check_ssl(alias: str, entry: dict[str, Any]) -> list[checks.CheckMessage]:
    host = str(entry.get("HOST") or "")
    if not is_supabase_host(host):
        return []
    sslmode = (entry.get("OPTIONS") or {}).get("sslmode", "prefer")
    if sslmode_is_strong(sslmode):
        return []
    return [
        checks.Error(
            f"DATABASES[{alias!r}] connects to the Supabase host {host} with "
            f"sslmode={sslmode!r} (libpq's default is 'prefer', which falls back to plain text).",
            hint="Set OPTIONS['sslmode'] = 'require', or 'verify-full' with Supabase's root "
            "certificate; database_config() does it for Supabase hosts.",
            obj=alias,
            id="supahybrid.E054",
        )
    ]


def _per_process(entry: dict[str, Any], threads: int) -> tuple[int, str]:
    """Server connections one web process may hold through this alias, and why."""
    pool = (entry.get("OPTIONS") or {}).get("pool")
    if pool:
        size = pool.get("max_size") or pool.get("min_size") if isinstance(pool, dict) else None
        size = size or _NATIVE_POOL_DEFAULT_SIZE
        return size, f"native pool max_size {size}"
    if str(entry.get("ENGINE", "")).startswith("dj_db_conn_pool."):
        options = entry.get("POOL_OPTIONS") or {}
        size = options.get("POOL_SIZE", _DB_POOL_DEFAULTS[0])
        overflow = options.get("MAX_OVERFLOW", _DB_POOL_DEFAULTS[1])
        return size + overflow, f"dj_db_conn_pool {size} + {overflow} overflow"
    return threads, f"one connection per thread x {threads}"


def _server_max_connections(aliases: set[str]) -> tuple[int, str] | None:
    for alias in sorted(aliases & set(_databases())):
        if database_mode(_databases()[alias]) == "transaction":
            continue  # the pooler's own limit, not the server's
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
            )
            (value,) = cursor.fetchone()
        return int(value), f"the server behind {alias!r}"
    return None


def _static_limit(conf: SupaHybridSettings) -> tuple[int, str] | None:
    if conf.DATABASE_MAX_CONNECTIONS is not None:
        return conf.DATABASE_MAX_CONNECTIONS, "DATABASE_MAX_CONNECTIONS"
    if conf.SUPABASE_COMPUTE is not None:
        limit = SUPABASE_MAX_CONNECTIONS[conf.SUPABASE_COMPUTE]
        return limit, f"Supabase compute {conf.SUPABASE_COMPUTE!r}"
    return None


def _budget_limit(conf: SupaHybridSettings, databases: set[str]) -> tuple[int, str] | None:
    return _static_limit(conf) or _server_max_connections(databases)


def _check_budget(conf: SupaHybridSettings, databases: set[str]) -> list[checks.CheckMessage]:
    processes = web_processes(conf)
    if processes is None:
        return []
    parts: list[str] = []
    per_process = 0
    for alias, entry in _databases().items():
        if "postgresql" not in str(entry.get("ENGINE", "")):
            continue
        if database_mode(entry) == "transaction":
            continue  # the pooler multiplexes these onto its own, bounded pool
        if (entry.get(SETTINGS_KEY) or {}).get("ROLE") == "direct":
            continue  # migrations and listeners: count them in the reserve
        count, why = _per_process(entry, conf.WEB_THREADS)
        per_process += count
        parts.append(f"{alias!r}: {why}")
    limit = _budget_limit(conf, databases) if parts else None
    if limit is None:
        return []
    maximum, source = limit
    available = maximum - conf.DATABASE_RESERVED_CONNECTIONS
    needed = processes * per_process
    if needed <= available:
        return []
    return [
        checks.Warning(
            f"Web processes may open {needed} database connections ({processes} processes x "
            f"{per_process}: {'; '.join(parts)}), more than the {available} available "
            f"({maximum} from {source}, minus DATABASE_RESERVED_CONNECTIONS "
            f"{conf.DATABASE_RESERVED_CONNECTIONS}).",
            hint="Lower the pool size or the number of processes, connect through the "
            "transaction-mode pooler (port 6543), or move to a larger compute size.",
            id="supahybrid.W051",
        )
    ]


def _check_direct_alias() -> list[checks.CheckMessage]:
    default = _databases().get("default")
    if not default or database_mode(default) != "transaction":
        return []
    if any(database_mode(entry) != "transaction" for entry in _databases().values()):
        return []
    return [
        checks.Warning(
            "DATABASES['default'] goes through a transaction-mode pooler and no alias "
            "connects directly or in session mode.",
            hint="Add one with databases_with_direct(web_url, direct_url) for migrations "
            "(manage.py migrate --database direct), .iterator() and LISTEN.",
            id="supahybrid.W053",
        )
    ]
