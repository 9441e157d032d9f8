"""Migration operations that close a table to Supabase's Data API, reversibly.

On Supabase, every table that ``migrate`` creates in ``public`` is granted to the API roles
``anon`` and ``authenticated`` by the schema's default privileges, and PostgREST serves it
at ``/rest/v1/<table>`` to anyone holding the project's public anon key. Locking a table
down enables row level security on it and revokes every privilege of those roles on it
(and on the sequences its columns own):

```python
from django_supahybrid.dataapi import LockDownModel, LockDownTables

class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial"), ("auth", "0012_alter_user_first_name...")]
    operations = [
        LockDownModel("note"),          # this app's model, with its many-to-many tables
        LockDownModel("auth.User"),     # another app's, as "app_label.ModelName"
        LockDownTables(["legacy_report"]),  # tables no migrated model describes
    ]
```

Where neither API role exists (a plain PostgreSQL) the statements do nothing. The
connection's role keeps its access: Django connects as the tables' owner (or, on
Supabase, as ``postgres``, which bypasses row level security). So do the privileges the
library's own policies for an API role use (the tenant wall's, Realtime's), whichever
runs first.
"""

# DDL takes no bind parameters: every literal goes through _literal(); the names come from
# model metadata or the migration file, not from users.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django.apps.registry import Apps
from django.db import router
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import Model

__all__ = [
    "API_ROLES",
    "LockDownModel",
    "LockDownTables",
    "lock_down_sql",
    "model_tables",
    "restore_sql",
]

#: The roles PostgREST and Realtime run a browser's requests as on Supabase.
API_ROLES = ("anon", "authenticated")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text_array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(_literal(v) for v in values) + "]::text[]"


# Shared head of both statements: nothing to do where the API roles do not exist.
_HEAD = """DO $supahybrid$
DECLARE
  api_roles text[] := {roles};
  table_name text;
  target regclass;
  item record;
  kept text[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ANY (api_roles)) THEN
    RETURN;
  END IF;
  FOREACH table_name IN ARRAY {tables} LOOP
    target := to_regclass(quote_ident(table_name));
    CONTINUE WHEN target IS NULL;
"""

# The relation and the sequences its serial or identity columns own.
_OBJECTS = """
      SELECT c.oid::regclass AS object, c.relkind, c.relowner, c.relnamespace
      FROM pg_class c
      WHERE c.oid = target
         OR c.relkind = 'S' AND c.oid IN (
           SELECT d.objid FROM pg_depend d
           WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
             AND d.refobjid = target AND d.deptype IN ('a', 'i'))
"""

# The privileges a role holds on a table that the library's own policies for that role
# (``supahybrid_*``: EnableTenantRLS, EnableRealtimeRLS) let it use: a lock-down that runs
# after those operations gives them back, so the policies keep working.
_KEPT = """
      kept := ARRAY(
        SELECT DISTINCT a.privilege_type FROM pg_class c
        CROSS JOIN LATERAL aclexplode(c.relacl) a
        WHERE c.oid = item.object AND c.relkind <> 'S' AND a.grantee = item.role
          AND EXISTS (
            SELECT 1 FROM pg_policy p
            WHERE p.polrelid = c.oid AND p.polname LIKE 'supahybrid\\_%'
              AND item.role = ANY (p.polroles)
              AND (p.polcmd = '*' AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
                   OR a.privilege_type = CASE p.polcmd WHEN 'r' THEN 'SELECT'
                     WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END))
        ORDER BY 1);
"""

_LOCK = (
    _HEAD
    + """    IF (SELECT relkind FROM pg_class WHERE oid = target) IN ('r', 'p') THEN
      EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    END IF;
    FOR item IN SELECT o.object, o.relkind, r.oid AS role, r.rolname FROM ("""
    + _OBJECTS
    + """    ) o CROSS JOIN pg_roles r WHERE r.rolname = ANY (api_roles) LOOP"""
    + _KEPT
    + """      EXECUTE format('REVOKE ALL ON %s %s FROM %I',
        CASE item.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, item.object, item.rolname);
      IF cardinality(kept) > 0 THEN
        EXECUTE format('GRANT %s ON TABLE %s TO %I',
          array_to_string(kept, ', '), item.object, item.rolname);
      END IF;
    END LOOP;
  END LOOP;
END $supahybrid$"""
)

_RESTORE = (
    _HEAD
    + """    -- What the default privileges give a new object here (on Supabase: everything).
    FOR item IN SELECT o.object, o.relkind, a.privilege_type, r.rolname FROM ("""
    + _OBJECTS
    + """    ) o
      JOIN pg_default_acl d ON d.defaclrole = o.relowner
        AND d.defaclnamespace IN (0, o.relnamespace)
        AND d.defaclobjtype = CASE o.relkind WHEN 'S' THEN 'S' ELSE 'r' END
      CROSS JOIN LATERAL aclexplode(d.defaclacl) a
      JOIN pg_roles r ON r.oid = a.grantee AND r.rolname = ANY (api_roles)
    LOOP
      EXECUTE format('GRANT %s ON %s %s TO %I', item.privilege_type,
        CASE item.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, item.object, item.rolname);
    END LOOP;
    -- A table with policies had row level security on for them: leave it on.
    IF (SELECT relkind FROM pg_class WHERE oid = target) IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = target) THEN
      EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', target);
    END IF;
  END LOOP;
END $supahybrid$"""
)


