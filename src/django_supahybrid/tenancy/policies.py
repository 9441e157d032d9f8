"""The SQL of the row level security policies generated from a ``Scoping`` declaration.

One predicate per model says which rows belong to the caller, as ``for_user()`` does:

- ``organization = "organization"``: ``organization_id IN (SELECT supahybrid.organization_ids())``;
- ``organization = "campaign__organization"``: an ``EXISTS`` subquery along the joins;
- ``user = "recipient"``: ``recipient_id IN (SELECT supahybrid.user_ids())``.

The two helper functions live in a schema of their own (``supahybrid``), which Supabase's
Data API does not serve. They are ``SECURITY DEFINER``: the caller's memberships and
identity are read with the migrating role's rights, so neither ``authenticated`` nor the
request role needs (or gets) any access to the user, identity or membership tables. Both
compare ``(SELECT auth.uid())``, Supabase's own helper, evaluated once per statement.

`django_supahybrid.tenancy.operations` runs this SQL in migrations.
"""

# DDL takes no bind parameters: every identifier goes through quote_name() and every
# literal through the schema editor's quote_value(); both come from model metadata.
# ruff: noqa: S608

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, FieldError, ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import RawSQL

from django_supahybrid.conf import app_settings

__all__ = [
    "HELPER_SCHEMA",
    "ORGANIZATION_IDS",
    "REQUEST_ROLE",
    "SUPABASE_SHAPED",
    "SUPABASE_SHAPED_SQL",
    "USER_IDS",
    "drop_unused_helpers_sql",
    "helper_function_sql",
    "organization_ids_query",
    "path_predicate",
    "policy_name",
    "quote_name",
    "tenant_predicate",
    "user_ids_query",
]

#: Whether the database is shaped like Supabase's: ``authenticated`` and ``auth.uid()``
#: exist. Where not, the operations create nothing and the wall stays down. Read from the
#: catalogs, which every role may read (``to_regprocedure`` needs ``USAGE`` on ``auth``).
SUPABASE_SHAPED = (
    "to_regrole('authenticated') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_proc p "
    "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'auth' AND p.proname = 'uid' AND p.pronargs = 0)"
)
SUPABASE_SHAPED_SQL = f"SELECT {SUPABASE_SHAPED}"
#: The role Django's requests take under the tenant wall: no login, no ``BYPASSRLS``.
REQUEST_ROLE = "supahybrid_request"
#: The schema of the helper functions; Supabase's Data API serves ``public`` only.
HELPER_SCHEMA = "supahybrid"
USER_IDS = f"{HELPER_SCHEMA}.user_ids()"
ORGANIZATION_IDS = f"{HELPER_SCHEMA}.organization_ids()"

# PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1).
_MAX_IDENTIFIER_BYTES = 63

Quote = Callable[[Any], str]


