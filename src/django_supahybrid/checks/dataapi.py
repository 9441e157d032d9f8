"""System checks for Supabase's Data API (ids ``supahybrid.E060`` and ``I060``).

Tagged ``database``: they run with ``manage.py check --database <alias>`` and at the start
of ``migrate``, never at import. They say nothing where the API roles do not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import checks
from django.db import connections

from django_supahybrid.checks._base import with_settings
from django_supahybrid.conf import SupaHybridSettings

__all__ = ["check_data_api"]


@with_settings
def check_data_api(
    conf: SupaHybridSettings, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Every table of a model that the Data API's roles can reach is an error.

    Tables that a migration not yet applied will lock down are left to it, so that
    ``migrate`` can apply the fix; tables listed in ``DATA_API_SHARED_TABLES`` get a note.
    """
    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        if connections[alias].vendor == "postgresql":
            messages += _check_alias(conf, alias)
    return messages


def _check_alias(conf: SupaHybridSettings, alias: str) -> list[checks.CheckMessage]:
    from django_supahybrid.dataapi import (
        existing_api_roles,
        open_tables,
        pending_lock_downs,
        project_tables,
    )

    if not existing_api_roles(alias):
        return []
    labels = project_tables()
    shared = set(conf.DATA_API_SHARED_TABLES)
    found = open_tables(alias, labels)
    unshared = [t for t in found if not {t.name, f"{t.schema}.{t.name}"} & shared]
    pending = pending_lock_downs(alias) if unshared else set()
    messages: list[checks.CheckMessage] = []
    for table in found:
        qualified = f"{table.schema}.{table.name}"
        roles = " and ".join(table.roles)
        if table not in unshared:
            messages.append(
                checks.Info(
                    f"{qualified} is shared through Supabase's Data API on purpose "
                    f"(DATA_API_SHARED_TABLES): {roles} can reach its rows.",
                    obj=labels[table.name],
                    id="supahybrid.I060",
                )
            )
        elif table.name not in pending:
            messages.append(_open_table_error(qualified, table.kind, roles, labels[table.name]))
    return messages


def _open_table_error(qualified: str, kind: str, roles: str, label: str) -> checks.Error:
    why = (
        "row level security is off"
        if kind in ("table", "partitioned table")
        else f"a {kind} is not filtered by row level security"
    )
    return checks.Error(
        f"{qualified} (the {kind} of {label}) is open to Supabase's Data API: {roles} hold "
        f"privileges on it and {why}, so anyone with the project's anon key can read or "
        "change its rows at /rest/v1/.",
        hint=f"Lock it down in a migration: django_supahybrid.dataapi.LockDownModel({label!r}) "
        "(or LockDownTables for a table without a migrated model); "
        "'manage.py supahybrid_lockdown --app <your app>' writes one for every open table. "
        "To share it on purpose, enable row level security with policies, or list it in "
        "SUPAHYBRID['DATA_API_SHARED_TABLES'].",
        obj=label,
        id="supahybrid.E060",
    )
