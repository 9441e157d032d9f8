"""LockDownModel and LockDownTables, run for real on a PostgreSQL shaped like Supabase's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, connections, models
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import OperationWriter
from django.test import override_settings
from django.test.utils import CaptureQueriesContext, isolate_apps

from django_supahybrid.dataapi import (
    LockDownModel,
    LockDownTables,
    lock_down_sql,
    restore_sql,
)
from django_supahybrid.dataapi.operations import model_tables
from django_supahybrid.tenancy.operations import EnableTenantRLS
from django_supahybrid.testing import install_supabase_test_schema
from tests.support import pgtools
from tests.support.routers import MigrateOnlyOn
from tests.support.tenancy import MEMBERSHIPS

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

CAMPAIGN = "testapp_campaign"
CAMPAIGN_TAGS = "testapp_campaign_tags"


@pytest.fixture(autouse=True)
def supabase() -> None:
    install_supabase_test_schema()


def _run(operation: object, direction: str = "forwards", *, using: str = "default") -> None:
    state = ProjectState.from_apps(apps)
    with connections[using].schema_editor() as editor:
        getattr(operation, f"database_{direction}")("testapp", editor, state, state)


def _scalar(sql: str, params: list[object] | None = None, *, using: str = "default") -> object:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _privileges(relation: str, *, using: str = "default") -> dict[str, bool]:
    """Whether each API role holds any privilege on ``relation`` (a table or sequence)."""
    kind = _scalar("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [relation], using=using)
    check = (
        "has_sequence_privilege(r.oid, %s::regclass, 'USAGE, SELECT, UPDATE')"
        if kind == "S"
        else "has_table_privilege(r.oid, %s::regclass, "
        "'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT r.rolname, {check} FROM pg_roles r "
            "WHERE r.rolname IN ('anon', 'authenticated') ORDER BY 1",
            [relation],
        )
        return dict(cursor.fetchall())


def _rls(table: str, *, using: str = "default") -> bool:
    sql = "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass"
    return bool(_scalar(sql, [table], using=using))


OPEN = {"anon": True, "authenticated": True}
CLOSED = {"anon": False, "authenticated": False}


@pytest.fixture
def campaign_open() -> Iterator[None]:
    """testapp.Campaign's tables as Supabase leaves them; put back so afterwards."""
    operation = LockDownModel("campaign")
    _run(operation, "backwards")
    assert _privileges(CAMPAIGN) == _privileges(CAMPAIGN_TAGS) == OPEN
    yield
    _run(operation, "backwards")


@pytest.mark.usefixtures("campaign_open")
def test_lock_down_model_closes_its_tables_and_sequences_and_reverses() -> None:
    operation = LockDownModel("campaign")
    sequence = str(_scalar("SELECT pg_get_serial_sequence(%s, 'id')", [CAMPAIGN]))
    assert _privileges(sequence) == OPEN
    _run(operation)
    _run(operation)  # again: nothing changes
    for relation in (CAMPAIGN, CAMPAIGN_TAGS, sequence):
        assert _privileges(relation) == CLOSED, relation
    assert _rls(CAMPAIGN)
    assert _rls(CAMPAIGN_TAGS)
    # service_role (the backend's key) and Django's own role keep their access.
    assert _scalar("SELECT has_table_privilege('service_role', %s, 'SELECT')", [CAMPAIGN])
    assert _scalar(f"SELECT count(*) FROM {CAMPAIGN}") == 0
    _run(operation, "backwards")
    for relation in (CAMPAIGN, CAMPAIGN_TAGS, sequence):
        assert _privileges(relation) == OPEN, relation
    assert not _rls(CAMPAIGN)


@pytest.mark.usefixtures("campaign_open")
def test_reversing_keeps_row_level_security_of_a_table_with_policies() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE POLICY everyone ON {CAMPAIGN} FOR SELECT USING (true)")
    try:
        _run(LockDownModel("testapp.Campaign"))
        _run(LockDownModel("testapp.Campaign"), "backwards")
        assert _rls(CAMPAIGN)  # its policies still decide
        assert not _rls(CAMPAIGN_TAGS)
        assert _privileges(CAMPAIGN) == OPEN
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP POLICY everyone ON {CAMPAIGN}")
            cursor.execute(f"ALTER TABLE {CAMPAIGN} DISABLE ROW LEVEL SECURITY")


