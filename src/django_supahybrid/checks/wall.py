"""System checks for the tenant wall's request role (ids E070-E079).

Tagged ``database``: they ask the server, so they run with ``manage.py check --database
default`` and before ``migrate``, never at import. They say nothing on a database that is
not shaped like Supabase's, where the wall stays down, and E070 waits for the migrations
that create the role. Each is documented in ``docs/checks.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connections

from django_supahybrid.tenancy.policies import REQUEST_ROLE, SUPABASE_SHAPED
from django_supahybrid.tenancy.wall import TenantWallMixin

__all__ = ["check_tenant_wall"]

_MIDDLEWARE = "django_supahybrid.tenancy.wall.TenantWallMiddleware"

_STATE = f"""SELECT current_user, r.oid IS NOT NULL,
  r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER'),
  coalesce(r.rolbypassrls OR r.rolsuper, false),
  {SUPABASE_SHAPED}
FROM (SELECT 1) AS one LEFT JOIN pg_roles r ON r.rolname = %s"""  # noqa: S608  (constants)


def wall_in_use() -> bool:
    """Whether the project runs requests under the wall (middleware or a view mixin)."""
    return _MIDDLEWARE in settings.MIDDLEWARE or bool(TenantWallMixin.__subclasses__())


def _role_pending(alias: str) -> bool:
    """Whether a migration not yet applied on ``alias`` creates the request role."""
    from django.db.migrations.loader import MigrationLoader

    from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole

    loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    return any(
        isinstance(operation, EnableTenantRLS | GrantRequestRole)
        for key, migration in loader.graph.nodes.items()
        if key not in loader.applied_migrations
        for operation in migration.operations
    )


def check_tenant_wall(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The request role exists, Django's database role can take it, and it obeys RLS."""
    messages: list[checks.CheckMessage] = []
    for alias in sorted(databases or ()):
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(_STATE, [REQUEST_ROLE])
                user, exists, member, bypasses, shaped = cursor.fetchone()
        except DatabaseError:
            continue  # an unreachable database is reported by Django's own checks
        if not shaped:
            continue  # not Supabase: the operations create nothing, the wall stays down
        quoted = '"' + user.replace('"', '""') + '"'
        if not exists:
            if wall_in_use() and not _role_pending(alias):
                messages.append(
                    checks.Error(
                        f"The tenant wall's request role {REQUEST_ROLE} does not exist in "
                        f"database {alias!r}.",
                        hint=f"Run migrate (EnableTenantRLS creates it), or as an "
                        f"administrator: CREATE ROLE {REQUEST_ROLE} NOLOGIN NOINHERIT "
                        f"NOBYPASSRLS; GRANT {REQUEST_ROLE} TO {quoted};",
                        obj=alias,
                        id="supahybrid.E070",
                    )
                )
            continue
        if not member:
            messages.append(
                checks.Error(
                    f"Database role {user} (DATABASES[{alias!r}]) cannot SET ROLE "
                    f"{REQUEST_ROLE}: requests under the tenant wall would fail.",
                    hint=f"As an administrator: GRANT {REQUEST_ROLE} TO {quoted};",
                    obj=alias,
                    id="supahybrid.E071",
                )
            )
        if bypasses:
            messages.append(
                checks.Error(
                    f"The request role {REQUEST_ROLE} bypasses row level security "
                    f"(BYPASSRLS or SUPERUSER) in database {alias!r}: the tenant wall "
                    "would let every row through.",
                    hint=f"ALTER ROLE {REQUEST_ROLE} NOSUPERUSER NOBYPASSRLS;",
                    obj=alias,
                    id="supahybrid.E072",
                )
            )
    return messages
