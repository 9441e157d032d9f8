"""The migration operations, run for real on a PostgreSQL set up as Supabase sets up its own."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import OperationWriter
from django.db.utils import DatabaseError, ProgrammingError
from django.test import override_settings

from django_supahybrid.dataapi import lock_down_sql
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.realtime.operations import (
    AddToRealtimePublication,
    EnableRealtimeRLS,
    Identity,
    Membership,
)
from django_supahybrid.testing.supabase import (
    as_supabase_user,
    install_realtime_test_schema,
    install_supabase_test_schema,
    uninstall_realtime_test_schema,
)
from tests.support import pgtools
from tests.support.realtime import member
from tests.support.roles import ensure_role
from tests.support.routers import MigrateOnlyOn
from tests.support.tenancy import MEMBERSHIPS
from tests.testapp.models import (
    Campaign,
    Organization,
    RtMember,
    RtNote,
    RtOrganization,
    RtTask,
)
from tests.testapp.models import (
    Membership as MembershipRow,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

IDENTITY = Identity("testapp.RtMember", user_field="user", uuid_field="supabase_id")
MEMBERSHIP = Membership("testapp.RtMember")


def _state() -> ProjectState:
    return ProjectState.from_apps(__import__("django.apps").apps.apps)


def _forwards(operation: object, *, using: str = "default") -> None:
    state = _state()
    with connections[using].schema_editor() as editor:
        operation.database_forwards("testapp", editor, state, state)  # type: ignore[attr-defined]


def _backwards(operation: object, *, using: str = "default") -> None:
    state = _state()
    with connections[using].schema_editor() as editor:
        operation.database_backwards("testapp", editor, state, state)  # type: ignore[attr-defined]


def _scalar(sql: str, params: list[object] | None = None) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _published(table: str, publication: str = "supabase_realtime") -> bool:
    return bool(
        _scalar(
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = %s AND tablename = %s",
            [publication, table],
        )
    )


@pytest.fixture
def publication_cleanup() -> Iterator[None]:
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP PUBLICATION IF EXISTS supabase_realtime")
        cursor.execute("DROP PUBLICATION IF EXISTS rt_all")


@pytest.mark.usefixtures("publication_cleanup")
def test_add_to_publication_creates_it_and_reverses() -> None:
    operation = AddToRealtimePublication(
        "rtnote", replica_identity_full=True, allow_open_table=True
    )
    _forwards(operation)
    _forwards(operation)  # idempotent: already a member
    assert _published("testapp_rtnote")
    assert _scalar("SELECT relreplident FROM pg_class WHERE relname = 'testapp_rtnote'") == "f"
    _forwards(AddToRealtimePublication("rttask", allow_open_table=True))  # it exists now
    assert _published("testapp_rttask")
    assert _scalar("SELECT relreplident FROM pg_class WHERE relname = 'testapp_rttask'") == "d"
    _backwards(operation)
    _backwards(operation)  # idempotent: no longer a member
    assert not _published("testapp_rtnote")
    assert _published("testapp_rttask")
    assert _scalar("SELECT relreplident FROM pg_class WHERE relname = 'testapp_rtnote'") == "d"
    _backwards(AddToRealtimePublication("rttask"))
    assert _scalar("SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime'") == 1


@pytest.mark.usefixtures("publication_cleanup")
def test_publication_for_all_tables_is_left_alone() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE PUBLICATION rt_all FOR ALL TABLES")
    _forwards(AddToRealtimePublication("rtnote", publication="rt_all", allow_open_table=True))
    assert _published("testapp_rtnote", "rt_all")


def test_operations_describe_and_deconstruct() -> None:
    add = AddToRealtimePublication("rtnote")
    assert add.deconstruct() == ("AddToRealtimePublication", ["rtnote"], {})
    full = AddToRealtimePublication(
        "rtnote", replica_identity_full=True, publication="p", allow_open_table=True
    )
    assert full.deconstruct()[2] == {
        "replica_identity_full": True,
        "publication": "p",
        "allow_open_table": True,
    }
    assert add.describe() == "Add rtnote to the supabase_realtime publication"
    assert add.migration_name_fragment == "rtnote_realtime_publication"
    state = ProjectState()
    add.state_forwards("testapp", state)
    assert state.models == {}

    rls = EnableRealtimeRLS("rtnote", user_field="recipient")
    assert rls.deconstruct() == ("EnableRealtimeRLS", ["rtnote"], {"user_field": "recipient"})
    rls = EnableRealtimeRLS(
        "rtnote", organization_field="organization", membership=MEMBERSHIP, identity=None,
        broadcast=False,
    )  # fmt: skip
    assert rls.deconstruct()[2] == {
        "organization_field": "organization",
        "membership": MEMBERSHIP,
        "identity": None,
        "broadcast": False,
    }
    assert rls.describe().startswith("Enable row level security on rtnote")
    assert rls.migration_name_fragment == "rtnote_realtime_rls"
    other_app = EnableRealtimeRLS("django_supahybrid.SupabaseIdentity", user_field="user")
    assert other_app.migration_name_fragment == "django_supahybrid_supabaseidentity_realtime_rls"
    # What makemigrations/squashmigrations would write is importable Python.
    operation = EnableRealtimeRLS(
        "rtnote", user_field="recipient", organization_field="organization",
        identity=IDENTITY, membership=MEMBERSHIP,
    )  # fmt: skip
    written, imports = OperationWriter(operation, indentation=0).serialize()
    assert "django_supahybrid.realtime.operations.Identity(" in written
    assert "model='testapp.RtMember'" in written
    assert "django_supahybrid.realtime.operations.Membership(" in written
    assert "import django_supahybrid.realtime.operations" in imports


def test_rls_needs_a_target_and_a_membership() -> None:
    with pytest.raises(ValueError, match="user_field, organization_field or both"):
        EnableRealtimeRLS("rtnote")
    with pytest.raises(ValueError, match=r"membership=Membership\(...\)"):
        EnableRealtimeRLS("rtnote", organization_field="organization")


def test_missing_identity_model_is_a_clear_error() -> None:
    # An identity model absent from the migration state (the library's own is installed).
    identity = Identity(model="testapp.NoSuchIdentity")
    operation = EnableRealtimeRLS("rtnote", user_field="recipient", identity=identity)
    with pytest.raises(LookupError, match="add a dependency on the migration"):
        operation.forwards_sql("testapp", _state())


def test_operations_do_nothing_on_another_vendor() -> None:
    wrapper = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="rt_sqlite",
    )
    connections["rt_sqlite"] = wrapper
    try:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(wrapper) as captured:
            _forwards(AddToRealtimePublication("rtnote"), using="rt_sqlite")
        # Only the schema editor's own bookkeeping ran; the operation sent nothing.
        statements = [q["sql"] for q in captured.captured_queries]
        assert statements
        assert all(sql.startswith(("PRAGMA", "BEGIN", "COMMIT")) for sql in statements), statements
    finally:
        pgtools.forget_sqlite("rt_sqlite")


def test_long_table_names_get_hashed_policy_names() -> None:
    from django_supahybrid.realtime.operations import _policy_name

    assert _policy_name("short", "select") == "supahybrid_short_select"
    long_name = _policy_name("t" * 60, "broadcast")
    assert len(long_name) <= 63
    assert long_name.endswith("_broadcast")
    assert long_name != _policy_name("t" * 61, "broadcast")


@pytest.fixture
def supabase() -> None:
    install_supabase_test_schema()
    install_supabase_test_schema()  # idempotent


def _claims(member_: object) -> dict[str, object]:
    return {"sub": str(member_.supabase_id), "role": "authenticated", "aud": "authenticated"}  # type: ignore[attr-defined]


def _visible_titles(claims: dict[str, object]) -> set[str]:
    with as_supabase_user(claims):
        return set(RtNote.objects.values_list("title", flat=True))


@pytest.mark.usefixtures("supabase")
def test_rls_each_user_reads_only_their_rows_and_organization() -> None:
    org_a = RtOrganization.objects.create(name="A")
    org_b = RtOrganization.objects.create(name="B")
    alice, alice_m = member(org_a)
    bob, bob_m = member(org_a)
    carol, carol_m = member(org_b)
    RtNote.objects.create(organization=org_a, recipient=alice, title="alice's")
    RtNote.objects.create(organization=org_a, recipient=bob, title="bob's")
    RtNote.objects.create(organization=org_a, title="team A")
    RtNote.objects.create(organization=org_b, recipient=carol, title="carol's")
    RtNote.objects.create(organization=org_b, title="team B")
    RtNote.objects.create(title="nobody's")

    operation = EnableRealtimeRLS(
        "rtnote", user_field="recipient", organization_field="organization",
        identity=IDENTITY, membership=MEMBERSHIP,
    )  # fmt: skip
    # Before: RLS off, every authenticated user reads every row.
    assert len(_visible_titles(_claims(alice_m))) == 6
    _forwards(operation)
    try:
        assert _visible_titles(_claims(alice_m)) == {"alice's", "team A"}
        assert _visible_titles(_claims(bob_m)) == {"bob's", "team A"}
        assert _visible_titles(_claims(carol_m)) == {"carol's", "team B"}
        stranger = {"sub": str(uuid.uuid4()), "role": "authenticated"}
        assert _visible_titles(stranger) == set()
        assert _visible_titles({}) == set()  # no claims at all
        # Django's own connection (postgres: superuser, BYPASSRLS) is not affected.
        assert RtNote.objects.count() == 6
        # anon has no policy: nothing.
        with as_supabase_user({"role": "anon"}, role="anon"):
            assert RtNote.objects.count() == 0
        # service_role bypasses RLS, as on Supabase.
        with as_supabase_user({"role": "service_role"}, role="service_role"):
            assert RtNote.objects.count() == 6
        # The policy is what the docs show: TO authenticated, (select auth.uid()).
        policy = _scalar(
            "SELECT qual FROM pg_policies WHERE tablename = 'testapp_rtnote' "
            "AND 'authenticated' = ANY(roles) AND cmd = 'SELECT'"
        )
        assert "( SELECT auth.uid() AS uid)" in str(policy)
    finally:
        _backwards(operation)
    assert len(_visible_titles(_claims(alice_m))) == 6
    assert not _scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'testapp_rtnote'")


@pytest.mark.usefixtures("supabase")
def test_rls_without_identity_table_compares_the_supabase_user_id() -> None:
    """``identity=None``: the compared column holds the Supabase user id itself."""
    org_a = RtOrganization.objects.create(name="A")
    org_b = RtOrganization.objects.create(name="B")
    RtTask.objects.create(organization=org_a)
    RtTask.objects.create(organization=org_b)
    _, in_a = member(org_a)
    _, in_b = member(org_b)
    by_org = EnableRealtimeRLS(
        "rttask", organization_field="organization", identity=None,
        membership=Membership("testapp.RtMember", user_field="supabase_id"),
    )  # fmt: skip
    own_rows = EnableRealtimeRLS(  # another app's model, as a user's migration names it
        "testapp.RtMember", user_field="supabase_id", identity=None, broadcast=False
    )
    _forwards(by_org)
    _forwards(own_rows)
    try:
        for m, org in ((in_a, org_a), (in_b, org_b)):
            with as_supabase_user(_claims(m)):
                assert list(RtTask.objects.values_list("organization", flat=True)) == [org.pk]
                assert list(RtMember.objects.values_list("pk", flat=True)) == [m.pk]
        with as_supabase_user({"sub": str(uuid.uuid4())}):
            assert RtTask.objects.count() == RtMember.objects.count() == 0
    finally:
        _backwards(by_org)
        _backwards(own_rows)


@pytest.fixture
def realtime_schema(supabase: None) -> Iterator[None]:
    install_realtime_test_schema()
    yield
    uninstall_realtime_test_schema()


def _receivable_topics(claims: dict[str, object], topics: list[str]) -> list[str]:
    """The topics whose private Broadcast messages this user may read (as Realtime asks)."""
    allowed = []
    for topic in topics:
        with as_supabase_user(claims), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('realtime.topic', %s, true)", [topic])
            cursor.execute("SELECT count(*) FROM realtime.messages WHERE topic = %s", [topic])
            if cursor.fetchone()[0]:
                allowed.append(topic)
    return allowed


@pytest.mark.usefixtures("realtime_schema")
def test_broadcast_policy_authorises_only_the_users_topics() -> None:
    org_a = RtOrganization.objects.create(name="A")
    org_b = RtOrganization.objects.create(name="B")
    alice, alice_m = member(org_a)
    bob, bob_m = member(org_b)
    with transaction.atomic():
        RtNote.objects.create(organization=org_a, recipient=alice, title="to alice")
        RtNote.objects.create(organization=org_a, title="to A")
        RtNote.objects.create(organization=org_b, recipient=bob, title="to bob")
        RtNote.objects.create(organization=org_b, title="to B")
    topics = [
        f"supahybrid:testapp.rtnote:user:{alice.pk}",
        f"supahybrid:testapp.rtnote:organization:{org_a.pk}",
        f"supahybrid:testapp.rtnote:user:{bob.pk}",
        f"supahybrid:testapp.rtnote:organization:{org_b.pk}",
    ]
    assert _scalar("SELECT count(*) FROM realtime.messages") == 4
    operation = EnableRealtimeRLS(
        "rtnote", user_field="recipient", organization_field="organization",
        identity=IDENTITY, membership=MEMBERSHIP,
    )  # fmt: skip
    _forwards(operation)
    try:
        assert _receivable_topics(_claims(alice_m), topics) == topics[:2]
        assert _receivable_topics(_claims(bob_m), topics) == topics[2:]
        assert _receivable_topics({"sub": str(uuid.uuid4())}, topics) == []
    finally:
        _backwards(operation)
    assert not _scalar("SELECT count(*) FROM pg_policies WHERE schemaname = 'realtime'")


@pytest.mark.usefixtures("supabase")
def test_broadcast_policy_skipped_without_realtime_schema() -> None:
    operation = EnableRealtimeRLS("rtnote", user_field="recipient", identity=IDENTITY)
    _forwards(operation)
    try:
        assert (
            _scalar("SELECT count(*) FROM pg_policies WHERE policyname LIKE 'supahybrid_%%'") == 1
        )
    finally:
        _backwards(operation)
    with pytest.raises(ProgrammingError):
        _scalar("SELECT 1 FROM realtime.messages")


def test_as_supabase_user_sets_claims_and_role_for_the_transaction_only() -> None:
    install_supabase_test_schema()
    claims = {"sub": str(uuid.uuid4()), "role": "authenticated", "email": "a@example.com"}
    with as_supabase_user(claims), connection.cursor() as cursor:
        cursor.execute("SELECT auth.uid()::text, auth.role(), auth.email(), auth.jwt()::text")
        uid, role, email, jwt = cursor.fetchone()
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == ("authenticated",)
    assert (uid, role, email, json.loads(jwt)) == (claims["sub"], "authenticated",
                                                   "a@example.com", claims)  # fmt: skip
    assert _scalar("SELECT current_user") == connection.settings_dict["USER"]
    assert _scalar("SELECT auth.uid()") is None


@pytest.mark.usefixtures("supabase", "publication_cleanup")
def test_publication_refuses_a_table_without_row_level_security() -> None:
    """Postgres Changes would stream every row of it to every subscriber."""
    with pytest.raises(DatabaseError) as refused:
        _forwards(AddToRealtimePublication("rtnote"))
    message = str(refused.value)
    assert "row level security is off" in message
    assert "EnableRealtimeRLS('rtnote', ...) before AddToRealtimePublication('rtnote')" in message
    assert "allow_open_table=True" in message
    assert not _published("testapp_rtnote")
    rls = EnableRealtimeRLS("rtnote", user_field="recipient", identity=IDENTITY, broadcast=False)
    _forwards(rls)
    try:
        _forwards(AddToRealtimePublication("rtnote"))
        assert _published("testapp_rtnote")
    finally:
        _backwards(rls)


@pytest.mark.usefixtures("publication_cleanup")
def test_publication_of_an_open_table_is_allowed_on_a_plain_postgresql(
    plain_postgres: str,
) -> None:
    """Without Supabase's API roles there is no Realtime to stream it: nothing to refuse."""
    with connections[plain_postgres].cursor() as cursor:
        [statement] = AddToRealtimePublication("rtnote").forwards_sql("testapp", _state())
        cursor.execute("CREATE TABLE IF NOT EXISTS testapp_rtnote (id int PRIMARY KEY)")
        cursor.execute(statement)
        cursor.execute(
            "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'testapp_rtnote'"
        )
        assert cursor.fetchone() == (1,)
        cursor.execute("DROP PUBLICATION supabase_realtime")


