"""Migration operations that put a model's rows behind the tenant wall, reversibly.

Use them in a project's own migrations, after the one that creates the table:

```python
from django.conf import settings
from django.db import migrations
from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole

class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("accounts", "0001_initial"),  # the membership model
        ("django_supahybrid", "0001_initial"),  # the identity model
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        EnableTenantRLS("campaign"),
        EnableTenantRLS("voterinteraction", data_api_writes=False),
        GrantRequestRole("constituency"),  # shared reference rows
    ]
```

The model is named as in Django's own operations (``"campaign"``, in the migration's app)
or as ``"app_label.ModelName"``. They run only on PostgreSQL databases shaped like
Supabase's (the ``authenticated`` role and ``auth.uid()`` exist; see
`django_supahybrid.testing.supabase.install_supabase_test_schema` for tests), do
nothing elsewhere, and respect database routers.
"""

# ruff: noqa: S608  (DDL from model metadata, see tenancy.policies)

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP

from django_supahybrid.tenancy.policies import (
    ORGANIZATION_IDS,
    REQUEST_ROLE,
    SUPABASE_SHAPED_SQL,
    drop_unused_helpers_sql,
    helper_function_sql,
    organization_ids_query,
    path_predicate,
    policy_name,
    quote_name,
    tenant_predicate,
    user_ids_query,
)
from django_supahybrid.tenancy.scoping import declaration_of

__all__ = ["ENSURE_REQUEST_ROLE_SQL", "EnableTenantRLS", "GrantRequestRole"]

# CREATE ROLE has no IF NOT EXISTS, and roles belong to the whole server: two databases
# migrating at once may both try; the loser's duplicate_object means "it exists".
ENSURE_REQUEST_ROLE_SQL = f"""DO $supahybrid$ BEGIN
  IF to_regrole('{REQUEST_ROLE}') IS NULL THEN
    BEGIN
      CREATE ROLE {REQUEST_ROLE} NOLOGIN NOINHERIT NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF NOT pg_has_role(current_user, '{REQUEST_ROLE}', 'MEMBER') THEN
    GRANT {REQUEST_ROLE} TO CURRENT_USER;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO {REQUEST_ROLE}', current_schema());
END $supahybrid$"""

_TENANT = "tenant_request"
_INSERT = "tenant_request_insert"
_SHARED = "shared_request"
_API = {"SELECT": "tenant_select", "INSERT": "tenant_insert", "UPDATE": "tenant_update",
        "DELETE": "tenant_delete"}  # fmt: skip


def _refuse_if_policy(table: str, policy: str, message: str) -> str:
    return (
        "DO $supahybrid$ BEGIN\n"
        "  IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = "
        f"'{quote_name(table)}'::regclass AND polname = '{policy}') THEN\n"
        f"    RAISE EXCEPTION '{message}';\n"
        "  END IF;\n"
        "END $supahybrid$"
    )


def _request_policy(predicate: str) -> str:
    """Every command of the request role, inside ``predicate`` both ways."""
    return f"FOR ALL TO {REQUEST_ROLE} USING ({predicate}) WITH CHECK ({predicate})"


def _policy(table: str, suffix: str, body: str) -> list[str]:
    """(Re)create one policy: applying an operation twice leaves one copy."""
    name, quoted = quote_name(policy_name(table, suffix)), quote_name(table)
    return [
        f"DROP POLICY IF EXISTS {name} ON {quoted}",
        f"CREATE POLICY {name} ON {quoted} {body}",
    ]


class _WallOperation(Operation):
    reversible = True
    reduces_to_sql = True
    _name_suffix = ""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower().replace('.', '_')}_{self._name_suffix}"

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Database-only: the model state does not change."""

    def _model(self, app_label: str, state: ProjectState) -> type[Model]:
        if "." in self.model_name:  # another app's model: "app_label.ModelName"
            return state.apps.get_model(self.model_name)
        return state.apps.get_model(app_label, self.model_name)

    def _run(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        state: ProjectState,
        *,
        forwards: bool,
    ) -> None:
        connection = schema_editor.connection
        model = self._model(app_label, state)
        if connection.vendor != "postgresql" or not self.allow_migrate_model(
            connection.alias, model
        ):
            return
        if not schema_editor.collect_sql:  # sqlmigrate prints what would run on Supabase
            with connection.cursor() as cursor:
                cursor.execute(SUPABASE_SHAPED_SQL)
                if not cursor.fetchone()[0]:
                    return
        if forwards:
            statements = self.forwards_sql(app_label, state, schema_editor)
        else:
            statements = self.backwards_sql(app_label, state)
        for statement in statements:
            schema_editor.execute(statement, params=None)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, to_state, forwards=True)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, to_state, forwards=False)

    def forwards_sql(
        self, app_label: str, state: ProjectState, schema_editor: BaseDatabaseSchemaEditor
    ) -> list[str]:
        raise NotImplementedError

    def backwards_sql(self, app_label: str, state: ProjectState) -> list[str]:
        raise NotImplementedError


def _links(model: type[Model]) -> list[tuple[type[Model], str]]:
    """The model's own many-to-many tables made by Django: ``(through model, its key to
    the model)``. An explicit through model is a model of its own, with its own operation."""
    links = []
    for field in model._meta.local_many_to_many:
        through: Any = field.remote_field.through
        if through._meta.auto_created:
            links.append((through, field.m2m_field_name()))
    return links


def _tables(model: type[Model]) -> list[str]:
    """The model's table and the tables of its own many-to-many fields made by Django."""
    return [model._meta.db_table, *(through._meta.db_table for through, _ in _links(model))]


