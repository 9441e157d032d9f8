"""Which of the project's tables can Supabase's Data API reach, and which are closing?

PostgREST serves the relations of its exposed schemas to the API roles; a relation is
*open* when one of those roles holds a privilege on it and row level security does not
stand in the way (a table with RLS off, or any view, which runs with its owner's rights).
These functions read the catalogs only; they never touch a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from django_supahybrid.conf import app_settings
from django_supahybrid.dataapi.operations import API_ROLES, LockDownModel, LockDownTables

__all__ = [
    "ExposedTable",
    "existing_api_roles",
    "exposed_tables",
    "open_tables",
    "pending_lock_downs",
    "project_tables",
    "tables_locked_by",
]

_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}

_SQL = """
SELECT n.nspname, c.relname, c.relkind, c.relrowsecurity,
  ARRAY(
    SELECT r.rolname::text FROM pg_roles r
    WHERE r.rolname = ANY (%(roles)s)
      AND has_schema_privilege(r.oid, n.oid, 'USAGE')
      AND (has_table_privilege(r.oid, c.oid,
             'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
           OR has_any_column_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
    ORDER BY r.rolname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s) AND c.relname = ANY (%(tables)s)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY n.nspname, c.relname
"""


@dataclasses.dataclass(frozen=True)
class ExposedTable:
    """A relation in a schema the Data API serves."""

    schema: str
    name: str
    #: ``"table"``, ``"partitioned table"``, ``"view"``, ``"materialized view"`` or
    #: ``"foreign table"``.
    kind: str
    row_security: bool
    #: The API roles that hold some privilege on it (table or column).
    roles: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        """Whether an API role can reach its rows: a privilege and no row level security."""
        if not self.roles:
            return False
        return not (self.kind in ("table", "partitioned table") and self.row_security)


def existing_api_roles(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Which of ``anon`` and ``authenticated`` exist on the server (none: not Supabase)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY (%s) ORDER BY 1",
            [list(API_ROLES)],
        )
        return [row[0] for row in cursor.fetchall()]


def project_tables() -> dict[str, str]:
    """Every table of an installed model (many-to-many ones too) -> its model's label.

    Includes Django's migration recorder (``django_migrations``), which ``migrate``
    creates like any other table. Proxy models share their concrete model's table.
    """
    tables: dict[str, str] = {}
    for model in global_apps.get_models(include_auto_created=True):
        if not model._meta.proxy:
            tables.setdefault(model._meta.db_table, model._meta.label)
    recorder = MigrationRecorder.Migration
    tables.setdefault(recorder._meta.db_table, "migrations.Migration")
    return tables


def exposed_tables(
    using: str = DEFAULT_DB_ALIAS,
    tables: Iterable[str] | None = None,
    schemas: Sequence[str] | None = None,
) -> list[ExposedTable]:
    """The relations named ``tables`` (default: `project_tables`) in ``schemas``.

    ``schemas`` defaults to ``SUPAHYBRID["DATA_API_SCHEMAS"]``. Empty on a database
    other than PostgreSQL.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    names = sorted(project_tables() if tables is None else set(tables))
    exposed = list(app_settings().DATA_API_SCHEMAS if schemas is None else schemas)
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"roles": list(API_ROLES), "schemas": exposed, "tables": names})
        return [
            ExposedTable(schema, name, _KINDS[kind], bool(rls), tuple(roles))
            for schema, name, kind, rls, roles in cursor.fetchall()
        ]


def open_tables(
    using: str = DEFAULT_DB_ALIAS, tables: Iterable[str] | None = None
) -> list[ExposedTable]:
    """The relations of `exposed_tables` that an API role can reach."""
    return [table for table in exposed_tables(using, tables) if table.is_open]


def tables_locked_by(loader: MigrationLoader, keys: Iterable[tuple[str, str]]) -> set[str]:
    """The tables that the lock-down operations of these migrations cover.

    Models are looked up among the installed ones; a model that no longer exists
    covers nothing.
    """
    tables: set[str] = set()
    for key in keys:
        migration = loader.graph.nodes[key]
        for operation in migration.operations:
            if isinstance(operation, LockDownModel | LockDownTables):
                try:
                    tables.update(operation.tables(migration.app_label, global_apps))
                except LookupError:
                    continue
    return tables


def pending_lock_downs(using: str = DEFAULT_DB_ALIAS) -> set[str]:
    """The tables that migrations not yet applied on ``using`` will lock down."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    pending = [key for key in loader.graph.nodes if key not in loader.applied_migrations]
    return tables_locked_by(loader, pending)
