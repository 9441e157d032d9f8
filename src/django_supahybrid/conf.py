"""The ``SUPAHYBRID`` settings dict: defaults, validation and typed access.

Settings are read lazily, on first use, never at import time, and re-read whenever
``SUPAHYBRID`` changes (``override_settings`` in tests), so the rest of the library
calls `app_settings` each time it needs a value.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

__all__ = ["SupaHybridSettings", "app_settings", "is_secret", "reload", "shown"]

SETTING_NAME = "SUPAHYBRID"

# The names Django's own error pages hide (``SafeExceptionReporterFilter``), so a setting
# added later with such a name is redacted without anyone having to remember it.
# Whole words of a setting's name (``JWT_SECRET``, ``METRICS_TOKEN``, ``API_KEY``), so that
# ``DATA_API_SCHEMAS`` is not taken for one.
_SECRET_NAMES = re.compile(r"(?<![A-Z])(?:API_?KEY|TOKEN|KEY|SECRET|PASS\w*|SIGNATURE)(?![A-Z])")

SupabaseCompute = Literal[
    "nano", "micro", "small", "medium", "large", "xl", "2xl", "4xl", "8xl", "12xl", "16xl"
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SupaHybridSettings:
    """Every key of ``settings.SUPAHYBRID`` with its default.

    Each field is documented in ``docs/settings.md`` (a test keeps the two in step).
    """

    SUPABASE_URL: str | None = None

    # --- scoping ---
    ORGANIZATION_LOOKUP: str | None = None
    ORGANIZATION_RESOLVER: str | None = None
    ORGANIZATION_SUPERUSER_SEES_ALL: bool = False
    TENANT_WALL_DATABASE: str = "default"

    # --- pagination ---
    PAGINATION_PAGE_SIZE: int = 20
    PAGINATION_MAX_PAGE_SIZE: int = 100
    PAGINATION_EXACT_COUNT_LIMIT: int = 10_000
    PAGINATION_LARGE_COUNT: Literal["estimate", "capped"] = "estimate"
    PAGINATION_DEFERRED_JOIN_OFFSET: int | None = 10_000

    # --- database ---
    WEB_PROCESSES: int | None = None
    WEB_THREADS: int = 1
    DATABASE_MAX_CONNECTIONS: int | None = None
    DATABASE_RESERVED_CONNECTIONS: int = 0
    SUPABASE_COMPUTE: SupabaseCompute | None = None
    # --- realtime ---
    REALTIME_TRANSPORTS: tuple[str, ...] = (
        "django_supahybrid.realtime.transports.NotifyTransport",
        "django_supahybrid.realtime.transports.BroadcastTransport",
    )
    REALTIME_BROADCAST_PRIVATE: bool = True
    REALTIME_LISTEN_DATABASE: str = "default"
    REALTIME_PARTITION_CHECK_INTERVAL: int = 600

    # --- Supabase's Data API (the second door) ---
    DATA_API_SCHEMAS: tuple[str, ...] = ("public", "graphql_public")
    DATA_API_SHARED_TABLES: tuple[str, ...] = ()

    # --- authentication ---
    JWT_SECRET: str | None = dataclasses.field(default=None, repr=False)
    JWKS_URL: str | Literal[False] | None = None
    JWT_ISSUER: str | list[str] | Literal[False] | None = None
    JWT_AUDIENCE: str | list[str] = "authenticated"
    JWT_LEEWAY: int = 10
    JWT_ALLOWED_ROLES: list[str] = dataclasses.field(default_factory=lambda: ["authenticated"])
    JWT_ALLOW_ANONYMOUS_USERS: bool = True
    JWT_ALLOW_OAUTH_CLIENTS: bool = False
    JWT_MAX_LIFETIME: int = 604_800
    JWT_MIN_AAL: Literal["aal1", "aal2"] | None = None
    JWKS_CACHE_TTL: int = 600
    JWKS_MAX_STALE: int = 3600
    JWKS_REFRESH_COOLDOWN: int = 30
    JWKS_FETCH_TIMEOUT: float = 2.0
    AUTH_CACHE: str | None = "default"
    AUTH_CACHE_TTL: int = 600
    AUTH_LOCAL_CACHE_SIZE: int = 1024
    AUTH_MAX_STALENESS: float = 3.0
    AUTH_CREATE_USERS: bool = True
    AUTH_USER_UUID_FIELD: str | None = None
    SESSION_CHECK_TTL: int = 10
    SESSION_CHECK_DATABASE: str = "default"

    # --- monitoring ---
    REQUEST_METRICS_SERVER_TIMING: bool = False
    METRICS_TOKEN: str | None = dataclasses.field(default=None, repr=False)


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (the subset the settings use)."""
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, arg) for arg in get_args(hint))
    if origin is Literal:
        return value in get_args(hint)
    if hint is type(None):
        return value is None
    if origin in (tuple, list, frozenset, set):
        if not isinstance(value, list | tuple | set | frozenset):
            return False
        args = [a for a in get_args(hint) if a is not Ellipsis]
        return all(_matches(item, args[0]) for item in value) if args else True
    if origin is dict:
        if not isinstance(value, dict):
            return False
        key_hint, value_hint = get_args(hint)
        return all(_matches(k, key_hint) and _matches(v, value_hint) for k, v in value.items())
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def is_secret(key: str) -> bool:
    """Whether the setting ``key`` holds a secret (``JWT_SECRET``, ``METRICS_TOKEN``, ...)."""
    return bool(_SECRET_NAMES.search(key))


def shown(key: str, value: object) -> str:
    """``value`` of the setting ``key`` as a message may show it: secrets are redacted.

    A secret is shown as its type and length only, so a message still says what is wrong
    (a number instead of a string, an empty string) without revealing it.
    """
    if not is_secret(key) or value is None:
        return repr(value)
    size = f" of {len(value)} characters" if isinstance(value, str) else ""
    return f"<redacted {type(value).__name__}{size}>"


@cache
def app_settings() -> SupaHybridSettings:
    """Return the validated ``SUPAHYBRID`` settings, merged over the defaults.

    Raises `ImproperlyConfigured` naming the key, the bad
    value and what was expected.
    """
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(
            f"settings.{SETTING_NAME} must be a dict, got {type(raw).__name__}."
        )
    hints = get_type_hints(SupaHybridSettings)
    unknown = sorted(set(raw) - set(hints))
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown key(s) in settings.{SETTING_NAME}: {', '.join(map(str, unknown))}. "
            f"Valid keys are: {', '.join(sorted(hints))}."
        )
    for key, value in raw.items():
        if not _matches(value, hints[key]):
            raise ImproperlyConfigured(
                f"settings.{SETTING_NAME}[{key!r}] must be {_describe(hints[key])}, "
                f"got {shown(key, value)}."
            )
    return SupaHybridSettings(**raw)


def reload() -> None:
    """Forget the cached settings; the next `app_settings` call re-reads them."""
    app_settings.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        reload()


def connect_signals() -> None:
    setting_changed.connect(_on_setting_changed, dispatch_uid="django_supahybrid.conf")
