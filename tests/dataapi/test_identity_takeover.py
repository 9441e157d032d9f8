"""The library's own table on a fresh Supabase-shaped database, and the takeover it stops.

Before the lock-down, a browser holding only the anon key and its own session could point
its Supabase user id at an administrator's Django user through the Data API, and the
next request authenticated with its token resolved to that administrator.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction
from django.db.migrations.state import ProjectState
from django.test import override_settings

from django_supahybrid.authentication.tokens import SupabaseClaims
from django_supahybrid.authentication.users import resolve_user
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.realtime.operations import EnableRealtimeRLS
from django_supahybrid.testing import (
    as_supabase_user,
    assert_data_api_closed,
    make_claims,
    supabase_test_database,
)
from tests.support.routers import Pinned

pytestmark = pytest.mark.django_db(transaction=True)

IDENTITY = "django_supahybrid_supabaseidentity"


def _as_browser(alias: str, sub: uuid.UUID, sql: str, params: list[Any]) -> None:
    """One Data API request, committed: PostgREST's role and claims, then the statement."""
    claims = {"sub": str(sub), "role": "authenticated", "aud": "authenticated"}
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', 'authenticated', true), "
            "set_config('request.jwt.claims', %s, true)",
            [json.dumps(claims)],
        )
        cursor.execute(sql, params)


def _take_over(alias: str, attacker: uuid.UUID, admin_id: int) -> None:
    """Point the administrator's identity row at the attacker's Supabase user id."""
    _as_browser(
        alias, attacker, f"UPDATE {IDENTITY} SET sub = %s WHERE user_id = %s", [attacker, admin_id]
    )


def _resolve(alias: str, sub: uuid.UUID) -> Any:
    claims = SupabaseClaims.from_payload(make_claims(sub))
    with override_settings(DATABASE_ROUTERS=[Pinned(alias)]):
        return resolve_user(claims)


def test_identity_table_is_closed_and_the_takeover_fails() -> None:
    with supabase_test_database() as alias:
        users = get_user_model().objects.db_manager(alias)
        admin = users.create_superuser("admin@example.test")
        SupabaseIdentity.objects.using(alias).create(user=admin, sub=uuid.uuid4())
        assert_data_api_closed([IDENTITY], using=alias)
        # The harness sees an open table: this project never locked Django's own.
        with pytest.raises(AssertionError, match=r"anon can read 1 row\(s\), insert a row"):
            assert_data_api_closed(["auth_user"], using=alias)

        attacker = uuid.uuid4()
        with pytest.raises(DatabaseError, match="permission denied"):
            _take_over(alias, attacker, admin.pk)
        other_admin = users.create_superuser("other-admin@example.test")  # no identity yet
        with pytest.raises(DatabaseError, match="permission denied"):
            _as_browser(
                alias,
                attacker,
                f"INSERT INTO {IDENTITY} (sub, user_id, created_at) VALUES (%s, %s, now())",
                [attacker, other_admin.pk],
            )
        victim = _resolve(alias, attacker)
        assert victim.pk not in (admin.pk, other_admin.pk)
        assert not victim.is_superuser

        # Without the library's lock-down (its migration reversed) the same request wins.
        call_command("migrate", "django_supahybrid", "0001", database=alias, verbosity=0)
        other = uuid.uuid4()
        _take_over(alias, other, admin.pk)
        assert _resolve(alias, other).pk == admin.pk
        call_command("migrate", "django_supahybrid", database=alias, verbosity=0)
        assert_data_api_closed([IDENTITY], using=alias)


def test_reading_ones_own_identity_for_policies_keeps_the_takeover_closed() -> None:
    """The realtime guide's recipe: SELECT for authenticated, each user their own row."""
    with supabase_test_database() as alias:
        users = get_user_model().objects.db_manager(alias)
        admin = users.create_superuser("admin@example.test")
        SupabaseIdentity.objects.using(alias).create(user=admin, sub=uuid.uuid4())
        user = users.create_user("user@example.test")
        own = SupabaseIdentity.objects.using(alias).create(user=user, sub=uuid.uuid4())
        state = ProjectState.from_apps(apps)
        own_rows = EnableRealtimeRLS(
            "django_supahybrid.SupabaseIdentity", user_field="sub", identity=None, broadcast=False
        )
        with connections[alias].schema_editor() as editor:
            editor.execute(f"GRANT SELECT ON {IDENTITY} TO authenticated")
            own_rows.database_forwards("django_supahybrid", editor, state, state)
        claims = {"sub": str(own.sub), "role": "authenticated"}
        with as_supabase_user(claims, using=alias), connections[alias].cursor() as cursor:
            cursor.execute(f"SELECT user_id FROM {IDENTITY}")
            assert cursor.fetchall() == [(user.pk,)]
        with pytest.raises(DatabaseError, match="permission denied"):
            _take_over(alias, own.sub, admin.pk)
        assert _resolve(alias, own.sub).pk == user.pk


@pytest.mark.django_db(transaction=False)
def test_supabase_test_database_needs_a_transactional_test() -> None:
    database = supabase_test_database()
    with pytest.raises(RuntimeError, match=r"django_db\(transaction=True\)"):
        database.__enter__()