def _through(path: str | None, key: str) -> str | None:
    """A path from the model, seen from one of its many-to-many tables."""
    return None if path is None else f"{key}{LOOKUP_SEP}{path}"


class EnableTenantRLS(_WallOperation):
    """Row level security from the model's ``Scoping`` declaration: one wall, two doors.

    Creates, on the model's table:

    - for ``authenticated`` (Supabase's Data API): a ``SELECT`` policy showing the rows
      of the caller's organizations (or the caller's own rows), and with
      ``data_api_writes=True`` ``INSERT``/``UPDATE``/``DELETE`` policies inside them;
      without it the Data API cannot write a row;
    - for the request role ``supahybrid_request`` (Django's requests under the wall,
      `django_supahybrid.tenancy.wall`): one policy for every command, ``USING`` and
      ``WITH CHECK`` the same predicate, so a row can neither be read nor written, nor
      moved, outside the caller's organizations.

    It enables RLS on the table, grants the table (and its many-to-many tables) to the
    request role, ``SELECT`` (and the writes opted in) to ``authenticated``, and creates
    the role where it is missing (granted to the role Django migrates as) and the
    ``supahybrid`` helper functions. The model's own many-to-many tables get row level
    security too, with a request role policy that follows the model's rows: a link is
    visible, and can be written, only from a row of the caller's. ``organization`` and
    ``user`` default to the model's ``Scoping`` declaration; pass them when the model is
    gone from the code.

    ``insert_organization`` (a path to the organization, like ``Scoping.organization``)
    lets requests under the wall also insert rows for other users of the caller's
    organizations, as when one member's action notifies the others, on a model scoped by
    its owning user. It concerns the request role only; the Data API gains nothing.

    Reversed, it drops the policies and revokes the grants; row level security stays on,
    so reversing never opens the table to the Data API.
    """

    _name_suffix = "tenant_rls"

    def __init__(
        self,
        model_name: str,
        *,
        data_api_writes: bool = False,
        organization: str | None = None,
        user: str | None = None,
        insert_organization: str | None = None,
    ) -> None:
        super().__init__(model_name)
        self.data_api_writes = data_api_writes
        self.organization = organization
        self.user = user
        self.insert_organization = insert_organization

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if self.data_api_writes:
            kwargs["data_api_writes"] = True
        for name in ("organization", "user", "insert_organization"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        return type(self).__qualname__, [self.model_name], kwargs

    def describe(self) -> str:
        return f"Put {self.model_name} behind the tenant wall (row level security)"

    def paths(self, app_label: str) -> tuple[str | None, str | None]:
        """``(organization, user)``: given, or read from the model's ``Scoping``."""
        if self.organization is not None or self.user is not None:
            return self.organization, self.user
        label = self.model_name if "." in self.model_name else f"{app_label}.{self.model_name}"
        try:
            model = global_apps.get_model(label)
        except LookupError:
            raise ImproperlyConfigured(
                f"EnableTenantRLS({self.model_name!r}): the model is not installed, so its "
                "Scoping declaration cannot be read; pass organization=... or user=..."
            ) from None
        declaration = declaration_of(model)
        if not declaration.declared:
            raise ImproperlyConfigured(
                f"EnableTenantRLS({self.model_name!r}): {model._meta.label} has no Scoping "
                "declaration; add one or pass organization=... or user=..."
            )
        return declaration.organization, declaration.user

    def predicate(self, app_label: str, state: ProjectState) -> str:
        """The expression every policy of the table uses."""
        organization, user = self.paths(app_label)
        return tenant_predicate(self._model(app_label, state), organization=organization, user=user)

    def forwards_sql(
        self, app_label: str, state: ProjectState, schema_editor: BaseDatabaseSchemaEditor
    ) -> list[str]:
        model = self._model(app_label, state)
        table = quote_name(model._meta.db_table)
        organization, user = self.paths(app_label)
        predicate = self.predicate(app_label, state)
        connection, quote = schema_editor.connection, schema_editor.quote_value
        statements = [
            ENSURE_REQUEST_ROLE_SQL,
            _refuse_if_policy(
                model._meta.db_table,
                policy_name(model._meta.db_table, _SHARED),
                f"{model._meta.db_table} has GrantRequestRole policies; reverse that "
                "operation before putting the table behind the tenant wall.",
            ),
        ]
        if user is not None:
            body, returns = user_ids_query(state.apps, connection, quote)
            statements += helper_function_sql("user_ids", body, returns)
        if organization is not None or self.insert_organization is not None:
            body, returns = organization_ids_query(state.apps, connection, quote)
            statements += helper_function_sql("organization_ids", body, returns)
        statements.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        statements += [
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote_name(t)} TO {REQUEST_ROLE}"
            for t in _tables(model)
        ]
        statements.append(f"GRANT {', '.join(self._api_commands())} ON {table} TO authenticated")
        name = model._meta.db_table
        statements += _policy(name, _TENANT, _request_policy(predicate))
        if self.insert_organization is not None:
            insert = path_predicate(model, self.insert_organization, ORGANIZATION_IDS)
            statements += _policy(
                name, _INSERT, f"FOR INSERT TO {REQUEST_ROLE} WITH CHECK ({insert})"
            )
        for command in self._api_commands():
            using = "" if command == "INSERT" else f" USING ({predicate})"
            check = f" WITH CHECK ({predicate})" if command in ("INSERT", "UPDATE") else ""
            statements += _policy(
                name, _API[command], f"FOR {command} TO authenticated{using}{check}"
            )
        for through, key in _links(model):
            link = tenant_predicate(
                through, organization=_through(organization, key), user=_through(user, key)
            )
            link_table = through._meta.db_table
            statements.append(f"ALTER TABLE {quote_name(link_table)} ENABLE ROW LEVEL SECURITY")
            statements += _policy(link_table, _TENANT, _request_policy(link))
        return statements

    def _api_commands(self) -> list[str]:
        return ["SELECT", "INSERT", "UPDATE", "DELETE"] if self.data_api_writes else ["SELECT"]

    def backwards_sql(self, app_label: str, state: ProjectState) -> list[str]:
        model = self._model(app_label, state)
        name = model._meta.db_table
        table = quote_name(name)
        suffixes = [_TENANT, _INSERT, *(_API[command] for command in self._api_commands())]
        statements = [
            f"DROP POLICY IF EXISTS {quote_name(policy_name(name, suffix))} ON {table}"
            for suffix in suffixes
        ]
        statements += [
            f"DROP POLICY IF EXISTS {quote_name(policy_name(link, _TENANT))} ON {quote_name(link)}"
            for link in _tables(model)[1:]
        ]
        statements += [
            f"REVOKE SELECT, INSERT, UPDATE, DELETE ON {quote_name(t)} FROM {REQUEST_ROLE}"
            for t in _tables(model)
        ]
        statements.append(f"REVOKE {', '.join(self._api_commands())} ON {table} FROM authenticated")
        return statements + drop_unused_helpers_sql()


