"""Revocation check for high-risk views: is the token's Supabase session still alive?

A signature check cannot see a logout: a token stays valid until ``exp``. Supabase keeps
sessions in ``auth.sessions`` in the project database, which Django usually shares, so
`SupabaseSessionAuthentication` looks the ``session_id`` up there (the answer is
cached for ``SESSION_CHECK_TTL`` seconds). Use it on the views where an hour of a stolen
token matters: payments, account deletion, role changes.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.db import DatabaseError, connections, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from django_supahybrid._compat import strict_cache
from django_supahybrid._ratelimit import warn_every
from django_supahybrid.authentication import SupabaseJWTAuthentication
from django_supahybrid.authentication.tokens import SupabaseClaims, TokenError
from django_supahybrid.conf import SupaHybridSettings, app_settings

__all__ = [
    "SessionCheckUnavailable",
    "SupabaseSessionAuthentication",
    "session_is_active",
    "sessions_table_problem",
]

logger = logging.getLogger(__name__)

_SQL = (
    "SELECT 1 FROM auth.sessions WHERE id = %s AND user_id = %s "
    "AND (not_after IS NULL OR not_after > now())"
)


# Whether the connection's role can see every row of auth.sessions. On Supabase the table
# has row level security on and no policy (supabase/auth migration 20240612123726): a role
# without BYPASSRLS that does not own it sees an empty table, and no error.
_VISIBILITY_SQL = """
SELECT has_schema_privilege(c.relnamespace, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'),
  c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls)
  AND (c.relforcerowsecurity OR NOT pg_has_role(r.oid, c.relowner, 'USAGE'))
  AND NOT EXISTS (
    SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*')
    AND (0 = ANY (p.polroles) OR EXISTS (
      SELECT 1 FROM unnest(p.polroles) AS pr(oid) WHERE pg_has_role(r.oid, pr.oid, 'USAGE')))),
  r.rolname::text, pg_get_userbyid(c.relowner)::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles r ON r.rolname = current_user
WHERE n.nspname = 'auth' AND c.relname = 'sessions'
"""
#: Aliases whose role was seen to read every row of auth.sessions (checked once).
_visible: set[str] = set()


def sessions_table_problem(using: str) -> str | None:
    """Why the role of database alias ``using`` cannot check sessions, or ``None``.

    ``None`` also where ``auth.sessions`` does not exist. A role that may not read the
    table, or that row level security hides its rows from, is a problem: every session
    would look ended to it.
    """
    with connections[using].cursor() as cursor:
        cursor.execute(_VISIBILITY_SQL)
        row = cursor.fetchone()
    if row is None:
        return None
    readable, hidden, role, owner = row
    if not readable:
        return f"role {role!r} may not read auth.sessions"
    if hidden:
        return (
            f"auth.sessions has row level security on and no policy for role {role!r}, which "
            f"neither owns it (the owner is {owner!r}) nor has BYPASSRLS, so every session "
            "looks ended to it"
        )
    return None


class SessionCheckUnavailable(APIException):
    """``auth.sessions`` could not be read: 503, since the token itself may be fine."""

    status_code = 503
    default_detail = _("Session could not be checked.")
    default_code = "session_unverifiable"


def _cache(conf: SupaHybridSettings) -> Any:
    if conf.AUTH_CACHE and conf.SESSION_CHECK_TTL > 0:
        return strict_cache(caches[conf.AUTH_CACHE])
    return None


def _query(claims: SupabaseClaims, using: str) -> bool:
    try:
        # A savepoint, so a failure does not break a surrounding (ATOMIC_REQUESTS) transaction.
        with transaction.atomic(using=using), connections[using].cursor() as cursor:
            cursor.execute(_SQL, [claims.session_id, claims.sub])
            if cursor.fetchone() is not None:
                return True
            # No row: ended, unless this role cannot see the table's rows at all.
            problem = None if using in _visible else sessions_table_problem(using)
    except DatabaseError as exc:
        warn_every(logger, "sessions", "Cannot read auth.sessions on %r: %s", using, exc)
        raise SessionCheckUnavailable from None
    if problem is not None:
        warn_every(
            logger,
            "sessions-hidden",
            "Cannot check Supabase sessions on database %r: %s. Answering 503 instead of "
            "refusing every token; connect SESSION_CHECK_DATABASE as a role with BYPASSRLS "
            "(Supabase's postgres), or add a SELECT policy on auth.sessions for it "
            "(system check supahybrid.W061).",
            using,
            problem,
        )
        raise SessionCheckUnavailable
    _visible.add(using)
    return False


def session_is_active(claims: SupabaseClaims) -> bool:
    """Whether the session of ``claims`` still exists and has not expired.

    Raises `SessionCheckUnavailable` when ``auth.sessions`` cannot be read.
    """
    if claims.session_id is None:
        return False
    conf = app_settings()
    cache = _cache(conf)
    # The answer is about this session of this user: a token naming another user's
    # session must not reuse it.
    key = f"supahybrid:session:{claims.sub}:{claims.session_id}"
    if cache is not None:
        try:
            cached = cache.get(key)
            if cached is not None:
                return cached == "1"  # type: ignore[no-any-return]
        except Exception:  # any cache client error: ask the database
            cache = None
    active = _query(claims, conf.SESSION_CHECK_DATABASE)
    if cache is not None:
        # Any cache client error: the answer is still right, only not cached.
        with contextlib.suppress(Exception):
            cache.set(key, "1" if active else "0", timeout=conf.SESSION_CHECK_TTL)
    return active


class SupabaseSessionAuthentication(SupabaseJWTAuthentication):
    """`SupabaseJWTAuthentication` that also refuses tokens of ended sessions.

    A signed-out or revoked session answers 401 with the code ``session_revoked``, within
    ``SESSION_CHECK_TTL`` seconds; one extra query per session and TTL.
    """

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, SupabaseClaims] | None:
        result = super().authenticate(request)
        if result is not None and not session_is_active(result[1]):
            raise self.refusal(request, TokenError("session_revoked"))
        return result
