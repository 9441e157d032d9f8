"""Database settings for Supabase Postgres, built from a connection URL.

Supabase offers three ways in (see the deployment guide): the direct connection
(``db.<ref>.supabase.co:5432``), Supavisor in session mode (``*.pooler.supabase.com:5432``)
and a transaction-mode pooler (Supavisor or the dedicated PgBouncer, port 6543). What a
connection may do depends on that mode, so `database_config` detects it from the
host and port and records it in the returned dict under the ``"SUPAHYBRID"`` key, where
`database_mode` (and the system checks) read it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "SETTINGS_KEY",
    "Mode",
    "Pool",
    "database_config",
    "database_mode",
    "databases_with_direct",
    "is_supabase_host",
]

Mode = Literal["direct", "session", "transaction"]
Pool = Literal["django", "dj_db_conn_pool"]
Role = Literal["web", "direct"]

#: The key of a ``DATABASES`` entry under which `database_config()` records what it
#: detected. Django ignores keys it does not know, and ``OPTIONS`` would reach libpq.
SETTINGS_KEY = "SUPAHYBRID"

_SCHEMES = {"postgres", "postgresql", "pgsql"}
_POOLER_SUFFIX = ".pooler.supabase.com"
_SUPABASE_SUFFIXES = (".supabase.co", ".supabase.com")
# libpq's sslmode values, weakest first.
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_DB_POOL_ENGINE = "dj_db_conn_pool.backends.postgresql"

_SUPABASE_CONNECT_TIMEOUT = 10
_SUPABASE_STATEMENT_TIMEOUT_MS = 30_000
_PERSISTENT_CONN_MAX_AGE = 60


def sslmode_is_strong(sslmode: object) -> bool:
    """Whether ``sslmode`` is a libpq mode at least as strong as ``require``."""
    return sslmode in _SSLMODES and _SSLMODES.index(str(sslmode)) >= _SSLMODES.index("require")


def is_supabase_host(host: str) -> bool:
    """Whether ``host`` is one of Supabase's database or pooler hosts."""
    return host.lower().rstrip(".").endswith(_SUPABASE_SUFFIXES)


def _detect_mode(host: str, port: str) -> Mode | None:
    """The mode a Supabase host and port imply; ``None`` for a port Supabase never uses."""
    host = host.lower().rstrip(".")
    if not host.endswith(_SUPABASE_SUFFIXES):
        return "direct"
    if port == "6543":
        # Supavisor's transaction port, or the dedicated PgBouncer on the database host.
        return "transaction"
    if port in ("", "5432"):
        return "session" if host.endswith(_POOLER_SUFFIX) else "direct"
    return None


def database_mode(settings_dict: Mapping[str, Any]) -> Mode:
    """Return the connection mode of one ``DATABASES`` entry.

    The mode `database_config` recorded, or else the one the host and port imply
    (``"direct"`` for any host that is not Supabase's). The realtime listener and the
    system checks use it to tell a transaction-mode pooler, which keeps no session state.
    """
    recorded = settings_dict.get(SETTINGS_KEY, {}).get("MODE")
    if recorded in get_args(Mode):
        return recorded  # type: ignore[no-any-return]
    host = str(settings_dict.get("HOST") or "")
    return _detect_mode(host, str(settings_dict.get("PORT") or "")) or "direct"


def _parse(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ImproperlyConfigured(
            f"Database URL scheme {parts.scheme!r} is not supported; "
            f"expected one of {', '.join(sorted(_SCHEMES))}."
        )
    query = dict(parse_qsl(parts.query))
    host = query.pop("host", None) or unquote(parts.hostname or "")
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"Database URL has an invalid port: {exc}.") from exc
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port) if port else "",
        "OPTIONS": query,
    }


