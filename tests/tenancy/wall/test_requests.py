"""Django's requests under the wall: the same rows as the Data API, nothing across tenants."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from django_supahybrid.tenancy.operations import GrantRequestRole
from django_supahybrid.tenancy.wall import (
    TenantWallError,
    active_wall,
    forget_supabase_shape,
    supabase_shaped,
    tenant_wall,
)
from django_supahybrid.testing.supabase import as_supabase_user, install_supabase_test_schema
from tests.support import pgtools
from tests.support.tenancy import World
from tests.support.wall import api, backwards, claims_of, scalar
from tests.testapp.models import Campaign, Notification, VoterInteraction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("walled")]

MIDDLEWARE = "django_supahybrid.tenancy.wall.TenantWallMiddleware"


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return sorted(row["id"] for row in rows)


def _data_api(model: Any, sub: uuid.UUID) -> list[int]:
    """The rows PostgREST would return for this user's token."""
    with as_supabase_user(claims_of(sub)):
        return sorted(model.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("name", ["alice", "bob", "carol", "nobody", "root"])
def test_both_doors_return_the_same_rows(name: str, subs: dict[str, uuid.UUID]) -> None:
    client = api(subs[name])
    for url, model in (
        ("/wall/campaigns/", Campaign),
        ("/wall/forgetful/", Campaign),
        ("/wall/interactions/", VoterInteraction),
        ("/wall/notifications/", Notification),
    ):
        assert _ids(client.get(url)) == _data_api(model, subs[name]), url


def test_a_view_that_forgot_for_user_leaks_only_without_the_wall(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    client = api(subs["alice"])
    assert _ids(client.get("/wall/unwalled/")) == [world.campaign_a.pk, world.campaign_b.pk]
    assert _ids(client.get("/wall/forgetful/")) == [world.campaign_a.pk]
    assert _ids(client.get("/wall/interactions/")) == [world.interaction_a.pk]


def _campaigns() -> set[tuple[str, int]]:
    return set(Campaign.objects.values_list("name", "organization"))


@pytest.mark.parametrize(
    ("url", "field", "refusal"),
    [
        ("/wall/campaigns/", "organization", 400),  # the scoped view refuses first
        ("/wall/forgetful/", "organization", 400),  # other tenants' organizations: absent
        ("/wall/raw/", "organization_id", 403),  # a bare id: the policy's WITH CHECK
    ],
)
def test_cross_tenant_matrix_through_the_api(
    url: str, field: str, refusal: int, world: World, subs: dict[str, uuid.UUID]
) -> None:
    """Read, create, move and delete across tenants: the scoped view and the wall alone."""
    client = api(subs["alice"])
    a, b = world.org_a.pk, world.org_b.pk
    other = f"{url}{world.campaign_b.pk}/"
    own = f"{url}{world.campaign_a.pk}/"
    before = _campaigns()
    assert client.get(other).status_code == 404
    assert client.patch(other, {"name": "taken"}, format="json").status_code == 404
    assert client.delete(other).status_code == 404
    refused = client.post(url, {"name": "intruder", field: b}, format="json")
    moved = client.patch(own, {field: b}, format="json")
    assert refused.status_code == refusal, refused.content
    assert moved.status_code == refusal, moved.content
    assert _campaigns() == before
    # Inside the tenant, everything works.
    created = client.post(url, {"name": "mine", field: a}, format="json")
    assert created.status_code == 201, created.content
    assert client.patch(own, {"name": "renamed"}, format="json").status_code == 200
    assert client.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert ("cb", b) in _campaigns()


def test_the_wall_alone_refuses_a_foreign_row_with_403(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    response = api(subs["alice"]).post(
        "/wall/raw/", {"name": "intruder", "organization_id": world.org_b.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "This change would put a row outside your organizations."}


def test_related_rows_of_other_tenants_do_not_exist_under_the_wall(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    # A plain PrimaryKeyRelatedField looks the campaign up: under the wall, bob's is absent.
    response = api(subs["alice"]).post(
        "/wall/interactions/", {"note": "x", "campaign": world.campaign_b.pk}, format="json"
    )
    assert response.status_code == 400
    assert "campaign" in response.json()
    assert not VoterInteraction.objects.filter(note="x").exists()


def test_the_request_runs_as_the_request_role_with_its_claims(subs: dict[str, uuid.UUID]) -> None:
    body = api(subs["alice"]).get("/wall/whoami/").json()
    assert body["user"] == "supahybrid_request"
    assert body["sub"] == str(subs["alice"])
    assert body["role"] == "authenticated"
    assert json.loads(body["claims"])["sub"] == str(subs["alice"])
    # Afterwards the connection is Django's own again.
    assert scalar("SELECT current_user") != "supahybrid_request"
    assert scalar("SELECT current_setting('request.jwt.claim.sub', true)") in (None, "")


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_the_wall_database_can_be_another_alias(subs: dict[str, uuid.UUID]) -> None:
    install_supabase_test_schema("other")
    body = api(subs["alice"]).get("/wall/whoami-other/").json()
    assert (body["user"], body["sub"]) == ("supahybrid_request", str(subs["alice"]))


def test_requests_without_a_supabase_token_run_as_before(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    assert _ids(api(None).get("/wall/forgetful/")) == [world.campaign_a.pk, world.campaign_b.pk]
    forced = api(None)
    forced.force_authenticate(world.alice)  # a session or another scheme: no claims
    assert forced.get("/wall/whoami/").json()["user"] != "supahybrid_request"
    refused = api(None)
    refused.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.get("/wall/forgetful/").status_code == 401


def test_a_refused_request_leaves_nothing_behind(world: World, subs: dict[str, uuid.UUID]) -> None:
    client = api(subs["alice"])
    failed = client.post(
        "/wall/write-then-fail/", {"organization": world.org_a.pk, "fail": True}, format="json"
    )
    assert failed.status_code == 400
    assert not Campaign.objects.filter(name="doomed").exists()
    done = client.post("/wall/write-then-fail/", {"organization": world.org_a.pk}, format="json")
    assert done.status_code == 201
    assert Campaign.objects.filter(name="doomed").count() == 1


def test_a_table_without_policies_names_the_operation_to_add(
    subs: dict[str, uuid.UUID],
) -> None:
    backwards(GrantRequestRole("constituency"))
    with pytest.raises(TenantWallError) as caught:
        api(subs["alice"]).get("/wall/constituencies/")
    message = str(caught.value)
    assert "Table testapp_constituency (testapp.Constituency)" in message
    assert 'EnableTenantRLS("testapp.Constituency")' in message
    assert 'GrantRequestRole("testapp.Constituency")' in message


def test_for_user_asks_the_database_for_the_walls_own_user_only(
    world: World, subs: dict[str, uuid.UUID]
) -> None:
    with tenant_wall(claims_of(subs["carol"]), user=world.carol):
        scoped = Campaign.objects.for_user(world.carol)
        assert "supahybrid.organization_ids()" in str(scoped.query)
        assert sorted(scoped.values_list("name", flat=True)) == ["ca", "cb"]
    # Another user's memberships are read from their table, which the role may not read.
    with (
        pytest.raises(TenantWallError, match="testapp_membership"),
        tenant_wall(claims_of(subs["carol"]), user=world.carol),
    ):
        list(Campaign.objects.for_user(world.alice))
    with (
        pytest.raises(TenantWallError, match="testapp_membership"),
        tenant_wall(claims_of(subs["carol"])),
    ):  # no user given: nothing to compare
        list(Campaign.objects.for_user(world.carol))


class TestTheContextManager:
    def test_nested_in_a_transaction_it_restores_the_previous_role(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        outer = claims_of(subs["bob"])
        with as_supabase_user(outer):
            assert scalar("SELECT current_user") == "authenticated"
            with tenant_wall(claims_of(subs["alice"]), user=world.alice) as wall:
                assert wall.sub == str(subs["alice"])
                assert active_wall() is wall
                assert scalar("SELECT current_user") == "supahybrid_request"
                claim = "SELECT current_setting('request.jwt.claim.sub')"
                assert scalar(claim) == str(subs["alice"])
                with tenant_wall(claims_of(subs["alice"])) as again:  # same claims: no-op
                    assert again is wall
                with (
                    pytest.raises(TenantWallError, match="already under the tenant wall"),
                    tenant_wall(claims_of(subs["bob"])),
                ):
                    pass  # pragma: no cover
            assert active_wall() is None
            assert scalar("SELECT current_user") == "authenticated"
            assert scalar("SELECT auth.uid()") == subs["bob"]

    def test_an_error_inside_rolls_the_savepoint_back(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        def write_then_fail() -> None:
            with tenant_wall(claims_of(subs["alice"]), user=world.alice):
                Campaign.objects.create(organization=world.org_a, name="lost")
                raise ZeroDivisionError

        with transaction.atomic():
            with pytest.raises(ZeroDivisionError):
                write_then_fail()
            assert scalar("SELECT current_user") != "supahybrid_request"
        assert not Campaign.objects.filter(name="lost").exists()

    def test_database_errors_that_are_not_the_walls_pass_through(
        self, subs: dict[str, uuid.UUID]
    ) -> None:
        claims = claims_of(subs["alice"])
        with (
            pytest.raises(DatabaseError, match="step size cannot equal zero"),
            tenant_wall(claims),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT generate_series(1, 10, 0)")
        with (
            pytest.raises(DatabaseError, match="division by zero"),
            tenant_wall(claims),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1 / 0")
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA supahybrid_private")  # rolled back with the test
        with (
            pytest.raises(DatabaseError, match="permission denied for schema"),
            tenant_wall(claims),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT supahybrid_private.nothing()")

    def test_a_table_that_is_no_model_is_named_as_it_is(self, subs: dict[str, uuid.UUID]) -> None:
        with (
            pytest.raises(TenantWallError, match=r"Table pg_authid \(pg_authid\)"),
            tenant_wall(claims_of(subs["alice"])),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT * FROM pg_authid")

    def test_a_missing_request_role_is_named(
        self, subs: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django_supahybrid.tenancy import wall

        monkeypatch.setattr(wall, "REQUEST_ROLE", "supahybrid_no_such_role")
        with (
            pytest.raises(TenantWallError, match="cannot take the request role"),
            tenant_wall(claims_of(subs["alice"])),
        ):
            pass  # pragma: no cover


class TestTheMiddleware:
    @pytest.fixture(autouse=True)
    def _middleware(self, settings: SettingsWrapper) -> None:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]

    def test_every_view_with_a_token_is_under_the_wall(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        client = api(subs["alice"])
        assert _ids(client.get("/wall/unwalled/")) == [world.campaign_a.pk]
        assert _ids(client.get("/wall/forgetful/")) == [world.campaign_a.pk]  # both: one wall
        refused = client.post(
            "/wall/unwalled-raw/", {"name": "x", "organization_id": world.org_b.pk}, format="json"
        )
        assert refused.status_code == 403
        assert not Campaign.objects.filter(name="x").exists()

    def test_without_a_valid_token_nothing_changes(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        assert _ids(api(None).get("/wall/unwalled/")) == [world.campaign_a.pk, world.campaign_b.pk]
        refused = api(None)
        refused.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        assert refused.get("/wall/unwalled/").status_code == 401

    def test_it_commits_successes_and_rolls_back_errors(
        self, world: World, subs: dict[str, uuid.UUID]
    ) -> None:
        client = api(subs["alice"])
        url = "/wall/unwalled-write-then-fail/"
        assert client.post(url, {"organization": world.org_a.pk, "fail": 1}).status_code == 400
        assert not Campaign.objects.filter(name="doomed").exists()
        assert client.post(url, {"organization": world.org_a.pk}).status_code == 201
        assert Campaign.objects.filter(name="doomed").count() == 1

    def test_a_table_without_policies_is_named(self, subs: dict[str, uuid.UUID]) -> None:
        backwards(GrantRequestRole("constituency"))
        with pytest.raises(TenantWallError, match="testapp_constituency"):
            api(subs["alice"]).get("/wall/unwalled-constituencies/")

    def test_other_errors_are_left_alone(self, world: World, subs: dict[str, uuid.UUID]) -> None:
        for client in (api(subs["alice"]), api(None)):
            with pytest.raises(KeyError):
                client.post("/wall/unwalled-write-then-fail/", {})


class TestAPlainPostgreSQL:
    """Where the database has no Supabase roles, the operations create nothing and the
    mixin and the middleware leave requests alone, so one codebase runs on both."""

    @pytest.fixture
    def plain(self, walled: None) -> Iterator[None]:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA auth CASCADE")  # rolled back with the test
        forget_supabase_shape()
        yield
        forget_supabase_shape()

    @pytest.mark.usefixtures("plain")
    def test_the_mixin_and_the_middleware_leave_requests_alone(
        self, world: World, subs: dict[str, uuid.UUID], settings: SettingsWrapper
    ) -> None:
        assert not supabase_shaped()
        client = api(subs["alice"])
        assert client.get("/wall/whoami/").json()["user"] != "supahybrid_request"
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
        with CaptureQueriesContext(connection) as captured:
            listed = _ids(client.get("/wall/unwalled/"))
        # This view relies on the wall alone: without one, it lists every row (as before).
        assert listed == [world.campaign_a.pk, world.campaign_b.pk]
        assert not [q for q in captured.captured_queries if "set_config" in q["sql"]]

    def test_the_shape_is_asked_once_per_database(self) -> None:
        forget_supabase_shape()
        with CaptureQueriesContext(connection) as captured:
            assert supabase_shaped()
            assert supabase_shaped()
        assert len(captured) == 1
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA auth CASCADE")  # rolled back with the test
        assert supabase_shaped()  # until forgotten
        forget_supabase_shape()
        assert not supabase_shaped()
        install_supabase_test_schema()  # forgets by itself
        assert supabase_shaped()

    def test_other_vendors_are_never_shaped(self) -> None:
        wrapper = SQLiteWrapper(
            {
                **connection.settings_dict,
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": ":memory:",
            },
            alias="wall_shape_sqlite",
        )
        connections["wall_shape_sqlite"] = wrapper
        try:
            assert not supabase_shaped("wall_shape_sqlite")
        finally:
            pgtools.forget_sqlite("wall_shape_sqlite")
