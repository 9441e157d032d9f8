"""System checks supahybrid.E070-E072: the tenant wall's request role, asked of the server."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import override_settings
from pytest_django.fixtures import Settings as SettingsWrapper

import django_supahybrid
from django_supahybrid.checks import wall as wall_checks
from django_supahybrid.db import database_config
from django_supahybrid.tenancy.operations import ENSURE_REQUEST_ROLE_SQL
from django_supahybrid.testing.supabase import AUTH_SCHEMA_SQL, ROLES_SQL
from tests.support import (
    pgtools,
    wall_views,  # noqa: F401  (views with TenantWallMixin exist)
)

pytestmark = pytest.mark.django_db

MIDDLEWARE = "django_supahybrid.tenancy.wall.TenantWallMiddleware"


def _ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


@pytest.fixture(autouse=True)
def supabase() -> None:
    """The test database shaped like Supabase's, committed (other connections look too)."""
    with pgtools.admin() as admin:
        admin.execute(ROLES_SQL)
        admin.execute(AUTH_SCHEMA_SQL)


@pytest.fixture
def request_role() -> None:
    """The request role exists for every connection (roles belong to the whole server)."""
    with pgtools.admin() as admin:
        admin.execute(ENSURE_REQUEST_ROLE_SQL)


@pytest.fixture
def login_role(request_role: None) -> Iterator[str]:
    """A role that may log in and is neither a superuser nor a member of the request role."""
    name = f"supahybrid_check_{uuid.uuid4().hex[:8]}"
    with pgtools.admin() as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    with pgtools.admin() as admin:
        admin.execute(f'DROP ROLE "{name}"')


@pytest.mark.usefixtures("request_role")
def test_a_superuser_connection_passes() -> None:
    assert wall_checks.check_tenant_wall(databases=["default"]) == []
    assert wall_checks.check_tenant_wall() == []  # only when asked to look at databases
    # Registered with the database tag: `manage.py check --database default` runs it.
    assert not [m for m in run_checks(databases=["default"]) if m.id.startswith("supahybrid.E07")]


def test_a_role_that_cannot_take_the_request_role(login_role: str) -> None:
    s = pgtools.server()
    url = f"postgresql://{login_role}@{s['host']}:{s['port']}/{s['name']}"
    with pgtools.alias(database_config(url)) as name:
        pgtools.connection(name)
        [error] = wall_checks.check_tenant_wall(databases=[name])
        assert error.id == "supahybrid.E071"
        assert f"Database role {login_role}" in error.msg
        assert "cannot SET ROLE supahybrid_request" in error.msg
        assert error.hint == f'As an administrator: GRANT supahybrid_request TO "{login_role}";'


def test_a_missing_role_matters_only_when_the_wall_is_used(
    monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper
) -> None:
    monkeypatch.setattr(wall_checks, "REQUEST_ROLE", "supahybrid_no_such_role")
    [error] = wall_checks.check_tenant_wall(databases=["default"])  # views use the mixin
    assert error.id == "supahybrid.E070"
    assert "CREATE ROLE supahybrid_no_such_role NOLOGIN" in error.hint

    class Unused:
        """A mixin nobody subclasses."""

    monkeypatch.setattr(wall_checks, "TenantWallMixin", Unused)
    assert wall_checks.check_tenant_wall(databases=["default"]) == []
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert _ids(wall_checks.check_tenant_wall(databases=["default"])) == ["supahybrid.E070"]


def test_a_request_role_that_bypasses_rls(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"supahybrid_check_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN BYPASSRLS')
    monkeypatch.setattr(wall_checks, "REQUEST_ROLE", name)
    [error] = wall_checks.check_tenant_wall(databases=["default"])
    assert error.id == "supahybrid.E072"
    assert error.hint == f"ALTER ROLE {name} NOSUPERUSER NOBYPASSRLS;"


def test_other_vendors_and_unreachable_servers_are_skipped() -> None:
    wrapper = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="wall_check_sqlite",
    )
    connections["wall_check_sqlite"] = wrapper
    try:
        assert wall_checks.check_tenant_wall(databases=["wall_check_sqlite"]) == []
    finally:
        pgtools.forget_sqlite("wall_check_sqlite")
    closed_port = database_config("postgresql://nobody@127.0.0.1:1/none", CONN_MAX_AGE=0)
    with pgtools.alias(closed_port) as name:
        pgtools.connection(name)
        assert wall_checks.check_tenant_wall(databases=[name]) == []


def test_a_database_not_shaped_like_supabases_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ``auth.uid()``: the operations create nothing and the wall stays down."""
    monkeypatch.setattr(wall_checks, "REQUEST_ROLE", "supahybrid_no_such_role")
    assert _ids(wall_checks.check_tenant_wall(databases=["default"])) == ["supahybrid.E070"]
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA auth CASCADE")  # rolled back with the test
    assert wall_checks.check_tenant_wall(databases=["default"]) == []


WALL_MIGRATION = """
from django.conf import settings
from django.db import migrations

from django_supahybrid.tenancy.operations import GrantRequestRole


class Migration(migrations.Migration):
    dependencies = [("django_supahybrid", "0002_lock_down_data_api")]
    operations = [GrantRequestRole(settings.AUTH_USER_MODEL)]
"""


def test_a_missing_role_waits_for_the_migration_that_creates_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``migrate`` runs the checks first: E070 must not stop it creating the role."""
    monkeypatch.setattr(wall_checks, "REQUEST_ROLE", "supahybrid_no_such_role")
    package = f"wall_check_migrations_{uuid.uuid4().hex[:8]}"
    migrations = Path(django_supahybrid.__file__).parent / "migrations"
    shutil.copytree(migrations, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / package / "0003_wall.py").write_text(WALL_MIGRATION)
    monkeypatch.syspath_prepend(str(tmp_path))
    with override_settings(MIGRATION_MODULES={"django_supahybrid": package}):
        assert wall_checks.check_tenant_wall(databases=["default"]) == []
        with connection.cursor() as cursor:  # as if it ran (rolled back with the test)
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('django_supahybrid', '0003_wall', now())"
            )
        assert _ids(wall_checks.check_tenant_wall(databases=["default"])) == ["supahybrid.E070"]
