"""Migration operations that set a table up for Supabase Realtime, reversibly.

Use them in a project's own migrations, after the one that creates the table. The model
is named as in Django's own operations (``"note"``, in the migration's app) or, for
another app's model, as ``"app_label.ModelName"``:

```python
from django_supahybrid.realtime.operations import (
    AddToRealtimePublication, EnableRealtimeRLS, Identity, Membership,
)

class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial"), ("django_supahybrid", "0001_initial")]
    operations = [
        EnableRealtimeRLS(
            "note", user_field="recipient", organization_field="organization",
            membership=Membership("accounts.Membership"),
        ),
        AddToRealtimePublication("note"),  # refused while the table has RLS off
    ]
```

They do nothing on a database other than PostgreSQL, and like Django's own operations
they ask the database routers (``allow_migrate``) first. Any model named (identity,
membership) must be reachable from the migration: depend on its app's migration.
"""

# DDL takes no bind parameters: every identifier goes through _ident() and every string
# literal through _literal(), and both come from model metadata, not from users.
# ruff: noqa: S608

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState, StateApps
from django.db.models import Model

from django_supahybrid.realtime.events import MAX_CHANNEL_BYTES, topic_name
from django_supahybrid.tenancy.policies import (
    ORGANIZATION_IDS,
    USER_IDS,
    drop_unused_helpers_sql,
    helper_function_sql,
    organization_ids_query,
    user_ids_query,
)

__all__ = ["AddToRealtimePublication", "EnableRealtimeRLS", "Identity", "Membership"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _policy_name(table: str, suffix: str) -> str:
    name = f"supahybrid_{table}_{suffix}"
    if len(name.encode()) <= MAX_CHANNEL_BYTES:
        return name
    return f"supahybrid_{hashlib.sha256(table.encode()).hexdigest()[:32]}_{suffix}"


@dataclasses.dataclass(frozen=True)
class Identity:
    """Where a Django user's Supabase user id (``auth.uid()``) is stored.

    Defaults to the library's ``SupabaseIdentity`` model (``user`` -> ``sub``): the
    project's users as the tenant wall finds them, read through the ``SECURITY DEFINER``
    function ``supahybrid.user_ids()`` (the identity table, or
    ``SUPAHYBRID["AUTH_USER_UUID_FIELD"]``; an inactive user matches nothing), so the
    policies need no access to the identity table. Another model is read by the policy
    itself, as the requesting role. Pass ``identity=None`` to the operation instead when
    the row's user column itself holds the Supabase user id (a UUID primary key shared
    with ``auth.users``).
    """

    model: str = "django_supahybrid.SupabaseIdentity"
    user_field: str = "user"
    uuid_field: str = "sub"

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return f"{__name__}.Identity", (), dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Membership:
    """A model linking users to organizations: a profile or a membership table.

    ``Membership()``, without a model, is the project's own ``ORGANIZATION_LOOKUP``, as
    the tenant wall reads it: through the ``SECURITY DEFINER`` function
    ``supahybrid.organization_ids()``, so the policies need no access to the membership
    tables. A model named is read by the policy itself, as the requesting role.
    """

    model: str | None = None
    user_field: str = "user"
    organization_field: str = "organization"

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return f"{__name__}.Membership", (), dataclasses.asdict(self)


def _resolve(apps: StateApps, label: str, *names: str) -> tuple[str, list[str]]:
    try:
        model: type[Model] = apps.get_model(label)
    except LookupError as exc:
        raise LookupError(
            f"Model {label!r} is not in this migration's state; add a dependency on the "
            "migration that creates it."
        ) from exc
    return model._meta.db_table, [_column(model, name) for name in names]


def _column(model: type[Model], name: str) -> str:
    return cast(str, model._meta.get_field(name).column)  # type: ignore[union-attr]


class _TableOperation(Operation):
    reversible = True
    reduces_to_sql = True
    _name_suffix = ""

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name.lower().replace('.', '_')}_{self._name_suffix}"

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

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
        statements: Callable[[str, ProjectState, BaseDatabaseSchemaEditor], list[str]],
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        # As Django's own operations do: the routers decide where a model's table lives.
        if not self.allow_migrate_model(
            schema_editor.connection.alias, self._model(app_label, state)
        ):
            return
        for statement in statements(app_label, state, schema_editor):
            schema_editor.execute(statement, params=None)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, to_state, self.forwards_sql)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        self._run(app_label, schema_editor, to_state, self.backwards_sql)

    def forwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        raise NotImplementedError

    def backwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        raise NotImplementedError