def _direct_grants(table: str) -> dict[str, list[str]]:
    """What each API role was granted on ``table`` itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname, array_agg(a.privilege_type ORDER BY a.privilege_type) "
            "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE c.oid = %s::regclass AND r.rolname IN ('anon', 'authenticated') GROUP BY 1",
            [table],
        )
        return dict(cursor.fetchall())


@pytest.mark.usefixtures("campaign_open")
def test_a_lock_down_after_the_tenant_wall_keeps_what_its_policies_need(
    configure: Callable[..., Any],
) -> None:
    """The tenant wall opened SELECT to authenticated on purpose; a later lock-down (a new
    ``supahybrid_lockdown`` migration, say) leaves it, and closes everything else."""
    configure(ORGANIZATION_LOOKUP=MEMBERSHIPS)
    wall = EnableTenantRLS("campaign")
    _run(wall)
    try:
        _run(LockDownModel("campaign"))
        assert _direct_grants(CAMPAIGN) == {"authenticated": ["SELECT"]}
        assert _privileges(CAMPAIGN_TAGS) == CLOSED
        _run(wall, "backwards")
        _run(LockDownModel("campaign"))  # without the policies, nothing is kept
        assert _privileges(CAMPAIGN) == CLOSED
    finally:
        _run(wall, "backwards")


def test_a_policy_of_the_projects_own_keeps_nothing() -> None:
    """Only the library's own policies say which privileges their role needs."""
    district = "testapp_district"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE POLICY everyone ON {district} FOR SELECT TO authenticated USING (true)"
        )
    try:
        _run(LockDownModel("district"))
        assert _privileges(district) == CLOSED
    finally:
        _run(LockDownModel("district"), "backwards")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP POLICY everyone ON {district}")
            cursor.execute(f"ALTER TABLE {district} DISABLE ROW LEVEL SECURITY")


def test_reversing_gives_back_only_what_the_default_privileges_give() -> None:
    """A table whose owner has no default privileges for the API roles gets nothing back."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS lockdown_private")
        cursor.execute("CREATE TABLE lockdown_private.t (id int)")
        cursor.execute("GRANT USAGE ON SCHEMA lockdown_private TO anon, authenticated")
        cursor.execute("GRANT SELECT ON lockdown_private.t TO anon")
        cursor.execute("SET search_path TO lockdown_private, public")
    try:
        _run(LockDownTables(["t"]))
        assert _privileges("lockdown_private.t") == CLOSED
        _run(LockDownTables(["t"]), "backwards")
        assert _privileges("lockdown_private.t") == CLOSED
        assert not _rls("lockdown_private.t")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET search_path")
            cursor.execute("DROP SCHEMA lockdown_private CASCADE")


def test_lock_down_tables_handles_views_and_missing_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE VIEW lockdown_view AS SELECT id, name FROM testapp_organization")
        cursor.execute("GRANT ALL ON lockdown_view TO anon, authenticated")
    try:
        operation = LockDownTables(["lockdown_view", "no_such_table"])
        _run(operation)
        assert _privileges("lockdown_view") == CLOSED  # revoked; a view has no RLS
        _run(operation, "backwards")
        assert _privileges("lockdown_view") == OPEN
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP VIEW lockdown_view")


def test_nothing_happens_without_the_api_roles(plain_postgres: str) -> None:
    """On a plain PostgreSQL the statements run and change nothing."""
    acl = "SELECT relacl::text FROM pg_class WHERE relname = 'plain_open'"
    before = _scalar(acl, using=plain_postgres)
    assert "=arwd" in str(before)  # PUBLIC holds privileges, which stay
    for sql in (lock_down_sql(["plain_open"]), restore_sql(["plain_open"])):
        with connections[plain_postgres].cursor() as cursor:
            cursor.execute(sql)
        assert not _rls("plain_open", using=plain_postgres)
        assert _scalar(acl, using=plain_postgres) == before


@pytest.mark.usefixtures("campaign_open")
def test_routers_decide_where_a_table_is_locked() -> None:
    """Like Django's operations: nothing on a database the routers keep the app off."""
    with override_settings(DATABASE_ROUTERS=[MigrateOnlyOn("testapp", "other")]):
        for operation in (LockDownModel("campaign"), LockDownTables([CAMPAIGN])):
            with CaptureQueriesContext(connection) as queries:
                _run(operation)
            assert not any("ROW LEVEL SECURITY" in q["sql"] for q in queries.captured_queries)
            assert _privileges(CAMPAIGN) == OPEN
        install_supabase_test_schema("other")
        _run(LockDownModel("campaign"), using="other")
    try:
        assert _privileges(CAMPAIGN, using="other") == CLOSED
    finally:
        _run(LockDownModel("campaign"), "backwards", using="other")