@pytest.mark.usefixtures("realtime_schema")
def test_broadcast_policy_without_ownership_says_what_to_do() -> None:
    """On Supabase postgres does not own realtime.messages: a policy there needs supautils."""
    migrator = ensure_role("supahybrid_test_migrator")
    operation = EnableRealtimeRLS("rtnote", user_field="recipient", identity=IDENTITY)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE testapp_rtnote OWNER TO {migrator}")
        cursor.execute(f"GRANT USAGE ON SCHEMA auth, realtime TO {migrator}")
    state = _state()

    def migrate_as_migrator() -> None:
        with connection.schema_editor() as editor:
            editor.execute(f"SET LOCAL ROLE {migrator}")
            operation.database_forwards("testapp", editor, state, state)

    try:
        with pytest.raises(DatabaseError) as refused:
            migrate_as_migrator()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE testapp_rtnote OWNER TO CURRENT_USER")
            cursor.execute(f"REVOKE USAGE ON SCHEMA auth, realtime FROM {migrator}")
    message = str(refused.value)
    assert f"Cannot change the policies of realtime.messages as role {migrator}" in message
    assert "must be owner of table messages" in message
    assert "supautils" in message
    assert "Run this migration as postgres" in message
    assert "broadcast=False" in message
    assert not _scalar("SELECT count(*) FROM pg_policies WHERE tablename = 'testapp_rtnote'")