class AddToRealtimePublication(_TableOperation):
    """Stream a table's changes through Supabase Realtime's Postgres Changes.

    Adds the table to ``publication`` (``supabase_realtime``), creating the publication
    where it does not exist (a plain PostgreSQL), and with ``replica_identity_full`` sets
    ``REPLICA IDENTITY FULL`` so that updates and deletes carry the old row. Reversed, it
    removes the table from the publication (which stays) and restores the default
    replica identity.

    Where Supabase's API roles exist it refuses a table with row level security off,
    whose every row Realtime would stream to every subscriber: run
    `EnableRealtimeRLS` on it first, or pass ``allow_open_table=True`` to publish
    it open on purpose.
    """

    _name_suffix = "realtime_publication"

    def __init__(
        self,
        model_name: str,
        *,
        replica_identity_full: bool = False,
        publication: str = "supabase_realtime",
        allow_open_table: bool = False,
    ) -> None:
        super().__init__(model_name)
        self.replica_identity_full = replica_identity_full
        self.publication = publication
        self.allow_open_table = allow_open_table

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if self.replica_identity_full:
            kwargs["replica_identity_full"] = True
        if self.publication != "supabase_realtime":
            kwargs["publication"] = self.publication
        if self.allow_open_table:
            kwargs["allow_open_table"] = True
        return type(self).__qualname__, [self.model_name], kwargs

    def describe(self) -> str:
        return f"Add {self.model_name} to the {self.publication} publication"

    def _membership_check(self, table: str) -> str:
        return (
            "SELECT 1 FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
            f"WHERE p.pubname = {_literal(self.publication)} "
            f"AND r.prrelid = {_literal(_ident(table))}::regclass"
        )

    def _refuse_open_table(self, table: str) -> str:
        message = (
            f"Refusing to add {table} to the {self.publication} publication: row level "
            "security is off on it, so Supabase Realtime would stream every row to every "
            "subscriber."
        )
        hint = (
            f"Put EnableRealtimeRLS({self.model_name!r}, ...) before "
            f"AddToRealtimePublication({self.model_name!r}) in the migration, or pass "
            "allow_open_table=True to publish it without row level security on purpose."
        )
        return (
            f"  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('anon', 'authenticated'))\n"
            "     AND NOT (SELECT relrowsecurity FROM pg_class "
            f"WHERE oid = {_literal(_ident(table))}::regclass) THEN\n"
            "    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',\n"
            f"      MESSAGE = {_literal(message)}, HINT = {_literal(hint)};\n"
            "  END IF;\n"
        )

    def forwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        table = self._model(app_label, state)._meta.db_table
        pub = _literal(self.publication)
        guard = "" if self.allow_open_table else self._refuse_open_table(table)
        statements = [
            "DO $supahybrid$ BEGIN\n"
            f"{guard}"
            f"  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = {pub}) THEN\n"
            f"    CREATE PUBLICATION {_ident(self.publication)};\n"
            "  END IF;\n"
            f"  IF NOT EXISTS ({self._membership_check(table)})\n"
            "     AND NOT (SELECT puballtables FROM pg_publication "
            f"WHERE pubname = {pub}) THEN\n"
            f"    ALTER PUBLICATION {_ident(self.publication)} ADD TABLE {_ident(table)};\n"
            "  END IF;\n"
            "END $supahybrid$"
        ]
        if self.replica_identity_full:
            statements.append(f"ALTER TABLE {_ident(table)} REPLICA IDENTITY FULL")
        return statements

    def backwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        table = self._model(app_label, state)._meta.db_table
        statements = [
            "DO $supahybrid$ BEGIN\n"
            f"  IF EXISTS ({self._membership_check(table)}) THEN\n"
            f"    ALTER PUBLICATION {_ident(self.publication)} DROP TABLE {_ident(table)};\n"
            "  END IF;\n"
            "END $supahybrid$"
        ]
        if self.replica_identity_full:
            statements.append(f"ALTER TABLE {_ident(table)} REPLICA IDENTITY DEFAULT")
        return statements


