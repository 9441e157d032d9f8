"""The migration operations: what they create, what reversing them leaves, when they abstain."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, connections, models
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import OperationWriter
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole
from django_supahybrid.testing.supabase import install_supabase_test_schema
from tests.support import pgtools
from tests.support.wall import SHARED, WALLED, backwards, forwards, operations, scalar, state
from tests.testapp.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def supabase(wall_settings: dict[str, Any], subs: dict[str, uuid.UUID]) -> None:
    install_supabase_test_schema()


def _policies(table: str = "") -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename || ':' || policyname FROM pg_policies "
            "WHERE policyname LIKE 'supahybrid_%%' AND tablename LIKE %s ORDER BY 1",
            [f"{table}%"],
        )
        return [row[0] for row in cursor.fetchall()]


def _can(role: str, table: str, privilege: str) -> bool:
    return bool(scalar("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege]))


def _functions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'supahybrid' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.usefixtures("supabase")
def test_forwards_then_backwards_leaves_the_tables_closed() -> None:
    done = operations()
    for operation in done:
        forwards(operation)
    assert _policies("testapp_campaign") == [
        "testapp_campaign:supahybrid_testapp_campaign_tenant_request",
        "testapp_campaign:supahybrid_testapp_campaign_tenant_select",
        # Its many-to-many table follows the campaign's rows, for the request role only.
        "testapp_campaign_tags:supahybrid_testapp_campaign_tags_tenant_request",
    ]
    assert scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'testapp_campaign_tags'")
    assert "auth_user:supahybrid_auth_user_shared_request" in _policies("auth_user")
    assert _can("supahybrid_request", "testapp_campaign", "DELETE")
    assert _can("supahybrid_request", "testapp_campaign_tags", "INSERT")  # its m2m table
    assert _can("supahybrid_request", "auth_user", "SELECT")
    assert not _can("supahybrid_request", "auth_user", "UPDATE")
    assert _functions() == ["organization_ids", "user_ids"]
    role = scalar(
        "SELECT ARRAY[rolcanlogin, rolbypassrls, rolsuper, "
        "pg_has_role(current_user, oid, 'MEMBER')] FROM pg_roles "
        "WHERE rolname = 'supahybrid_request'"
    )
    assert role == [False, False, False, True]

    # Reversing one table keeps the helpers the others still use.
    backwards(EnableTenantRLS("campaign"))
    assert _policies("testapp_campaign") == []
    assert _functions() == ["organization_ids", "user_ids"]
    for operation in reversed(done):
        backwards(operation)
    assert _policies() == []
    assert _functions() == []
    assert scalar("SELECT to_regnamespace('supahybrid')") is None
    for name in WALLED:
        table = f"testapp_{name}"
        assert not _can("supahybrid_request", table, "SELECT")
        assert not _can("authenticated", table, "SELECT")
        # Reversing never opens a table: row level security stays on.
        assert scalar("SELECT relrowsecurity FROM pg_class WHERE relname = %s", [table])
    assert not _can("supahybrid_request", "auth_user", "SELECT")
    assert SHARED == ("auth.User", "constituency")


@pytest.mark.usefixtures("supabase")
def test_applying_twice_leaves_one_copy() -> None:
    operation = EnableTenantRLS("campaign", data_api_writes=True)
    forwards(operation)
    forwards(operation)
    shared = GrantRequestRole("constituency", writes=True)
    forwards(shared)
    forwards(shared)
    assert len(_policies("testapp_campaign")) == 6  # 5, and one on the many-to-many table
    assert _policies("testapp_constituency") == [
        "testapp_constituency:supahybrid_testapp_constituency_shared_request"
    ]
    assert _can("supahybrid_request", "testapp_constituency", "DELETE")
    backwards(shared)
    assert not _can("supahybrid_request", "testapp_constituency", "SELECT")
    backwards(operation)
    assert not _can("authenticated", "testapp_campaign", "INSERT")


@pytest.mark.usefixtures("supabase")
def test_the_two_operations_refuse_each_others_tables() -> None:
    forwards(EnableTenantRLS("campaign"))
    with pytest.raises(DatabaseError, match="would open every tenant's rows"):
        forwards(GrantRequestRole("campaign"))
    forwards(GrantRequestRole("constituency"))
    with pytest.raises(DatabaseError, match="has GrantRequestRole policies"):
        forwards(EnableTenantRLS("constituency", organization="district__organization"))


@pytest.mark.usefixtures("supabase")
def test_nothing_happens_without_supabase_roles() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA auth CASCADE")  # rolled back with the test
    forwards(EnableTenantRLS("campaign"))
    forwards(GrantRequestRole("constituency"))
    assert _policies() == []
    assert not scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'testapp_campaign'")
    backwards(EnableTenantRLS("campaign"))  # and nothing to undo


@pytest.mark.usefixtures("supabase")
def test_database_routers_are_respected(settings: SettingsWrapper) -> None:
    settings.DATABASE_ROUTERS = ["tests.support.wall.RefuseTestapp"]
    forwards(EnableTenantRLS("campaign"))
    forwards(GrantRequestRole("constituency"))
    assert _policies() == []


def test_nothing_happens_on_another_database_vendor(wall_settings: dict[str, Any]) -> None:
    wrapper = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="wall_sqlite",
    )
    connections["wall_sqlite"] = wrapper
    try:
        with CaptureQueriesContext(wrapper) as captured:
            forwards(EnableTenantRLS("campaign"), using="wall_sqlite")
        statements = [q["sql"] for q in captured.captured_queries]
        assert all(sql.startswith(("PRAGMA", "BEGIN", "COMMIT")) for sql in statements), statements
    finally:
        pgtools.forget_sqlite("wall_sqlite")


def test_sqlmigrate_shows_the_sql(wall_settings: dict[str, Any]) -> None:
    with connection.schema_editor(collect_sql=True) as editor:
        EnableTenantRLS("voterinteraction").database_forwards("testapp", editor, state(), state())
        GrantRequestRole("constituency").database_backwards("testapp", editor, state(), state())
    sql = "\n".join(editor.collected_sql)
    assert "CREATE ROLE supahybrid_request NOLOGIN NOINHERIT NOBYPASSRLS" in sql
    assert "SECURITY DEFINER" in sql
    assert 'CREATE POLICY "supahybrid_testapp_voterinteraction_tenant_request"' in sql
    assert 'REVOKE SELECT ON "testapp_constituency" FROM supahybrid_request' in sql


def test_describe_and_deconstruct() -> None:
    plain = EnableTenantRLS("campaign")
    assert plain.deconstruct() == ("EnableTenantRLS", ["campaign"], {})
    full = EnableTenantRLS(
        "testapp.Campaign", data_api_writes=True, organization="organization", user="created_by",
        insert_organization="organization",
    )  # fmt: skip
    assert full.deconstruct()[2] == {
        "data_api_writes": True, "organization": "organization", "user": "created_by",
        "insert_organization": "organization",
    }  # fmt: skip
    assert plain.describe() == "Put campaign behind the tenant wall (row level security)"
    assert full.migration_name_fragment == "testapp_campaign_tenant_rls"
    shared = GrantRequestRole("constituency", writes=True)
    assert shared.deconstruct() == ("GrantRequestRole", ["constituency"], {"writes": True})
    assert GrantRequestRole("constituency").deconstruct()[2] == {}
    assert shared.describe() == "Grant constituency to the tenant wall's request role"
    assert shared.migration_name_fragment == "constituency_request_role"
    before = ProjectState()
    plain.state_forwards("testapp", before)
    assert before.models == {}
    written, imports = OperationWriter(full, indentation=0).serialize()
    assert "django_supahybrid.tenancy.operations.EnableTenantRLS(" in written
    assert "import django_supahybrid.tenancy.operations" in imports
    assert plain.reversible
    assert shared.reduces_to_sql


def _ghost_state() -> ProjectState:
    """The migration state of a model the code no longer has."""
    ghost = ModelState(
        "testapp",
        "Ghost",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("organization", models.ForeignKey("testapp.Organization", models.CASCADE)),
        ],
    )
    result = ProjectState()
    result.add_model(ModelState.from_model(Organization))
    result.add_model(ghost)
    return result


def test_declarations_come_from_the_model_or_the_arguments(wall_settings: Any) -> None:
    assert EnableTenantRLS("voterinteraction").paths("testapp") == (
        "campaign__organization", None,
    )  # fmt: skip
    assert EnableTenantRLS("testapp.Notification").paths("other") == (None, "recipient")
    with pytest.raises(ImproperlyConfigured, match="has no Scoping declaration"):
        EnableTenantRLS("counted").paths("testapp")
    with pytest.raises(ImproperlyConfigured, match="the model is not installed"):
        EnableTenantRLS("ghost").paths("testapp")
    ghost = EnableTenantRLS("ghost", organization="organization")
    assert ghost.predicate("testapp", _ghost_state()) == (
        '"testapp_ghost"."organization_id" IN (SELECT supahybrid.organization_ids())'
    )


def test_the_user_model_must_be_in_the_migration_state(wall_settings: Any) -> None:
    ghost = EnableTenantRLS("ghost", organization="organization")
    with (
        connection.schema_editor(collect_sql=True) as editor,
        pytest.raises(ImproperlyConfigured, match="swappable_dependency"),
    ):
        ghost.forwards_sql("testapp", _ghost_state(), editor)


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"ORGANIZATION_RESOLVER": "tests.support.resolvers.membership_ids"}, "cannot become SQL"),
        ({"ORGANIZATION_LOOKUP": "nothing__organization"}, "does not resolve from the user"),
        (
            {"ORGANIZATION_LOOKUP": "scoping_profile__organization", "AUTH_USER_UUID_FIELD": "x"},
            r"check SUPAHYBRID\['AUTH_USER_UUID_FIELD'\] = 'x'",
        ),
    ],
)
def test_settings_that_cannot_become_sql(
    configure: Any, settings_: dict[str, str], message: str
) -> None:
    configure(**settings_)
    with (
        connection.schema_editor(collect_sql=True) as editor,
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        EnableTenantRLS("campaign").forwards_sql("testapp", state(), editor)


def test_the_identity_model_must_be_in_the_migration_state(wall_settings: Any) -> None:
    without = state()
    without.remove_model("django_supahybrid", "supabaseidentity")
    with (
        connection.schema_editor(collect_sql=True) as editor,
        pytest.raises(ImproperlyConfigured, match=r"\('django_supahybrid', '0001_initial'\)"),
    ):
        EnableTenantRLS("notification").forwards_sql("testapp", without, editor)


def test_grants_cover_the_models_own_many_to_many_tables() -> None:
    from django_supahybrid.tenancy.operations import _tables

    label = ModelState("testapp", "Label", [("id", models.BigAutoField(primary_key=True))])
    link = ModelState(
        "testapp",
        "GhostLabel",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("ghost", models.ForeignKey("testapp.Ghost", models.CASCADE)),
            ("label", models.ForeignKey("testapp.Label", models.CASCADE)),
        ],
    )
    ghost = ModelState(
        "testapp",
        "Ghost",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("labels", models.ManyToManyField("testapp.Label", related_name="+")),
            ("linked", models.ManyToManyField("testapp.Label", through="testapp.GhostLabel")),
        ],
    )
    result = ProjectState()
    for model_state in (label, link, ghost):
        result.add_model(model_state)
    # The explicit through model is a model of its own: it needs its own operation.
    assert _tables(result.apps.get_model("testapp", "Ghost")) == [
        "testapp_ghost", "testapp_ghost_labels",
    ]  # fmt: skip


def test_a_user_model_without_is_active() -> None:
    from django_supahybrid.tenancy.policies import user_ids_query

    user = ModelState("auth", "User", [("id", models.AutoField(primary_key=True))])
    identity = ModelState(
        "django_supahybrid",
        "SupabaseIdentity",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("user", models.OneToOneField(
                "auth.User", models.CASCADE, related_name="supabase_identity")),
            ("sub", models.UUIDField(unique=True)),
        ],
    )  # fmt: skip
    result = ProjectState()
    result.add_model(user)
    result.add_model(identity)
    with connection.schema_editor(collect_sql=True) as editor:
        sql, returns = user_ids_query(result.apps, connection, editor.quote_value)
    assert returns == "integer"
    assert "is_active" not in sql
    assert '"django_supahybrid_supabaseidentity"."sub" = (SELECT auth.uid())' in sql