def database_config(
    url: str,
    *,
    mode: Mode | None = None,
    pool: Pool | None = None,
    pool_size: int = 4,
    pool_min_size: int = 1,
    max_overflow: int = 0,
    pool_timeout: float = 10.0,
    pool_recycle: int = 1800,
    connect_timeout: int | None = None,
    statement_timeout: int | None = None,
    role: Role = "web",
    **options: Any,
) -> dict[str, Any]:
    """Return one ``DATABASES`` entry for the PostgreSQL server at ``url``.

    ``url`` is a libpq-style URL, such as the one Supabase's dashboard shows
    (``postgresql://postgres.<ref>:<password>@<host>:6543/postgres``). A ``host`` query
    parameter (a Unix socket directory) takes precedence over the URL's host. Other query
    parameters become connection ``OPTIONS`` (``sslmode=require``, ...). Upper-case
    keyword options (``CONN_MAX_AGE=...``, ``TEST={...}``) are merged into the returned
    dict; ``OPTIONS`` is merged key by key.

    :param mode: ``"direct"``, ``"session"`` or ``"transaction"``. Detected from Supabase's
        hosts and ports when omitted; give it for a self-hosted PgBouncer
        (``mode="transaction"``). Transaction mode turns server-side cursors off and
        refuses options that need session state (prepared statements,
        ``server_side_binding``, ``assume_role``, ``statement_timeout``).
    :param pool: ``"django"`` for Django's native psycopg pool (``psycopg-pool``),
        ``"dj_db_conn_pool"`` for django-db-connection-pool, or ``None`` (the default)
        for one persistent connection per thread (``CONN_MAX_AGE`` 60 s). Pools force
        ``CONN_MAX_AGE = 0``: Django hands the connection back after each request.
    :param pool_size: the most connections one process's pool opens (before overflow).
    :param pool_min_size: connections the native pool keeps open when idle.
    :param max_overflow: extra, short-lived connections dj_db_conn_pool may open.
    :param pool_timeout: seconds a request waits for a free pooled connection before it fails.
    :param pool_recycle: seconds after which a pooled connection is replaced.
    :param connect_timeout: seconds to wait for a new connection (default 10 on Supabase
        hosts, libpq's default elsewhere).
    :param statement_timeout: milliseconds after which the server cancels a statement,
        sent at connection start (default 30 s for web connections straight to a
        Supabase database; refused in transaction mode, where a role default
        (``ALTER ROLE ... SET statement_timeout``) is the way).
    :param role: ``"web"`` for the alias requests use; ``"direct"`` for the second alias that
        migrations, ``.iterator()`` and LISTEN need: never transaction mode, no pool,
        no statement timeout, ``CONN_MAX_AGE = 0``.
    """
    config = _parse(url)
    extra_options = options.pop("OPTIONS", {})
    config.update(options)
    config["OPTIONS"] = {**config["OPTIONS"], **extra_options}
    host, port = config["HOST"], config["PORT"]
    supabase = is_supabase_host(host)
    if mode is None:
        mode = _detect_mode(host, port)
        if mode is None:
            raise ImproperlyConfigured(
                f"Cannot tell the pooler mode of the Supabase host {host}:{port}; Supabase "
                "listens on 5432 (direct or session mode) and 6543 (transaction mode). "
                "Pass mode='direct', 'session' or 'transaction'."
            )
    elif mode not in get_args(Mode):
        raise ImproperlyConfigured(
            f"database_config(mode={mode!r}) is not one of {', '.join(get_args(Mode))}."
        )
    if role not in get_args(Role):
        raise ImproperlyConfigured(f"database_config(role={role!r}) must be 'web' or 'direct'.")
    if role == "direct":
        _apply_direct_role(mode, pool, statement_timeout)
        config.setdefault("CONN_MAX_AGE", 0)
    if supabase:
        _require_ssl(config["OPTIONS"], host)
        if connect_timeout is None:
            connect_timeout = _SUPABASE_CONNECT_TIMEOUT
        if statement_timeout is None and mode == "direct" and role == "web":
            # Only where the server itself reads the startup packet: a pooler may refuse
            # or drop the ``options`` parameter (PgBouncer refuses it).
            statement_timeout = _SUPABASE_STATEMENT_TIMEOUT_MS
    if connect_timeout is not None:
        config["OPTIONS"].setdefault("connect_timeout", connect_timeout)
    if mode == "transaction":
        _apply_transaction_mode(config, statement_timeout)
    elif statement_timeout is not None:
        _add_startup_option(config["OPTIONS"], f"-c statement_timeout={int(statement_timeout)}")
    config.setdefault("CONN_HEALTH_CHECKS", True)
    _apply_pool(
        config,
        pool,
        explicit_max_age=options.get("CONN_MAX_AGE"),
        pool_size=pool_size,
        pool_min_size=pool_min_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=pool_recycle,
    )
    config[SETTINGS_KEY] = {"MODE": mode, "POOL": pool, "ROLE": role, "SUPABASE": supabase}
    return config


def _apply_direct_role(mode: Mode, pool: Pool | None, statement_timeout: int | None) -> None:
    if mode == "transaction":
        raise ImproperlyConfigured(
            "database_config(role='direct') needs a direct or session-mode URL (port 5432); "
            "a transaction-mode pooler cannot run migrations, .iterator() or LISTEN."
        )
    if pool is not None or statement_timeout is not None:
        raise ImproperlyConfigured(
            "database_config(role='direct') takes no pool and no statement_timeout: the "
            "direct alias serves migrations and listeners, which hold one long connection."
        )


def _require_ssl(conn_options: dict[str, Any], host: str) -> None:
    # An explicit weaker sslmode is refused rather than silently raised: it is never right
    # for a host on the public internet, and overriding it would hide the mistake.
    sslmode = conn_options.setdefault("sslmode", "require")
    if not sslmode_is_strong(sslmode):
        raise ImproperlyConfigured(
            f"sslmode={sslmode!r} is too weak for the Supabase host {host}; use 'require', "
            "or 'verify-full' with Supabase's root certificate (sslrootcert=...)."
        )