class EnableRealtimeRLS(_TableOperation):
    """Row level security so that a Supabase client reads only its own rows and topics.

    Enables RLS on the table and creates one ``SELECT`` policy ``TO authenticated``: a
    row whose ``user_field`` is set is visible to that user only; a row without one (or a
    model without ``user_field``) to the members of its ``organization_field``. Users are
    matched through ``identity`` (Django user id -> ``auth.uid()``), organizations through
    ``membership``. The default identity and ``Membership()`` are the tenant wall's own
    (`EnableTenantRLS`): the policies call
    its ``SECURITY DEFINER`` functions ``supahybrid.user_ids()`` and
    ``supahybrid.organization_ids()``, created here too, and need ``SELECT`` on the table
    alone, never on the identity or membership tables. Every policy compares
    ``(select auth.uid())`` so that PostgreSQL evaluates it once per statement; index the
    columns named (foreign keys are indexed already).

    With ``broadcast`` (the default) and where ``realtime.messages`` exists (Supabase), a
    second policy lets the same users receive the private Broadcast topics the library
    publishes these rows on (``supahybrid:<app>.<model>:user:<id>`` and
    ``...:organization:<id>``).

    Reversed: drops the policies (and the helper functions no other policy uses) and
    disables RLS on the table.
    """

    _name_suffix = "realtime_rls"

    def __init__(
        self,
        model_name: str,
        *,
        user_field: str | None = None,
        organization_field: str | None = None,
        identity: Identity | None = Identity(),
        membership: Membership | None = None,
        broadcast: bool = True,
    ) -> None:
        if user_field is None and organization_field is None:
            raise ValueError("EnableRealtimeRLS needs user_field, organization_field or both.")
        if organization_field is not None and membership is None:
            raise ValueError(
                "EnableRealtimeRLS with organization_field needs membership=Membership(...), "
                "the model that links users to organizations, or Membership() for "
                'SUPAHYBRID["ORGANIZATION_LOOKUP"].'
            )
        super().__init__(model_name)
        self.user_field = user_field
        self.organization_field = organization_field
        self.identity = identity
        self.membership = membership
        self.broadcast = broadcast

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "user_field": self.user_field,
            "organization_field": self.organization_field,
            "identity": self.identity,
            "membership": self.membership,
            "broadcast": self.broadcast,
        }
        defaults = {"identity": Identity(), "broadcast": True}
        kwargs = {k: v for k, v in kwargs.items() if v is not None and v != defaults.get(k)}
        if self.identity is None:
            kwargs["identity"] = None
        return type(self).__qualname__, [self.model_name], kwargs

    def describe(self) -> str:
        return f"Enable row level security on {self.model_name} for Supabase Realtime"

    def _wall_users(self) -> bool:
        return self.identity == Identity()

    def _wall_organizations(self) -> bool:
        return self.membership is not None and self.membership.model is None

    def _user_ids(self, apps: StateApps) -> str:
        """A subquery of the Django user ids (column ``id``) of the requesting user."""
        if self.identity is None:
            return "SELECT (SELECT auth.uid()) AS id"
        if self._wall_users():
            return f"SELECT {USER_IDS} AS id"
        table, (user_col, uuid_col) = _resolve(
            apps, self.identity.model, self.identity.user_field, self.identity.uuid_field
        )
        return (
            f"SELECT i.{_ident(user_col)} AS id FROM {_ident(table)} i "
            f"WHERE i.{_ident(uuid_col)} = (SELECT auth.uid())"
        )

    def _organization_ids(self, apps: StateApps) -> str:
        assert self.membership is not None
        if self.membership.model is None:
            return f"SELECT {ORGANIZATION_IDS} AS id"
        table, (user_col, org_col) = _resolve(
            apps,
            self.membership.model,
            self.membership.user_field,
            self.membership.organization_field,
        )
        return (
            f"SELECT m.{_ident(org_col)} AS id FROM {_ident(table)} m "
            f"WHERE m.{_ident(user_col)} IN ({self._user_ids(apps)})"
        )

    def row_predicate(self, app_label: str, state: ProjectState) -> str:
        """The ``USING`` expression of the table's policy."""
        model = self._model(app_label, state)
        apps = state.apps
        clauses = []
        user_col = None
        if self.user_field is not None:
            user_col = _ident(_column(model, self.user_field))
            clauses.append(f"({user_col} IS NOT NULL AND {user_col} IN ({self._user_ids(apps)}))")
        if self.organization_field is not None:
            org_col = _ident(_column(model, self.organization_field))
            unset = f"{user_col} IS NULL AND " if user_col else ""
            clauses.append(f"({unset}{org_col} IN ({self._organization_ids(apps)}))")
        return " OR ".join(clauses)

    def topic_predicate(self, app_label: str, state: ProjectState) -> str:
        """The ``USING`` expression of the ``realtime.messages`` policy."""
        label = self._model(app_label, state)._meta.label_lower
        topics = []
        if self.user_field is not None:
            prefix = _literal(topic_name(label, "user", ""))
            topics.append(f"SELECT {prefix} || u.id FROM ({self._user_ids(state.apps)}) u")
        if self.organization_field is not None:
            prefix = _literal(topic_name(label, "organization", ""))
            topics.append(f"SELECT {prefix} || o.id FROM ({self._organization_ids(state.apps)}) o")
        return (
            "realtime.messages.extension = 'broadcast' AND "
            f"(SELECT realtime.topic()) IN ({' UNION ALL '.join(topics)})"
        )

    def _if_realtime(self, statement: str) -> str:
        # On Supabase, postgres does not own realtime.messages: a policy on it needs the
        # grant Supabase's supautils extension gives, or the owner's role.
        message = (
            "Cannot change the policies of realtime.messages as role %s: %s. EnableRealtimeRLS "
            "creates a Broadcast policy there, which needs the table's owner "
            "(supabase_realtime_admin), a superuser, or on hosted Supabase the postgres "
            "role, which Supabase's supautils extension allows to manage policies on it."
        )
        hint = (
            "Run this migration as postgres (the direct connection or the session pooler "
            "with the postgres user), or pass broadcast=False and create the Broadcast "
            "policy as the owner yourself."
        )
        return (
            "DO $supahybrid$ BEGIN\n"
            "  IF to_regclass('realtime.messages') IS NOT NULL THEN\n"
            f"    EXECUTE $policy$ {statement} $policy$;\n"
            "  END IF;\n"
            "EXCEPTION WHEN insufficient_privilege THEN\n"
            "  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',\n"
            f"    MESSAGE = format({_literal(message)}, current_user, SQLERRM),\n"
            f"    HINT = {_literal(hint)};\n"
            "END $supahybrid$"
        )

    def _helpers_sql(
        self, state: ProjectState, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> list[str]:
        """The tenant wall's helper functions this operation's policies call."""
        queries = []
        # The user ids are read for user_field, and to find a named membership model's rows.
        named_membership = self.organization_field is not None and not self._wall_organizations()
        if self._wall_users() and (self.user_field is not None or named_membership):
            queries.append(("user_ids", user_ids_query))
        if self.organization_field is not None and self._wall_organizations():
            queries.append(("organization_ids", organization_ids_query))
        if not queries:
            return []
        if schema_editor is None:  # called directly: quote as the default database would
            with connections[DEFAULT_DB_ALIAS].schema_editor(collect_sql=True) as editor:
                return self._helpers_sql(state, editor)
        statements = []
        for name, query in queries:
            body, returns = query(state.apps, schema_editor.connection, schema_editor.quote_value)
            statements += helper_function_sql(name, body, returns)
        return statements

    def forwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        table = self._model(app_label, state)._meta.db_table
        statements = [
            *self._helpers_sql(state, schema_editor),
            f"ALTER TABLE {_ident(table)} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY {_ident(_policy_name(table, 'select'))} ON {_ident(table)} "
            f"FOR SELECT TO authenticated USING ({self.row_predicate(app_label, state)})",
        ]
        if self.broadcast:
            statements.append(
                self._if_realtime(
                    f"CREATE POLICY {_ident(_policy_name(table, 'broadcast'))} "
                    "ON realtime.messages FOR SELECT TO authenticated "
                    f"USING ({self.topic_predicate(app_label, state)})"
                )
            )
        return statements

    def backwards_sql(
        self,
        app_label: str,
        state: ProjectState,
        schema_editor: BaseDatabaseSchemaEditor | None = None,
    ) -> list[str]:
        table = self._model(app_label, state)._meta.db_table
        statements = [
            f"DROP POLICY IF EXISTS {_ident(_policy_name(table, 'select'))} ON {_ident(table)}",
            f"ALTER TABLE {_ident(table)} DISABLE ROW LEVEL SECURITY",
        ]
        if self.broadcast:
            statements.append(
                self._if_realtime(
                    f"DROP POLICY IF EXISTS {_ident(_policy_name(table, 'broadcast'))} "
                    "ON realtime.messages"
                )
            )
        if self._wall_users() or self._wall_organizations():
            statements += drop_unused_helpers_sql()
        return statements
