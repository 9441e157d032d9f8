"""Helpers for the tenant wall tests: run operations, mint tokens, ask the database."""

from __future__ import annotations

import uuid
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.migrations.state import ProjectState
from rest_framework.test import APIClient

from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole
from django_supahybrid.testing import make_claims, mint_token

#: Every scoped test model, as a project would list them in a migration.
WALLED = ("organization", "district", "tag", "campaign", "voterinteraction", "notification")
#: What the campaign views join that belongs to no tenant.
SHARED = ("auth.User", "constituency")


def state() -> ProjectState:
    return ProjectState.from_apps(apps)


def _settle(using: str) -> None:
    # Rows the test inserted leave deferred foreign-key checks pending, and PostgreSQL
    # refuses ALTER TABLE on a table with pending trigger events: run them now.
    if connections[using].in_atomic_block:
        with connections[using].cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def forwards(operation: Any, *, using: str = "default") -> None:
    _settle(using)
    with connections[using].schema_editor() as editor:
        operation.database_forwards("testapp", editor, state(), state())


def backwards(operation: Any, *, using: str = "default") -> None:
    _settle(using)
    with connections[using].schema_editor() as editor:
        operation.database_backwards("testapp", editor, state(), state())


def scalar(sql: str, params: list[Any] | None = None, *, using: str = "default") -> Any:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def operations() -> list[Any]:
    return [EnableTenantRLS(name) for name in WALLED] + [GrantRequestRole(n) for n in SHARED]


def claims_of(sub: uuid.UUID) -> dict[str, Any]:
    return make_claims(sub)


def api(sub: uuid.UUID | None) -> APIClient:
    """A client sending a Supabase access token of ``sub`` (none for ``None``)."""
    client = APIClient()
    if sub is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_token(claims_of(sub))}")
    return client


class RefuseTestapp:
    """A database router that keeps the test app's models off every database."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if app_label == "testapp" else None