def lock_down_sql(tables: Sequence[str], roles: Sequence[str] = API_ROLES) -> str:
    """One statement that locks ``tables`` down against ``roles`` (the API roles).

    For each table (or view) found: ``ALTER TABLE ... ENABLE ROW LEVEL SECURITY`` (tables
    only), then ``REVOKE ALL`` from each role that exists, on the relation and on the
    sequences its columns own. A role keeps the table privileges that the library's own
    policies for it use (``supahybrid_*``, from ``EnableTenantRLS`` or
    ``EnableRealtimeRLS``), so a lock-down that runs after them leaves them working.
    Nothing happens where none of the roles exists.
    """
    return _LOCK.format(roles=_text_array(roles), tables=_text_array(tables))


def restore_sql(tables: Sequence[str], roles: Sequence[str] = API_ROLES) -> str:
    """The reverse of `lock_down_sql`.

    Grants ``roles`` what the schema's default privileges would give the relation and its
    sequences if they were created now (all privileges on Supabase), and disables row
    level security on a table that has no policy.
    """
    return _RESTORE.format(roles=_text_array(roles), tables=_text_array(tables))


def model_tables(model: type[Model]) -> list[str]:
    """The model's table and the tables of its auto-created many-to-many relations."""
    tables = [model._meta.db_table]
    for field in model._meta.local_many_to_many:
        through = cast(type[Model], field.remote_field.through)
        if through._meta.auto_created:
            tables.append(through._meta.db_table)
    return tables


class _LockDown(Operation):
    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Database-only: the model state does not change."""

    def tables(self, app_label: str, apps: Apps) -> list[str]:
        """The tables this operation locks, resolved in ``apps`` (a migration state's)."""
        raise NotImplementedError

    def _allowed_tables(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState
    ) -> list[str]:
        raise NotImplementedError

    def _run(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        state: ProjectState,
        sql: Callable[[Sequence[str]], str],
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        tables = self._allowed_tables(app_label, schema_editor, state)
        if tables:
            schema_editor.execute(sql(tables), params=None)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, to_state, lock_down_sql)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, from_state, restore_sql)


class LockDownModel(_LockDown):
    """Close a model's table (and its many-to-many tables) to Supabase's Data API.

    ``model_name`` is this migration's model (``"note"``) or another app's, as
    ``"app_label.ModelName"``; depend on the migration that creates it. Like Django's own
    operations it asks the database routers (``allow_migrate``) and skips unmanaged,
    proxy and swapped models; lock an unmanaged model's table with
    `LockDownTables`.

    Reversed, the API roles get back what the schema's default privileges give a new
    table (all privileges on Supabase) and row level security is disabled again unless
    the table has policies.
    """

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return type(self).__qualname__, [self.model_name], {}

    def describe(self) -> str:
        return f"Lock {self.model_name}'s tables against Supabase's Data API"

    @property
    def migration_name_fragment(self) -> str:
        return f"lock_down_{self.model_name.lower().replace('.', '_')}"

    def _model(self, app_label: str, apps: Apps) -> type[Model]:
        if "." in self.model_name:
            return apps.get_model(self.model_name)
        return apps.get_model(app_label, self.model_name)

    def tables(self, app_label: str, apps: Apps) -> list[str]:
        return model_tables(self._model(app_label, apps))

    def _allowed_tables(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState
    ) -> list[str]:
        model = self._model(app_label, state.apps)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return []
        return model_tables(model)


class LockDownTables(_LockDown):
    """Close tables named directly to Supabase's Data API.

    For tables no migrated model describes: an unmanaged model's, one made with
    ``RunSQL``, ``django_migrations``. Asks the routers as ``RunSQL`` does:
    ``allow_migrate(alias, app_label, **hints)``.
    """

    def __init__(self, tables: Sequence[str], *, hints: dict[str, Any] | None = None) -> None:
        if isinstance(tables, str) or not tables or not all(isinstance(t, str) for t in tables):
            raise ValueError("LockDownTables needs a non-empty list of table names.")
        self.table_names = list(tables)
        self.hints = hints or {}

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"tables": self.table_names}
        if self.hints:
            kwargs["hints"] = self.hints
        return type(self).__qualname__, [], kwargs

    def describe(self) -> str:
        return f"Lock {', '.join(self.table_names)} against Supabase's Data API"

    @property
    def migration_name_fragment(self) -> str:
        return "lock_down_tables"

    def tables(self, app_label: str, apps: Apps) -> list[str]:
        return list(self.table_names)

    def _allowed_tables(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, state: ProjectState
    ) -> list[str]:
        if not router.allow_migrate(schema_editor.connection.alias, app_label, **self.hints):
            return []
        return list(self.table_names)