@pytest.mark.usefixtures("supabase", "publication_cleanup")
def test_routers_decide_where_the_operations_run() -> None:
    """Like Django's own operations: nothing on a database the routers keep the app off."""
    operations = [
        EnableRealtimeRLS("rtnote", user_field="recipient", identity=IDENTITY, broadcast=False),
        AddToRealtimePublication("rtnote"),
    ]
    with override_settings(DATABASE_ROUTERS=[MigrateOnlyOn("testapp", "other")]):
        for operation in operations:
            _forwards(operation)
        assert not _published("testapp_rtnote")
        assert not _scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'testapp_rtnote'")
        install_supabase_test_schema("other")
        for operation in operations:
            _forwards(operation, using="other")
        try:
            with connections["other"].cursor() as cursor:
                cursor.execute(
                    "SELECT relrowsecurity FROM pg_class WHERE relname = 'testapp_rtnote'"
                )
                assert cursor.fetchone() == (True,)
        finally:
            for operation in reversed(operations):
                _backwards(operation, using="other")
            with connections["other"].cursor() as cursor:
                cursor.execute("DROP PUBLICATION IF EXISTS supabase_realtime")


def _policy_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(qual, ' ') FROM pg_policies WHERE tablename = %s "
            "AND policyname LIKE 'supahybrid_%%'",
            [table],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.usefixtures("realtime_schema")
