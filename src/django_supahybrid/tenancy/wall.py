"""Run a request's database work under the tenant wall, as PostgREST runs the Data API's.

Under the wall the request's queries run in one transaction whose first statement sets,
all transaction-local (``set_config(..., true)``, that is ``SET LOCAL``):

- ``role`` to the request role ``supahybrid_request`` (no ``BYPASSRLS``), so the row
  level security policies of `EnableTenantRLS`
  apply to Django's queries too;
- ``request.jwt.claims`` (and ``request.jwt.claim.sub``, ``request.jwt.claim.role``) to
  the request's verified claims, which ``auth.uid()`` reads.

Nothing outlives the transaction, so a pooled connection (PgBouncer or Supavisor in
transaction mode included) carries nothing to the next request. Opt in per view with
`TenantWallMixin` (DRF) or per project with `TenantWallMiddleware`; requests
without a Supabase access token, authentication itself, the admin and management
commands run as before. Like the migration operations, the mixin and the middleware do
nothing on a database that is not shaped like Supabase's (`supabase_shaped`), so
one codebase runs on a plain PostgreSQL in development. See the scoping guide.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from django_supahybrid._compat import atomic_depth
from django_supahybrid.authentication.authenticators import authenticate_request
from django_supahybrid.authentication.tokens import SupabaseClaims
from django_supahybrid.conf import app_settings
from django_supahybrid.tenancy.policies import REQUEST_ROLE, SUPABASE_SHAPED_SQL

__all__ = [
    "TenantWallError",
    "TenantWallMiddleware",
    "TenantWallMixin",
    "WallState",
    "active_wall",
    "forget_supabase_shape",
    "supabase_shaped",
    "tenant_wall",
    "translate_error",
]

_ATTR = "_supahybrid_wall"
_SETTINGS = ("role", "request.jwt.claims", "request.jwt.claim.sub", "request.jwt.claim.role")

# One statement, one round trip: read what was set before (to restore it when the wall is
# a savepoint inside a larger transaction), then set role and claims for this transaction.
# The CTE is materialised, so the old values are read before set_config() changes them.
_ENTER = (
    "WITH previous AS MATERIALIZED (SELECT "  # noqa: S608  (the names are constants)
    + ", ".join(f"coalesce(current_setting('{name}', true), '')" for name in _SETTINGS)
    + ") SELECT previous.*, "
    + ", ".join(f"set_config('{name}', %s, true)" for name in _SETTINGS)
    + " FROM previous"
)
# Sets role and claims without reading anything: the restore, and the whole of the wall
# when it joins a transaction that ends with it.
_SET = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in _SETTINGS)

_TABLE_DENIED = re.compile(r'permission denied for (?:table|relation|view) "?([^"\s]+)"?')
_ROLE_DENIED = re.compile(r"permission denied to set role|role .* does not exist")
_ROW_REFUSED = re.compile(r"violates row-level security policy")


class TenantWallError(ImproperlyConfigured):
    """The database is not set up for a request under the tenant wall."""


@dataclasses.dataclass(frozen=True)
class WallState:
    """The wall a connection is under: whose claims, and which Django user."""

    sub: str
    user_pk: Any


def active_wall(using: str = DEFAULT_DB_ALIAS) -> WallState | None:
    """The wall the connection ``using`` is under in this thread, or ``None``."""
    state: WallState | None = getattr(connections[using], _ATTR, None)
    return state


_shapes: dict[tuple[str, str], bool] = {}
_shapes_lock = threading.Lock()


def supabase_shaped(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database ``using`` is shaped like Supabase's, where the wall applies.

    True where the ``authenticated`` role and ``auth.uid()`` exist, the test the
    migration operations make before creating anything. Asked once per database and
    process; `forget_supabase_shape` asks again.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = (using, str(connection.settings_dict.get("NAME")))
    with _shapes_lock:
        if key not in _shapes:
            with connection.cursor() as cursor:
                cursor.execute(SUPABASE_SHAPED_SQL)
                _shapes[key] = bool(cursor.fetchone()[0])
        return _shapes[key]


def forget_supabase_shape() -> None:
    """Forget what `supabase_shaped` found (after installing Supabase's schema)."""
    with _shapes_lock:
        _shapes.clear()


def _raw(claims: SupabaseClaims | Mapping[str, Any]) -> dict[str, Any]:
    return dict(claims.raw if isinstance(claims, SupabaseClaims) else claims)


def _model_label(table: str) -> str:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model._meta.label
    return table


def translate_error(exc: BaseException) -> Exception | None:
    """What a database error under the wall means, or ``None`` when it is another error.

    A row written outside the caller's organizations is a
    `PermissionDenied` (403); a table or role the
    request role cannot use is a `TenantWallError` naming the fix.
    """
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code not in ("42501", "22023"):
        return None
    message = str(cause)
    if _ROW_REFUSED.search(message):
        return PermissionDenied(_("This change would put a row outside your organizations."))
    if _ROLE_DENIED.search(message):
        return TenantWallError(
            f"The database role Django connects as cannot take the request role "
            f"{REQUEST_ROLE} ({message.strip()}). Run migrate (EnableTenantRLS creates the "
            f"role), or as an administrator: GRANT {REQUEST_ROLE} TO <the role in DATABASES>;"
        )
    found = _TABLE_DENIED.search(message)
    if found is None:
        return None
    table = found.group(1)
    label = _model_label(table)
    return TenantWallError(
        f"Table {table} ({label}) is not open to requests under the tenant wall. Add "
        f'EnableTenantRLS("{label}") to a migration if its rows belong to a tenant, or '
        f'GrantRequestRole("{label}") if every tenant shares them.'
    )


@contextlib.contextmanager
def tenant_wall(
    claims: SupabaseClaims | Mapping[str, Any],
    *,
    user: Any = None,
    using: str = DEFAULT_DB_ALIAS,
    join_transaction: bool = False,
) -> Iterator[WallState]:
    """Run the block in a transaction under the wall, with these verified claims.

    ``user`` is the Django user the claims resolved to (``for_user(user)`` then asks the
    database for the organizations, as the policies do). Nested in the same claims, it is
    a no-op; inside an outer transaction it is a savepoint, and the previous role and
    claims come back when it ends. Database errors that mean a missing policy or grant
    are raised as `TenantWallError`.

    ``join_transaction=True`` is for a block that is the rest of the transaction it runs
    in, as a view is under ``ATOMIC_REQUESTS``: the wall then joins that transaction with
    its one statement, no savepoint and no restore, and role and claims last until the
    transaction ends. Outside a transaction it starts one, as without it.
    """
    raw = _raw(claims)
    sub = str(raw.get("sub") or "")
    connection = connections[using]
    current = active_wall(using)
    if current is not None:
        if current.sub != sub:
            raise TenantWallError(
                f"Database {using!r} is already under the tenant wall for another user."
            )
        yield current
        return
    values = [REQUEST_ROLE, json.dumps(raw), sub, str(raw.get("role") or "")]
    state = WallState(sub=sub, user_pk=getattr(user, "pk", None))
    if join_transaction and connection.in_atomic_block:
        _execute(connection, _SET, values)
        with _entered(connection, state):
            yield state
        return
    nested = connection.in_atomic_block
    with transaction.atomic(using=using):
        row = _execute(connection, _ENTER, values)
        with _entered(connection, state):
            yield state
            if nested and not connection.needs_rollback:
                _execute(connection, _SET, list(row[: len(_SETTINGS)]))


def _execute(connection: Any, sql: str, params: list[str]) -> Any:
    """Run one of the wall's own statements; its row."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except DatabaseError as exc:
        raise (translate_error(exc) or exc) from exc


@contextlib.contextmanager
def _entered(connection: Any, state: WallState) -> Iterator[None]:
    """Mark the connection as under the wall for the block; name the wall's errors."""
    setattr(connection, _ATTR, state)
    try:
        yield
    except DatabaseError as exc:
        translated = translate_error(exc)
        if isinstance(translated, TenantWallError):
            raise translated from exc
        raise
    finally:
        setattr(connection, _ATTR, None)


def _joins_request_transaction(request: Request, using: str) -> bool:
    """Whether the view runs in a transaction of its own that ends with it.

    That is ``ATOMIC_REQUESTS`` on ``using``, a view not exempted from it, and that
    request transaction the only block open, so no middleware's transaction outlives it.
    """
    connection = connections[using]
    if not connection.settings_dict.get("ATOMIC_REQUESTS") or not connection.in_atomic_block:
        return False
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    if view is None or using in getattr(view, "_non_atomic_requests", ()):
        return False
    return atomic_depth(connection) == 1


def _wall_database() -> str:
    return app_settings().TENANT_WALL_DATABASE


class TenantWallMixin:
    """Run a DRF view's database work under the tenant wall.

    Requests authenticated with a Supabase access token (``request.auth`` is a
    `SupabaseClaims`) enter the wall after
    authentication, permissions and throttling, and leave it when the response is ready:
    committed for a success or redirect, rolled back for an error (status 400 and up).
    Other requests run as before, and so does every request on a database not shaped like
    Supabase's (`supabase_shaped`). ``tenant_wall_database`` names the database
    alias (default: ``SUPAHYBRID["TENANT_WALL_DATABASE"]``).

    With ``ATOMIC_REQUESTS`` on that database the view already runs in a transaction that
    ends with it, and the wall joins it: one statement per request, the whole cost. In
    autocommit the wall opens the transaction itself (``BEGIN`` and ``COMMIT`` too).
    """

    tenant_wall_database: str | None = None
    _tenant_wall_exits: contextlib.ExitStack | None = None
    _tenant_wall_using: str | None = None

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as exits:
            self._tenant_wall_exits = exits  # a view instance serves one request
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            if self._tenant_wall_using is not None and response.status_code >= 400:
                transaction.set_rollback(True, using=self._tenant_wall_using)
            return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        claims: Any = request.auth
        if not isinstance(claims, SupabaseClaims) or self._tenant_wall_exits is None:
            return
        using = self.tenant_wall_database or _wall_database()
        if supabase_shaped(using):
            join = _joins_request_transaction(request, using)
            self._tenant_wall_exits.enter_context(
                tenant_wall(claims, user=request.user, using=using, join_transaction=join)
            )
            self._tenant_wall_using = using

    def handle_exception(self, exc: Exception) -> Response:
        if self._tenant_wall_using is not None:
            exc = translate_error(exc) or exc
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response


class TenantWallMiddleware:
    """Run every request that carries a valid Supabase access token under the tenant wall.

    The token is checked (through the token cache) before the wall is entered, so
    authentication never runs as the request role; requests without a Bearer token, or
    with a refused one, pass through untouched (the view answers 401 as usual), as does
    every request on a database not shaped like Supabase's (`supabase_shaped`). The
    transaction commits for a status below 400 and rolls back otherwise. List it after
    Django's ``AuthenticationMiddleware``.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user, claims = authenticate_request(request)
        using = _wall_database()
        if claims is None or not supabase_shaped(using):
            return self.get_response(request)
        with tenant_wall(claims, user=user, using=using):
            response = self.get_response(request)
            if response.status_code >= 400:
                transaction.set_rollback(True, using=using)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Raise what a database error under the wall means (see `translate_error`)."""
        if active_wall(_wall_database()) is None:
            return
        translated = translate_error(exception)
        if isinstance(translated, PermissionDenied):
            raise DjangoPermissionDenied(str(translated.detail)) from exception
        if translated is not None:
            raise translated from exception