class GrantRequestRole(_WallOperation):
    """Let requests under the tenant wall use a table that belongs to no tenant.

    For reference rows every organization shares (and for tables the views join, such as
    the user model's): grants ``SELECT`` (with ``writes``, also ``INSERT``, ``UPDATE``
    and ``DELETE``) on the table to the request role, with a policy for that role only, so
    the rows stay readable by Django under the wall when the table has row level security
    on (as after the Data API lock-down). ``authenticated`` gains nothing. Refused on a
    table that `EnableTenantRLS` put behind the wall.

    Reversed, it drops the policy and revokes the grants.
    """

    _name_suffix = "request_role"

    def __init__(self, model_name: str, *, writes: bool = False) -> None:
        super().__init__(model_name)
        self.writes = writes

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {"writes": True} if self.writes else {}
        return type(self).__qualname__, [self.model_name], kwargs

    def describe(self) -> str:
        return f"Grant {self.model_name} to the tenant wall's request role"

    def _privileges(self) -> str:
        return "SELECT, INSERT, UPDATE, DELETE" if self.writes else "SELECT"

    def forwards_sql(
        self, app_label: str, state: ProjectState, schema_editor: BaseDatabaseSchemaEditor
    ) -> list[str]:
        name = self._model(app_label, state)._meta.db_table
        table = quote_name(name)
        command = "ALL" if self.writes else "SELECT"
        check = " WITH CHECK (true)" if self.writes else ""
        return [
            ENSURE_REQUEST_ROLE_SQL,
            _refuse_if_policy(
                name,
                policy_name(name, _TENANT),
                f"{name} is behind the tenant wall (EnableTenantRLS); granting it whole to "
                "the request role would open every tenant''s rows.",
            ),
            f"GRANT {self._privileges()} ON {table} TO {REQUEST_ROLE}",
            *_policy(name, _SHARED, f"FOR {command} TO {REQUEST_ROLE} USING (true){check}"),
        ]

    def backwards_sql(self, app_label: str, state: ProjectState) -> list[str]:
        name = self._model(app_label, state)._meta.db_table
        table = quote_name(name)
        return [
            f"DROP POLICY IF EXISTS {quote_name(policy_name(name, _SHARED))} ON {table}",
            f"REVOKE {self._privileges()} ON {table} FROM {REQUEST_ROLE}",
        ]
