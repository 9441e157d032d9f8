"""Supabase's second door: the Data API (PostgREST) and the tables it can reach.

On Supabase the database Django migrates is also served by PostgREST to anyone holding
the project's public anon key. The pieces that keep Django's tables closed there:

- `LockDownModel` and `LockDownTables` (``operations``): migration
  operations that enable row level security and revoke the API roles' privileges;
- `open_tables` and `exposed_tables` (``exposure``): which tables an API role
  can reach, as the ``supahybrid.E060`` system check reports them;
- ``manage.py supahybrid_lockdown``: writes a migration that locks down every table.
"""

from __future__ import annotations

from django_supahybrid.dataapi.exposure import (
    ExposedTable,
    existing_api_roles,
    exposed_tables,
    open_tables,
    pending_lock_downs,
    project_tables,
)
from django_supahybrid.dataapi.operations import (
    API_ROLES,
    LockDownModel,
    LockDownTables,
    lock_down_sql,
    restore_sql,
)

__all__ = [
    "API_ROLES",
    "ExposedTable",
    "LockDownModel",
    "LockDownTables",
    "existing_api_roles",
    "exposed_tables",
    "lock_down_sql",
    "open_tables",
    "pending_lock_downs",
    "project_tables",
    "restore_sql",
]