def test_other_vendors_are_left_alone() -> None:
    wrapper = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="lockdown_sqlite",
    )
    connections["lockdown_sqlite"] = wrapper
    try:
        with CaptureQueriesContext(wrapper) as captured:
            _run(LockDownModel("campaign"), using="lockdown_sqlite")
        assert not any("REVOKE" in q["sql"] for q in captured.captured_queries)
    finally:
        pgtools.forget_sqlite("lockdown_sqlite")


def test_describe_deconstruct_and_serialize() -> None:
    model = LockDownModel("auth.User")
    assert model.deconstruct() == ("LockDownModel", ["auth.User"], {})
    assert model.describe() == "Lock auth.User's tables against Supabase's Data API"
    assert model.migration_name_fragment == "lock_down_auth_user"
    assert model.tables("testapp", apps) == ["auth_user", "auth_user_groups",
                                             "auth_user_user_permissions"]  # fmt: skip
    tables = LockDownTables(["a", "b"], hints={"model_name": "x"})
    hints = {"model_name": "x"}
    assert tables.deconstruct() == ("LockDownTables", [], {"tables": ["a", "b"], "hints": hints})
    assert LockDownTables(["a"]).deconstruct()[2] == {"tables": ["a"]}
    assert tables.describe() == "Lock a, b against Supabase's Data API"
    assert tables.migration_name_fragment == "lock_down_tables"
    assert tables.tables("testapp", apps) == ["a", "b"]
    state = ProjectState()
    model.state_forwards("testapp", state)
    assert state.models == {}
    written, imports = OperationWriter(model, indentation=0).serialize()
    assert written.startswith("django_supahybrid.dataapi.operations.LockDownModel(")
    assert "import django_supahybrid.dataapi.operations" in imports


@pytest.mark.parametrize("bad", [[], "auth_user", [1]])
def test_lock_down_tables_needs_table_names(bad: object) -> None:
    with pytest.raises(ValueError, match="non-empty list of table names"):
        LockDownTables(bad)  # type: ignore[arg-type]


def test_base_operation_leaves_tables_to_subclasses() -> None:
    from django_supahybrid.dataapi.operations import _LockDown

    with pytest.raises(NotImplementedError):
        _LockDown().tables("testapp", apps)
    with connection.schema_editor() as editor, pytest.raises(NotImplementedError):
        _LockDown()._allowed_tables("testapp", editor, ProjectState())


@isolate_apps("tests.testapp")
def test_explicit_many_to_many_tables_belong_to_their_own_model() -> None:
    class Box(models.Model):  # noqa: DJ008
        items = models.ManyToManyField("Item", through="Placement")
        tags = models.ManyToManyField("Item", related_name="+")

        class Meta:
            app_label = "testapp"

    class Item(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "testapp"

    class Placement(models.Model):  # noqa: DJ008
        box = models.ForeignKey(Box, on_delete=models.CASCADE)
        item = models.ForeignKey(Item, on_delete=models.CASCADE)

        class Meta:
            app_label = "testapp"

    assert model_tables(Box) == ["testapp_box", "testapp_box_tags"]
    assert model_tables(Placement) == ["testapp_placement"]