def test_the_tenant_walls_helpers_read_identities_and_memberships(
    configure: Callable[..., Any],
) -> None:
    """The default identity and ``Membership()``: the policies call the tenant wall's
    ``SECURITY DEFINER`` functions, so ``authenticated`` needs ``SELECT`` on the table
    alone, even after the lock-down closed the identity, membership and user tables."""
    configure(ORGANIZATION_LOOKUP=MEMBERSHIPS)
    org_a = Organization.objects.create(name="A")
    org_b = Organization.objects.create(name="B")
    subs = {}
    for name, org in (("alice", org_a), ("bob", org_b)):
        user = User.objects.create_user(f"rt-{name}")
        MembershipRow.objects.create(user=user, organization=org)
        subs[name] = SupabaseIdentity.objects.create(user=user, sub=uuid.uuid4()).sub
        Campaign.objects.create(organization=org, created_by=user, name=f"{name}'s")
        Campaign.objects.create(organization=org, name=f"team {org.name}")
    alice = User.objects.get(username="rt-alice")
    Campaign.objects.create(organization=org_b, created_by=alice, name="alice's in B")
    operation = EnableRealtimeRLS(
        "campaign", user_field="created_by", organization_field="organization",
        membership=Membership(),
    )  # fmt: skip

    def names(sub: uuid.UUID) -> set[str]:
        with as_supabase_user({"sub": str(sub), "role": "authenticated"}):
            return set(Campaign.objects.values_list("name", flat=True))

    with transaction.atomic():  # every change below is rolled back
        with connection.cursor() as cursor:
            cursor.execute(
                lock_down_sql(
                    ["django_supahybrid_supabaseidentity", "testapp_membership", "auth_user"]
                )
            )
            cursor.execute("REVOKE ALL ON testapp_campaign FROM authenticated")
            cursor.execute("GRANT SELECT ON testapp_campaign TO authenticated")
            for topic in (f"user:{alice.pk}", f"organization:{org_a.pk}"):
                cursor.execute(
                    "SELECT realtime.send('{}'::jsonb, 'e', %s, true)",
                    [f"supahybrid:testapp.campaign:{topic}"],
                )
        _forwards(operation)
        assert names(subs["alice"]) == {"alice's", "team A", "alice's in B"}
        assert names(subs["bob"]) == {"bob's", "team B"}
        assert names(uuid.uuid4()) == set()
        text = _policy_text("testapp_campaign") + _policy_text("messages")
        assert "supahybrid.user_ids()" in text
        assert "supahybrid.organization_ids()" in text
        assert "supabaseidentity" not in text
        assert "testapp_membership" not in text
        topics = [
            f"supahybrid:testapp.campaign:user:{alice.pk}",
            f"supahybrid:testapp.campaign:organization:{org_a.pk}",
        ]
        claims = {"sub": str(subs["alice"]), "role": "authenticated"}
        assert _receivable_topics(claims, topics) == topics
        assert _receivable_topics({**claims, "sub": str(subs["bob"])}, topics) == []
        _backwards(operation)
        assert _scalar("SELECT to_regnamespace('supahybrid')") is None  # nothing else used it
        transaction.set_rollback(True)


