"""supahybrid.E060 and I060: tables Supabase's Data API can reach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import Error, Info, Tags, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django.test import override_settings

from django_supahybrid.checks.authentication import check_session_table
from django_supahybrid.checks.dataapi import check_data_api
from django_supahybrid.checks.realtime import check_realtime_partitions
from django_supahybrid.dataapi import (
    ExposedTable,
    LockDownModel,
    exposed_tables,
    lock_down_sql,
    open_tables,
    pending_lock_downs,
    restore_sql,
)
from django_supahybrid.testing import install_supabase_test_schema
from tests.support import pgtools

pytestmark = pytest.mark.django_db(transaction=True)

DISTRICT = "testapp_district"
IDENTITY = "django_supahybrid_supabaseidentity"


@pytest.fixture(autouse=True)
def supabase() -> None:
    install_supabase_test_schema()


def _execute(sql: str, using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql)


def _by_table(messages: list[Any]) -> dict[str, Any]:
    return {m.msg.split(" ", 1)[0]: m for m in messages}


def _lock(model: str, direction: str = "forwards") -> None:
    state = ProjectState.from_apps(apps)
    with connection.schema_editor() as editor:
        getattr(LockDownModel(model), f"database_{direction}")("testapp", editor, state, state)


@pytest.fixture
def district_open() -> Iterator[None]:
    _lock("district", "backwards")
    yield
    _lock("district", "backwards")


@pytest.mark.usefixtures("district_open")
def test_open_table_is_an_error_naming_it_and_the_fix() -> None:
    message = _by_table(check_data_api(databases=["default"]))[f"public.{DISTRICT}"]
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E060"
    assert message.obj == "testapp.District"
    assert "anon and authenticated hold privileges" in message.msg
    assert "row level security is off" in message.msg
    assert "LockDownModel('testapp.District')" in message.hint
    assert "manage.py supahybrid_lockdown --app" in message.hint
    assert "DATA_API_SHARED_TABLES" in message.hint
    # Registered with the database tag: what "manage.py check --database default" runs.
    found = run_checks(tags=[Tags.database], databases=["default"])
    assert any(m.id == "supahybrid.E060" and DISTRICT in m.msg for m in found)
    with pytest.raises(SystemCheckError, match=DISTRICT):
        call_command("check", "--database", "default", "--tag", "database")
    # No alias, no query: what Django 5.2 and 6.0 pass when none is named (6.1 passes
    # every alias instead).
    assert check_data_api(databases=None) == []


@pytest.mark.usefixtures("district_open")
def test_locked_table_passes() -> None:
    _lock("district")
    assert f"public.{DISTRICT}" not in _by_table(check_data_api(databases=["default"]))


@pytest.mark.usefixtures("district_open")
def test_row_level_security_with_policies_passes() -> None:
    _execute(f"ALTER TABLE {DISTRICT} ENABLE ROW LEVEL SECURITY")
    _execute(f"CREATE POLICY readable ON {DISTRICT} FOR SELECT TO anon USING (true)")
    try:
        assert f"public.{DISTRICT}" not in _by_table(check_data_api(databases=["default"]))
    finally:
        _execute(f"DROP POLICY readable ON {DISTRICT}")
        _execute(f"ALTER TABLE {DISTRICT} DISABLE ROW LEVEL SECURITY")


@pytest.mark.usefixtures("district_open")
@pytest.mark.parametrize("entry", [DISTRICT, f"public.{DISTRICT}"])
def test_shared_table_gets_a_note(entry: str) -> None:
    with override_settings(SUPAHYBRID={"DATA_API_SHARED_TABLES": [entry]}):
        message = _by_table(check_data_api(databases=["default"]))[f"public.{DISTRICT}"]
    assert isinstance(message, Info)
    assert message.id == "supahybrid.I060"
    assert "on purpose" in message.msg


@pytest.mark.usefixtures("district_open")
def test_schemas_setting_decides_what_is_exposed() -> None:
    with override_settings(SUPAHYBRID={"DATA_API_SCHEMAS": ["api"]}):
        assert check_data_api(databases=["default"]) == []


def test_table_a_pending_migration_locks_is_left_to_migrate() -> None:
    """migrate runs the checks first: the fix it is about to apply must not block it."""
    recorder = MigrationRecorder(connection)
    _execute(restore_sql([IDENTITY]))
    recorder.record_unapplied("django_supahybrid", "0002_lock_down_data_api")
    try:
        assert IDENTITY in {t.name for t in open_tables()}
        assert IDENTITY in pending_lock_downs()
        assert f"public.{IDENTITY}" not in _by_table(check_data_api(databases=["default"]))
    finally:
        recorder.record_applied("django_supahybrid", "0002_lock_down_data_api")
        _execute(lock_down_sql([IDENTITY]))
    assert IDENTITY not in pending_lock_downs()


def test_views_and_kinds() -> None:
    _execute("CREATE VIEW check_view AS SELECT id FROM testapp_organization")
    _execute("REVOKE ALL ON check_view FROM authenticated")  # the defaults gave it all
    try:
        [view] = exposed_tables(tables=["check_view"])
    finally:
        _execute("DROP VIEW check_view")
    assert view == ExposedTable("public", "check_view", "view", False, ("anon",))
    assert view.is_open
    assert not ExposedTable("public", "t", "view", False, ()).is_open
    assert not ExposedTable("public", "t", "table", True, ("anon",)).is_open
    assert ExposedTable("public", "t", "table", False, ("anon",)).is_open

    from django_supahybrid.checks.dataapi import _open_table_error

    error = _open_table_error("public.v", "view", "anon", "app.V")
    assert "a view is not filtered by row level security" in error.msg


def test_nothing_is_said_on_a_plain_postgresql(plain_postgres: str) -> None:
    """No anon, no authenticated: no Data API, whatever the privileges."""
    assert check_data_api(databases=[plain_postgres]) == []
    from django_supahybrid.dataapi import existing_api_roles

    assert existing_api_roles(plain_postgres) == []
    assert existing_api_roles() == ["anon", "authenticated"]


def test_database_checks_skip_other_vendors_and_unasked_databases() -> None:
    wrapper = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="check_sqlite",
    )
    connections["check_sqlite"] = wrapper
    try:
        for check in (check_data_api, check_realtime_partitions):
            assert check(databases=["check_sqlite"]) == []
        assert exposed_tables("check_sqlite") == []
        from django_supahybrid.dataapi import existing_api_roles

        assert existing_api_roles("check_sqlite") == []
        with override_settings(SUPAHYBRID={"SESSION_CHECK_DATABASE": "check_sqlite"}):
            assert check_session_table(databases=["check_sqlite"]) == []
    finally:
        pgtools.forget_sqlite("check_sqlite")
    for check in (check_data_api, check_session_table, check_realtime_partitions):
        assert check() == []
        assert check(databases=None) == []
