"""Prove from a test that Supabase's Data API reaches none of the project's rows.

PostgREST runs each request in a transaction as the API role of the caller's key or
token, with the token's claims in ``request.jwt.claims``. `assert_data_api_closed`
does the same for ``anon`` and for ``authenticated``, and tries what a browser could ask
for through ``/rest/v1/<table>``: read rows, insert one, update and delete every row. Run
it on a database shaped like Supabase's (`supabase_test_database`, or
`install_supabase_test_schema` before ``migrate``), with some rows in the
tables, so that a refused read means something.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from django_supahybrid.dataapi import exposed_tables
from django_supahybrid.testing.supabase import as_supabase_user

__all__ = ["assert_data_api_closed"]

_REFUSED = "42501"  # insufficient_privilege: no privilege, or a row level security policy


def _refused(exc: DatabaseError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == _REFUSED


def _first_column(table: str, using: str) -> str:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608 (a quoted name)
        return str(cursor.description[0].name)


def _attempt(sql: str, role: str, claims: dict[str, Any], using: str) -> int | None:
    """Rows the statement reached as ``role`` (rolled back), or ``None`` if refused."""
    try:
        with (
            as_supabase_user(claims, role=role, using=using),
            connections[using].cursor() as cursor,
        ):
            cursor.execute(sql)
            if cursor.description is not None:
                return int(cursor.fetchone()[0])
            return int(cursor.rowcount)
    except DatabaseError as exc:
        if not _refused(exc):
            raise
        return None


def _probe(table: str, role: str, claims: dict[str, Any], using: str) -> list[str]:
    """What ``role`` could do to ``table``: nothing, in a closed database."""
    column = connections[using].ops.quote_name(_first_column(table, using))
    found = []
    read = _attempt(f"SELECT count(*) FROM {table}", role, claims, using)  # noqa: S608
    if read:
        found.append(f"read {read} row(s)")
    try:
        inserted = _attempt(f"INSERT INTO {table} DEFAULT VALUES", role, claims, using)
    except DatabaseError:
        inserted = 0  # past privileges and policies: only the values were wrong
    if inserted is not None:
        found.append("insert a row")
    for verb, sql in (
        ("update", f"UPDATE {table} SET {column} = {column}"),  # noqa: S608
        ("delete", f"DELETE FROM {table}"),  # noqa: S608
    ):
        reached = _attempt(sql, role, claims, using)
        if reached:
            found.append(f"{verb} {reached} row(s)")
    return found


def assert_data_api_closed(
    tables: Iterable[str] | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
    claims: dict[str, Any] | None = None,
) -> None:
    """Fail unless ``anon`` and ``authenticated`` can neither read nor change any row.

    ``tables`` defaults to every table of an installed model (and ``django_migrations``)
    found in the schemas the Data API serves (``DATA_API_SCHEMAS``). ``authenticated``
    runs with ``claims`` (default: a signed-in user's claims with a new Supabase user
    id). Every attempt is rolled back. Raises ``AssertionError`` listing what each role
    could do, table by table.
    """
    quote = connections[using].ops.quote_name
    if tables is None:
        names = [f"{quote(t.schema)}.{quote(t.name)}" for t in exposed_tables(using)]
    else:
        names = [quote(name) for name in tables]
    signed_in = claims or {"sub": str(uuid.uuid4()), "role": "authenticated"}
    problems = []
    for table in names:
        for role, role_claims in (("anon", {"role": "anon"}), ("authenticated", signed_in)):
            found = _probe(table, role, role_claims, using)
            if found:
                problems.append(f"{role} can {', '.join(found)} of {table}")
    if problems:
        raise AssertionError(
            "Supabase's Data API can reach these tables:\n  " + "\n  ".join(problems)
        )
