"""The policies each declaration shape generates, read through the Data API's door.

``authenticated`` with claims set PostgREST's way (``as_supabase_user``) reads the rows of
its organizations and writes none, unless a model opted in to Data API writes.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from pytest_django.fixtures import Settings as SettingsWrapper

from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.tenancy.operations import EnableTenantRLS
from django_supahybrid.tenancy.policies import path_predicate, policy_name, tenant_predicate
from django_supahybrid.tenancy.wall import tenant_wall
from django_supahybrid.testing.supabase import as_supabase_user
from tests.support.tenancy import PROFILE, World
from tests.support.wall import backwards, claims_of, forwards, scalar, state
from tests.testapp.models import (
    Campaign,
    CountedChild,
    Notification,
    Organization,
    SupabaseProfile,
    VoterInteraction,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("walled")]


def _seen(model: Any, sub: uuid.UUID | None) -> set[int]:
    claims = claims_of(sub) if sub else {"role": "authenticated"}
    with as_supabase_user(claims):
        return set(model.objects.values_list("pk", flat=True))


def _model(name: str) -> Any:
    return state().apps.get_model("testapp", name)


def test_direct_organization_field(world: World, subs: dict[str, uuid.UUID]) -> None:
    predicate = tenant_predicate(_model("campaign"), organization="organization", user=None)
    assert predicate == (
        '"testapp_campaign"."organization_id" IN (SELECT supahybrid.organization_ids())'
    )
    assert _seen(Campaign, subs["alice"]) == {world.campaign_a.pk}
    assert _seen(Campaign, subs["bob"]) == {world.campaign_b.pk}
    assert _seen(Campaign, subs["carol"]) == {world.campaign_a.pk, world.campaign_b.pk}
    assert _seen(Campaign, subs["nobody"]) == set()
    assert _seen(Campaign, uuid.uuid4()) == set()  # a stranger
    assert _seen(Campaign, None) == set()  # no sub at all
    assert _seen(Organization, subs["alice"]) == {world.org_a.pk}  # Scoping: "pk"


def test_path_through_relations(world: World, subs: dict[str, uuid.UUID]) -> None:
    predicate = tenant_predicate(
        _model("voterinteraction"), organization="campaign__organization", user=None
    )
    assert predicate == (
        'EXISTS (SELECT 1 FROM "testapp_campaign" j1 WHERE j1."id" = '
        '"testapp_voterinteraction"."campaign_id" AND j1."organization_id" IN '
        "(SELECT supahybrid.organization_ids()))"
    )
    assert _seen(VoterInteraction, subs["alice"]) == {world.interaction_a.pk}
    assert _seen(VoterInteraction, subs["carol"]) == {
        world.interaction_a.pk, world.interaction_b.pk,
    }  # fmt: skip
    assert _seen(VoterInteraction, subs["nobody"]) == set()


def test_longer_paths_join_each_hop_and_skip_a_trailing_key() -> None:
    interaction = _model("voterinteraction")
    three = path_predicate(interaction, "campaign__district__organization", "ids()")
    assert three == (
        'EXISTS (SELECT 1 FROM "testapp_campaign" j1 JOIN "testapp_district" j2 ON '
        'j2."id" = j1."district_id" WHERE j1."id" = "testapp_voterinteraction"."campaign_id" '
        'AND j2."organization_id" IN (SELECT ids()))'
    )
    # "__pk" or "__id" after a foreign key is the key column itself: no join.
    for path in ("campaign__pk", "campaign__id", "campaign_id"):
        assert path_predicate(interaction, path, "ids()") == (
            '"testapp_voterinteraction"."campaign_id" IN (SELECT ids())'
        )
    both = tenant_predicate(_model("campaign"), organization="organization", user="created_by")
    assert both == (
        '"testapp_campaign"."created_by_id" IN (SELECT supahybrid.user_ids()) AND '
        '"testapp_campaign"."organization_id" IN (SELECT supahybrid.organization_ids())'
    )


def test_owning_user(world: World, subs: dict[str, uuid.UUID]) -> None:
    alice_rows = set(
        Notification.objects.filter(recipient=world.alice).values_list("pk", flat=True)
    )
    assert alice_rows
    assert _seen(Notification, subs["alice"]) == alice_rows
    assert _seen(Notification, subs["carol"]) == set()


def test_membership_through_a_profile(
    world: World, subs: dict[str, uuid.UUID], configure: Any
) -> None:
    """``ORGANIZATION_LOOKUP`` through a one-to-one profile instead of a membership table."""
    configure(ORGANIZATION_LOOKUP=PROFILE)
    forwards(EnableTenantRLS("campaign"))  # replaces the helper function
    # Carol's profile names no organization (her memberships do): now she sees nothing.
    assert _seen(Campaign, subs["carol"]) == set()
    assert _seen(Campaign, subs["alice"]) == {world.campaign_a.pk}


def test_inactive_users_see_nothing(world: World, subs: dict[str, uuid.UUID]) -> None:
    world.alice.is_active = False
    world.alice.save()
    assert _seen(Campaign, subs["alice"]) == set()
    assert _seen(Notification, subs["alice"]) == set()


def test_supabase_id_on_a_related_profile(
    world: World, configure: Any, settings: SettingsWrapper
) -> None:
    """``AUTH_USER_UUID_FIELD`` through a relation, instead of the identity table."""
    configure(
        ORGANIZATION_LOOKUP="scoping_memberships__organization",
        AUTH_USER_UUID_FIELD="supabase_profile__supabase_uid",
    )
    uid = uuid.uuid4()
    SupabaseProfile.objects.create(user=world.bob, supabase_uid=uid)
    forwards(EnableTenantRLS("notification"))
    forwards(EnableTenantRLS("campaign"))
    assert _seen(Notification, uid) == set(
        Notification.objects.filter(recipient=world.bob).values_list("pk", flat=True)
    )
    assert _seen(Campaign, uid) == {world.campaign_b.pk}
    # The identity table no longer counts.
    assert SupabaseIdentity.objects.filter(user=world.alice).exists()
    assert _seen(Campaign, SupabaseIdentity.objects.get(user=world.alice).sub) == set()


def _write(sub: uuid.UUID, sql: str, params: list[Any]) -> int | str:
    """Rows changed, or the error class, as the Data API would report it."""
    try:
        with as_supabase_user(claims_of(sub)), connection.cursor() as cursor, transaction.atomic():
            cursor.execute(sql, params)
            return cursor.rowcount
    except DatabaseError as exc:
        return type(exc.__cause__).__name__


def _matrix(world: World, sub: uuid.UUID) -> dict[str, int | str]:
    a, b = world.org_a.pk, world.org_b.pk
    ca, cb = world.campaign_a.pk, world.campaign_b.pk
    spare = Campaign.objects.create(organization=world.org_a, name="spare").pk  # no children
    insert = (
        "INSERT INTO testapp_campaign (organization_id, name, created_at) VALUES (%s, 'x', now())"
    )
    return {
        "create in own": _write(sub, insert, [a]),
        "create in other": _write(sub, insert, [b]),
        "rename own": _write(sub, "UPDATE testapp_campaign SET name = 'y' WHERE id = %s", [ca]),
        "rename other": _write(sub, "UPDATE testapp_campaign SET name = 'y' WHERE id = %s", [cb]),
        "move own": _write(
            sub, "UPDATE testapp_campaign SET organization_id = %s WHERE id = %s", [b, ca]
        ),
        "delete own": _write(sub, "DELETE FROM testapp_campaign WHERE id = %s", [spare]),
        "delete other": _write(sub, "DELETE FROM testapp_campaign WHERE id = %s", [cb]),
    }


def test_data_api_reads_its_organizations_and_writes_nothing(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    assert _matrix(world, subs["alice"]) == {
        "create in own": "InsufficientPrivilege",  # no INSERT policy for authenticated
        "create in other": "InsufficientPrivilege",
        "rename own": 0,
        "rename other": 0,
        "move own": 0,
        "delete own": 0,
        "delete other": 0,
    }
    assert set(Campaign.objects.values_list("name", "organization")) == {
        ("ca", world.org_a.pk), ("cb", world.org_b.pk), ("spare", world.org_a.pk),
    }  # fmt: skip


def test_data_api_writes_when_the_model_opts_in(world: World, subs: dict[str, uuid.UUID]) -> None:
    operation = EnableTenantRLS("campaign", data_api_writes=True)
    backwards(EnableTenantRLS("campaign"))
    forwards(operation)
    assert _matrix(world, subs["alice"]) == {
        "create in own": 1,
        "create in other": "InsufficientPrivilege",  # WITH CHECK
        "rename own": 1,
        "rename other": 0,
        "move own": "InsufficientPrivilege",  # WITH CHECK: cannot leave the organization
        "delete own": 1,
        "delete other": 0,
    }
    commands = scalar(
        "SELECT string_agg(cmd, ',' ORDER BY cmd) FROM pg_policies "
        "WHERE tablename = 'testapp_campaign' AND 'authenticated' = ANY(roles)"
    )
    assert commands == "DELETE,INSERT,SELECT,UPDATE"
    backwards(operation)
    assert scalar("SELECT count(*) FROM pg_policies WHERE tablename = 'testapp_campaign'") == 0


def test_anon_and_service_role(world: World) -> None:
    with as_supabase_user({"role": "anon"}, role="anon"):
        assert Campaign.objects.count() == 0  # no policy for anon
    with as_supabase_user({"role": "service_role"}, role="service_role"):
        assert Campaign.objects.count() == 2  # BYPASSRLS, as on Supabase
    assert Campaign.objects.count() == 2  # Django's own role bypasses RLS outside the wall


def test_policies_call_auth_uid_once_per_statement() -> None:
    body = scalar(
        "SELECT prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'supahybrid' AND p.proname = 'organization_ids'"
    )
    assert "(SELECT auth.uid())" in body
    definer, config = scalar(
        "SELECT ARRAY[prosecdef::text, array_to_string(proconfig, ';')] FROM pg_proc "
        "WHERE proname = 'user_ids' AND pronamespace = 'supahybrid'::regnamespace"
    )
    assert definer == "true"
    assert config == "search_path=pg_catalog, public, pg_temp"
    # Only authenticated and the request role may call the helpers.
    assert not scalar("SELECT has_function_privilege('anon', 'supahybrid.user_ids()', 'EXECUTE')")
    assert scalar(
        "SELECT has_function_privilege('authenticated', 'supahybrid.user_ids()', 'EXECUTE')"
    )


@pytest.mark.parametrize(
    ("model", "path", "message"),
    [
        ("campaign", "tags__organization", "not a column of its table"),
        ("campaign", "interactions__note", "not a column of its table"),
        ("campaign", "name__organization", "is not a relation"),
        ("campaign", "nothing", "has no field 'nothing'"),
        ("countedchild", "hits", "inherited from testapp.Counted"),
    ],
)
def test_paths_that_cannot_become_policies(model: str, path: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        path_predicate(_model(model), path, "ids()")


def test_a_declaration_needs_a_path() -> None:
    with pytest.raises(ImproperlyConfigured, match="neither an organization nor a user"):
        tenant_predicate(_model("campaign"), organization=None, user=None)
    assert CountedChild._meta.db_table == "testapp_countedchild"


def test_policy_names_fit_postgresql() -> None:
    assert policy_name("short", "tenant_request") == "supahybrid_short_tenant_request"
    long_name = policy_name("t" * 60, "tenant_request")
    assert len(long_name) <= 63
    assert long_name.endswith("_tenant_request")
    assert long_name != policy_name("t" * 61, "tenant_request")


def _as_request(sub: uuid.UUID, user: Any, sql: str, params: list[Any]) -> Any:
    """The statement's rows (or rows changed) under the wall, or the error class."""
    try:
        with (
            transaction.atomic(),
            tenant_wall(claims_of(sub), user=user),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
            return sorted(cursor.fetchall()) if cursor.description else cursor.rowcount
    except DatabaseError as exc:
        return type(exc.__cause__).__name__


def test_many_to_many_rows_follow_the_models_rows(world: World, subs: dict[str, uuid.UUID]) -> None:
    world.campaign_a.tags.add(world.tag_a)
    world.campaign_b.tags.add(world.tag_b)
    links = "SELECT campaign_id, tag_id FROM testapp_campaign_tags"
    alice, sub = world.alice, subs["alice"]
    assert _as_request(sub, alice, links, []) == [(world.campaign_a.pk, world.tag_a.pk)]
    assert _as_request(subs["carol"], world.carol, links, []) == sorted(
        [(world.campaign_a.pk, world.tag_a.pk), (world.campaign_b.pk, world.tag_b.pk)]
    )
    link = "INSERT INTO testapp_campaign_tags (campaign_id, tag_id) VALUES (%s, %s)"
    assert _as_request(sub, alice, link, [world.campaign_a.pk, world.tag_b.pk]) == 1
    assert _as_request(sub, alice, link, [world.campaign_b.pk, world.tag_a.pk]) == (
        "InsufficientPrivilege"  # WITH CHECK: another tenant's campaign
    )
    unlink = "DELETE FROM testapp_campaign_tags WHERE campaign_id = %s"
    assert _as_request(sub, alice, unlink, [world.campaign_b.pk]) == 0
    # The Data API reads none of them: the table stays closed to it.
    with as_supabase_user(claims_of(sub)), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM testapp_campaign_tags")
        assert cursor.fetchone() == (0,)
    policy = scalar(
        "SELECT qual FROM pg_policies WHERE tablename = 'testapp_campaign_tags' "
        "AND policyname = 'supahybrid_testapp_campaign_tags_tenant_request'"
    )
    assert "testapp_campaign" in policy
    assert "organization_ids()" in policy


def test_rows_for_other_members_of_the_organization(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    """``insert_organization``: a member writes rows that belong to other members."""
    mine = EnableTenantRLS("campaign", user="created_by", insert_organization="organization")
    backwards(EnableTenantRLS("campaign"))
    forwards(mine)
    insert = (
        "INSERT INTO testapp_campaign (organization_id, created_by_id, name, created_at) "
        "VALUES (%s, %s, 'for someone', now())"
    )
    alice, sub = world.alice, subs["alice"]
    assert _as_request(sub, alice, insert, [world.org_a.pk, world.carol.pk]) == 1
    assert _as_request(sub, alice, insert, [world.org_b.pk, world.carol.pk]) == (
        "InsufficientPrivilege"
    )
    # Reading stays the owner's: alice sees only the campaigns she created.
    Campaign.objects.filter(pk=world.campaign_a.pk).update(created_by=alice)
    owned = "SELECT id FROM testapp_campaign"
    assert _as_request(sub, alice, owned, []) == [(world.campaign_a.pk,)]
    # The Data API gains nothing from it.
    with as_supabase_user(claims_of(sub)), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM testapp_campaign")
        assert cursor.fetchone() == (1,)
    backwards(mine)
    assert not scalar(
        "SELECT count(*) FROM pg_policies WHERE policyname LIKE %s", ["%tenant_request_insert"]
    )
    forwards(EnableTenantRLS("campaign"))  # as the fixture left it
