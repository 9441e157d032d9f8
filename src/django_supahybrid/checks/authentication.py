"""System checks for the authentication settings (ids E010 to E019 and W010 to W019).

``supahybrid.W061`` (the revocation check's view of ``auth.sessions``) reads the database,
so it is tagged ``database`` and numbered with the other checks of Supabase's own schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models

from django_supahybrid.checks._base import with_settings
from django_supahybrid.checks.db import web_processes
from django_supahybrid.conf import SupaHybridSettings

__all__ = ["check_authentication", "check_session_table"]

_MIDDLEWARE = "django_supahybrid.authentication.SupabaseAuthenticationMiddleware"
_PER_PROCESS_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
_MIN_SECRET_LENGTH = 32


def _in_use() -> bool:
    rest = getattr(settings, "REST_FRAMEWORK", {}) or {}
    classes = rest.get("DEFAULT_AUTHENTICATION_CLASSES", ())
    ours = any(str(path).startswith("django_supahybrid.") for path in classes)
    return ours or _MIDDLEWARE in getattr(settings, "MIDDLEWARE", ())


@with_settings
def check_authentication(conf: SupaHybridSettings, **kwargs: Any) -> list[checks.CheckMessage]:
    """Key material, secret strength, issuer, auth cache and user field."""
    messages = _check_keys(conf) + _check_cache(conf) + _check_user_field(conf)
    if conf.JWT_ISSUER is False:
        messages.append(
            checks.Warning(
                "SUPAHYBRID['JWT_ISSUER'] is False: tokens from any issuer are accepted.",
                hint="Remove the key to accept '<SUPABASE_URL>/auth/v1', or list the issuers.",
                id="supahybrid.W010",
            )
        )
    return messages


def _check_keys(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    has_jwks = conf.JWKS_URL is not False and bool(conf.JWKS_URL or conf.SUPABASE_URL)
    if _in_use() and not conf.JWT_SECRET and not has_jwks:
        messages.append(
            checks.Error(
                "No key to verify Supabase tokens: SUPAHYBRID has neither 'JWT_SECRET' "
                "nor a JWKS ('SUPABASE_URL' or 'JWKS_URL').",
                hint="Set SUPAHYBRID['SUPABASE_URL'] (signing keys) and/or 'JWT_SECRET' "
                "(the legacy secret from the dashboard's JWT settings).",
                id="supahybrid.E010",
            )
        )
    if conf.JWT_SECRET is not None and len(conf.JWT_SECRET) < _MIN_SECRET_LENGTH:
        messages.append(
            checks.Error(
                f"SUPAHYBRID['JWT_SECRET'] is {len(conf.JWT_SECRET)} characters long; "
                f"an HS256 secret needs at least {_MIN_SECRET_LENGTH}.",
                hint="Copy the project's JWT secret from the Supabase dashboard, or better, "
                "move to asymmetric signing keys.",
                id="supahybrid.E011",
            )
        )
    if _in_use() and conf.JWT_ISSUER is None and not conf.SUPABASE_URL:
        messages.append(
            checks.Error(
                "The token issuer is unknown: SUPAHYBRID has neither 'SUPABASE_URL' nor "
                "'JWT_ISSUER', so every token would be refused.",
                hint="Set SUPAHYBRID['SUPABASE_URL'] to the project URL.",
                id="supahybrid.E012",
            )
        )
    return messages


def _check_cache(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    if conf.AUTH_CACHE is None:
        return []
    caches = getattr(settings, "CACHES", {})
    if conf.AUTH_CACHE not in caches:
        return [
            checks.Error(
                f"SUPAHYBRID['AUTH_CACHE'] is {conf.AUTH_CACHE!r}, which is not in CACHES.",
                hint=f"Use one of {', '.join(map(repr, caches)) or 'your CACHES aliases'}, "
                "or None for no shared cache.",
                id="supahybrid.E013",
            )
        ]
    backend = caches[conf.AUTH_CACHE].get("BACKEND", "")
    processes = web_processes(conf)
    if processes == 1 or backend not in _PER_PROCESS_BACKENDS:
        return []
    running = (
        f"{processes} web processes run"
        if processes
        else "the number of web processes is not known to be one"
    )
    return [
        checks.Warning(
            f"SUPAHYBRID['AUTH_CACHE'] ({conf.AUTH_CACHE!r}) uses {backend}, which each "
            f"process holds alone, while {running}: every process verifies each token "
            "again, and a user deactivated in one is still accepted by the others until "
            "their cached tokens expire.",
            hint="Point AUTH_CACHE at a shared cache (Redis, see cache_config()), set it to "
            "None to revalidate against the database every AUTH_MAX_STALENESS, or set "
            "WEB_PROCESSES to 1 if only one process runs.",
            obj=conf.AUTH_CACHE,
            id="supahybrid.W011",
        )
    ]


def _check_user_field(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    field_name = conf.AUTH_USER_UUID_FIELD
    if field_name is None:
        return []
    user_model = get_user_model()
    if _resolves_to_unique_uuid(user_model, field_name.split("__")):
        return []
    return [
        checks.Error(
            f"SUPAHYBRID['AUTH_USER_UUID_FIELD'] is {field_name!r}, which is not a unique "
            f"UUIDField of {user_model._meta.label} or of a row one-to-one with it.",
            hint="Name a UUIDField(unique=True) of the user model, or a path through "
            "one-to-one relations such as 'profile__supabase_uid', or remove the key to "
            "use the library's SupabaseIdentity model.",
            id="supahybrid.E014",
        )
    ]


def _resolves_to_unique_uuid(model: Any, names: list[str]) -> bool:
    try:
        for name in names[:-1]:
            relation = model._meta.get_field(name)
            if not relation.one_to_one:
                return False
            model = relation.related_model
        field = model._meta.get_field(names[-1])
    except FieldDoesNotExist:
        return False
    return isinstance(field, models.UUIDField) and bool(field.unique)


@with_settings
def check_session_table(
    conf: SupaHybridSettings, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The revocation check's role can see the rows of ``auth.sessions`` (tagged database)."""
    from django_supahybrid.authentication.revocation import sessions_table_problem

    alias = conf.SESSION_CHECK_DATABASE
    if alias not in (databases or ()) or connections[alias].vendor != "postgresql":
        return []
    problem = sessions_table_problem(alias)
    if problem is None:
        return []
    return [
        checks.Warning(
            f"SupabaseSessionAuthentication cannot check sessions on database {alias!r} "
            f"(SESSION_CHECK_DATABASE): {problem}. Its views would answer 503 to every "
            "request instead of refusing a signed-out session.",
            hint="Connect that alias as a role with BYPASSRLS (Supabase's postgres role has "
            "it) and SELECT on auth.sessions, or add a SELECT policy on auth.sessions for "
            "the role.",
            id="supahybrid.W061",
        )
    ]