@pytest.mark.usefixtures("supabase")
def test_a_named_membership_reads_the_walls_user_ids(configure: Callable[..., Any]) -> None:
    """The default identity with a membership model: the user ids come from the function,
    the memberships from the table (which ``authenticated`` must be able to read)."""
    configure(ORGANIZATION_LOOKUP=MEMBERSHIPS)
    operation = EnableRealtimeRLS(
        "campaign", organization_field="organization",
        membership=Membership("testapp.Membership"), broadcast=False,
    )  # fmt: skip
    sql = "\n".join(operation.forwards_sql("testapp", _state()))
    assert "CREATE OR REPLACE FUNCTION supahybrid.user_ids()" in sql
    assert "supahybrid.organization_ids()" not in sql
    assert '"testapp_membership" m WHERE m."user_id" IN (SELECT supahybrid.user_ids()' in sql
    assert "supabaseidentity" not in sql.split("CREATE POLICY")[1]
    only_users = EnableRealtimeRLS("campaign", user_field="created_by", broadcast=False)
    assert "organization_ids" not in "\n".join(only_users.forwards_sql("testapp", _state()))


def test_membership_from_the_settings_needs_an_organization_lookup(
    configure: Callable[..., Any],
) -> None:
    configure(ORGANIZATION_LOOKUP=None)
    operation = EnableRealtimeRLS(
        "campaign", organization_field="organization", membership=Membership()
    )
    with pytest.raises(ImproperlyConfigured, match="ORGANIZATION_LOOKUP"):
        operation.forwards_sql("testapp", _state())
    assert operation.deconstruct()[2] == {
        "organization_field": "organization", "membership": Membership(),
    }  # fmt: skip
    written, _ = OperationWriter(operation, indentation=0).serialize()
    assert "membership=django_supahybrid.realtime.operations.Membership(model=None" in written