def quote_name(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def policy_name(table: str, suffix: str) -> str:
    """``supahybrid_<table>_<suffix>``, hashed when it would not fit in 63 bytes."""
    name = f"supahybrid_{table}_{suffix}"
    if len(name.encode()) <= _MAX_IDENTIFIER_BYTES:
        return name
    return f"supahybrid_{hashlib.sha256(table.encode()).hexdigest()[:32]}_{suffix}"


def tenant_predicate(
    model: type[models.Model], *, organization: str | None, user: str | None
) -> str:
    """The ``USING``/``WITH CHECK`` expression of ``model``'s policies.

    Both paths given: a row must match both, as ``for_user()`` filters by both.
    """
    clauses = []
    if user is not None:
        clauses.append(path_predicate(model, user, USER_IDS))
    if organization is not None:
        clauses.append(path_predicate(model, organization, ORGANIZATION_IDS))
    if not clauses:
        raise ImproperlyConfigured(
            f"{model._meta.label} declares neither an organization nor a user to scope by."
        )
    return " AND ".join(clauses)


def _local_field(model: type[models.Model], name: str, path: str) -> Any:
    meta = model._meta
    try:
        field = meta.pk if name == "pk" else meta.get_field(name)
    except FieldDoesNotExist:
        raise ImproperlyConfigured(
            f"Scoping path {path!r}: {meta.label} has no field {name!r}."
        ) from None
    if not getattr(field, "concrete", False) or field.many_to_many or field.one_to_many:
        raise ImproperlyConfigured(
            f"Scoping path {path!r}: {meta.label}.{name} is not a column of its table; "
            "row level security follows forward foreign keys only."
        )
    if field.model._meta.concrete_model is not meta.concrete_model:
        raise ImproperlyConfigured(
            f"Scoping path {path!r}: {meta.label}.{name} is inherited from "
            f"{field.model._meta.label}, whose table holds it; declare the path from there."
        )
    return field


def path_predicate(model: type[models.Model], path: str, ids: str) -> str:
    """``<column> IN (SELECT <ids>)`` for the column ``path`` ends at.

    A path through relations (``"campaign__organization"``) becomes an ``EXISTS``
    subquery joining each hop; a trailing ``__pk`` (or the foreign key's target field)
    is the foreign key column itself, so it costs no join.
    """
    names = path.split(LOOKUP_SEP)
    current, alias = model, quote_name(model._meta.db_table)
    tables: list[str] = []  # "<table> <alias>" of each hop
    conditions: list[str] = []  # how each hop joins the previous one
    field = _local_field(current, names[0], path)
    column = f"{alias}.{quote_name(field.column)}"
    index = 0
    while index < len(names) - 1:
        if not field.is_relation:
            raise ImproperlyConfigured(
                f"Scoping path {path!r}: {current._meta.label}.{names[index]} is not a relation."
            )
        target = field.target_field
        if index + 2 == len(names) and names[-1] in ("pk", target.name, target.attname):
            break  # the foreign key column already holds the value compared
        current = field.related_model
        alias = f"j{len(tables) + 1}"
        tables.append(f"{quote_name(current._meta.db_table)} {alias}")
        conditions.append(f"{alias}.{quote_name(target.column)} = {column}")
        index += 1
        field = _local_field(current, names[index], path)
        column = f"{alias}.{quote_name(field.column)}"
    comparison = f"{column} IN (SELECT {ids})"
    if not tables:
        return comparison
    joins = "".join(
        f" JOIN {table} ON {condition}"
        for table, condition in zip(tables[1:], conditions[1:], strict=True)
    )
    return f"EXISTS (SELECT 1 FROM {tables[0]}{joins} WHERE {conditions[0]} AND {comparison})"


def _users(apps: Any) -> Any:
    try:
        return apps.get_model(settings.AUTH_USER_MODEL)
    except LookupError:
        raise ImproperlyConfigured(
            f"The user model {settings.AUTH_USER_MODEL} is not in this migration's state: "
            "add migrations.swappable_dependency(settings.AUTH_USER_MODEL) to its "
            "dependencies."
        ) from None


def _callers(apps: Any) -> Any:
    """The user model's rows of the caller, ``(SELECT auth.uid())``, as a queryset."""
    users = _users(apps)
    field = app_settings().AUTH_USER_UUID_FIELD
    lookup = field or "supabase_identity__sub"
    uid = RawSQL("SELECT auth.uid()", (), output_field=models.UUIDField())
    try:
        callers = users._base_manager.filter(**{lookup: uid})
    except FieldError:
        hint = (
            f"check SUPAHYBRID['AUTH_USER_UUID_FIELD'] = {field!r}"
            if field
            else "add a dependency on ('django_supahybrid', '0001_initial')"
        )
        raise ImproperlyConfigured(
            f"Cannot reach the Supabase user id from {users._meta.label} through {lookup!r}: "
            f"{hint}."
        ) from None
    if any(f.name == "is_active" for f in users._meta.concrete_fields):
        # for_user() gives an inactive user no rows; so do the policies.
        callers = callers.filter(is_active=True)
    return callers


def _compile(queryset: Any, connection: BaseDatabaseWrapper, quote: Quote) -> tuple[str, str]:
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    output = compiler.select[0][0].output_field
    return sql % tuple(quote(p) for p in params), output.db_type(connection)


def user_ids_query(apps: Any, connection: BaseDatabaseWrapper, quote: Quote) -> tuple[str, str]:
    """The caller's Django user ids: ``(sql, column type)``."""
    return _compile(_callers(apps).values_list("pk", flat=True), connection, quote)


def organization_ids_query(
    apps: Any, connection: BaseDatabaseWrapper, quote: Quote
) -> tuple[str, str]:
    """The caller's organization ids through ``ORGANIZATION_LOOKUP``: ``(sql, column type)``."""
    lookup = app_settings().ORGANIZATION_LOOKUP
    if lookup is None:
        raise ImproperlyConfigured(
            "Policies for organization-scoped models need SUPAHYBRID['ORGANIZATION_LOOKUP'] "
            "(an ORGANIZATION_RESOLVER is Python and cannot become SQL)."
        )
    callers = _callers(apps)
    try:
        queryset = callers.filter(**{f"{lookup}__isnull": False}).values_list(lookup, flat=True)
    except FieldError:
        raise ImproperlyConfigured(
            f"SUPAHYBRID['ORGANIZATION_LOOKUP'] = {lookup!r} does not resolve from the user "
            "model in this migration's state: add a dependency on the migration that "
            "creates the membership model."
        ) from None
    return _compile(queryset, connection, quote)


def helper_function_sql(name: str, body: str, returns: str) -> list[str]:
    """Create (or replace) ``supahybrid.<name>()`` returning the rows of ``body``.

    ``SECURITY DEFINER`` with a fixed ``search_path`` (the schema Django migrates into,
    then ``pg_temp`` last), executable by ``authenticated`` and the request role only
    (once it exists).
    """
    function = f"{HELPER_SCHEMA}.{name}()"
    create = (
        f"CREATE OR REPLACE FUNCTION {function} RETURNS SETOF {returns} LANGUAGE sql STABLE "
        "SECURITY DEFINER SET search_path = pg_catalog, %I, pg_temp AS %L"
    )
    return [
        f"CREATE SCHEMA IF NOT EXISTS {HELPER_SCHEMA}",
        f"GRANT USAGE ON SCHEMA {HELPER_SCHEMA} TO authenticated",
        "DO $supahybrid$ BEGIN\n"
        f"  EXECUTE format($create$ {create} $create$, current_schema(),\n"
        f"    $supahybrid_body$ {body} $supahybrid_body$);\n"
        "END $supahybrid$",
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {function} TO authenticated",
        # The request role exists once EnableTenantRLS ran (EnableRealtimeRLS may be first).
        "DO $supahybrid$ BEGIN\n"
        f"  IF to_regrole('{REQUEST_ROLE}') IS NOT NULL THEN\n"
        f"    GRANT USAGE ON SCHEMA {HELPER_SCHEMA} TO {REQUEST_ROLE};\n"
        f"    GRANT EXECUTE ON FUNCTION {function} TO {REQUEST_ROLE};\n"
        "  END IF;\n"
        "END $supahybrid$",
    ]


def _drop_if_unused(kind: str, name: str) -> str:
    """Drop a helper that other tables' policies may still use (then it stays)."""
    return (
        "DO $supahybrid$ BEGIN\n"
        f"  DROP {kind} IF EXISTS {name};\n"
        "EXCEPTION WHEN dependent_objects_still_exist THEN\n"
        "  NULL;\n"
        "END $supahybrid$"
    )


def drop_unused_helpers_sql() -> list[str]:
    """Drop the helper functions, and their schema, unless a policy still uses them.

    A policy depends on the functions it calls, so PostgreSQL refuses to drop one in use;
    that refusal means "keep it". Run after dropping an operation's own policies.
    """
    return [
        *(_drop_if_unused("FUNCTION", f"{HELPER_SCHEMA}.{name}()")
          for name in ("organization_ids", "user_ids")),
        _drop_if_unused("SCHEMA", HELPER_SCHEMA),
    ]  # fmt: skip