def _apply_transaction_mode(config: dict[str, Any], statement_timeout: int | None) -> None:
    # Behind a transaction-mode pooler consecutive transactions may run on different
    # server connections: nothing may outlive a transaction (cursors WITH HOLD, prepared
    # statements, SET, SET ROLE, startup parameters).
    if config.get("DISABLE_SERVER_SIDE_CURSORS") is False:
        raise ImproperlyConfigured(
            "DISABLE_SERVER_SIDE_CURSORS=False cannot work behind a transaction-mode pooler: "
            ".iterator() would fail with InvalidCursorName."
        )
    config["DISABLE_SERVER_SIDE_CURSORS"] = True
    conn_options = config["OPTIONS"]
    refused = [
        name
        for name, bad in (
            ("prepare_threshold", conn_options.get("prepare_threshold") is not None),
            ("server_side_binding", bool(conn_options.get("server_side_binding"))),
            ("assume_role", bool(conn_options.get("assume_role"))),
            ("statement_timeout", statement_timeout is not None),
        )
        if bad
    ]
    if refused:
        raise ImproperlyConfigured(
            f"{', '.join(refused)} cannot be used behind a transaction-mode pooler: each "
            "needs session state that the next transaction may not see. Set a statement "
            "timeout on the role instead (ALTER ROLE ... SET statement_timeout = '30s')."
        )


def _add_startup_option(conn_options: dict[str, Any], option: str) -> None:
    existing = conn_options.get("options", "")
    conn_options["options"] = f"{existing} {option}".strip()


def _apply_pool(
    config: dict[str, Any],
    pool: Pool | None,
    *,
    explicit_max_age: Any,
    pool_size: int,
    pool_min_size: int,
    max_overflow: int,
    pool_timeout: float,
    pool_recycle: int,
) -> None:
    if pool is None:
        config.setdefault("CONN_MAX_AGE", _PERSISTENT_CONN_MAX_AGE)
        return
    if explicit_max_age not in (None, 0):
        raise ImproperlyConfigured(
            f"database_config(pool={pool!r}) needs CONN_MAX_AGE=0 (got {explicit_max_age!r}): "
            "a persistent connection would keep its pooled connection out of the pool."
        )
    config["CONN_MAX_AGE"] = 0
    if pool == "django":
        config["OPTIONS"].setdefault(
            "pool",
            {
                "min_size": min(pool_min_size, pool_size),
                "max_size": pool_size,
                "timeout": pool_timeout,
                "max_lifetime": float(pool_recycle),
            },
        )
    elif pool == "dj_db_conn_pool":
        config["ENGINE"] = _DB_POOL_ENGINE
        config.setdefault(
            "POOL_OPTIONS",
            {
                "POOL_SIZE": pool_size,
                "MAX_OVERFLOW": max_overflow,
                "TIMEOUT": pool_timeout,
                "RECYCLE": pool_recycle,
                "PRE_PING": True,
            },
        )
    else:
        raise ImproperlyConfigured(
            f"database_config(pool={pool!r}) is not one of 'django', 'dj_db_conn_pool' or None."
        )


def _session_url(web_url: str) -> str:
    """The direct/session URL beside a Supabase transaction-mode URL: same host, port 5432."""
    parts = urlsplit(web_url)
    netloc = parts.netloc.rsplit(":", 1)[0] + ":5432"
    return urlunsplit(parts._replace(netloc=netloc))


def databases_with_direct(
    web_url: str,
    direct_url: str | None = None,
    *,
    direct_alias: str = "direct",
    **web_options: Any,
) -> dict[str, dict[str, Any]]:
    """Return a ``DATABASES`` dict: ``"default"`` for requests, plus a direct alias.

    ``"default"`` is `database_config` of ``web_url`` with ``web_options``. The
    second alias (``direct_alias``) connects to ``direct_url`` with ``role="direct"``, for
    what a transaction-mode pooler cannot do: ``manage.py migrate --database direct``,
    ``.using("direct").iterator()`` and LISTEN. In tests it mirrors ``"default"`` (same
    database). When ``web_url`` is Supabase's transaction pooler and ``direct_url`` is
    omitted, the session-mode port of the same host is used (Supavisor serves both).
    """
    default = database_config(web_url, **web_options)
    if direct_url is None:
        mode = default[SETTINGS_KEY]["MODE"]
        if mode != "transaction":
            return {"default": default}
        if not default[SETTINGS_KEY]["SUPABASE"]:
            raise ImproperlyConfigured(
                "databases_with_direct() needs direct_url for a self-hosted transaction pooler: "
                "migrations, .iterator() and LISTEN need a direct connection."
            )
        direct_url = _session_url(web_url)
    direct = database_config(direct_url, role="direct", TEST={"MIRROR": "default"})
    return {"default": default, direct_alias: direct}
