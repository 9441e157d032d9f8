"""Every verb across tenants: nothing leaks, nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from django_supahybrid.tenancy.relations import ScopedPrimaryKeyRelatedField, UserOrganizationField
from tests.support.scoping_views import CampaignViewSet
from tests.support.tenancy import PROFILE, World, client_for
from tests.testapp.models import (
    Campaign,
    Constituency,
    Notification,
    Organization,
    Tag,
    VoterInteraction,
)

CAMPAIGNS = "/scoping/campaigns/"


def _ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_list_shows_only_the_users_organizations(world: World) -> None:
    assert _ids(client_for(world.alice).get(CAMPAIGNS)) == [world.campaign_a.pk]
    assert _ids(client_for(world.bob).get(CAMPAIGNS)) == [world.campaign_b.pk]
    both = client_for(world.carol).get(CAMPAIGNS)
    assert _ids(both) == [world.campaign_a.pk, world.campaign_b.pk]
    assert _ids(client_for(world.nobody).get(CAMPAIGNS)) == []
    # No permission class on this view: the queryset alone fails closed.
    anonymous = client_for(None).get(CAMPAIGNS)
    assert anonymous.status_code == 200
    assert anonymous.json()["count"] == 0


def test_list_rows_carry_their_relations(world: World) -> None:
    [row] = client_for(world.alice).get(CAMPAIGNS).json()["results"]
    assert row == {
        "id": world.campaign_a.pk,
        "name": "ca",
        "organization": world.org_a.pk,
        "created_by_name": "alice",
        "district": world.district_a.pk,
        "district_name": "dA",
        "constituency_name": "cA",
        "tags": [world.tag_a.pk],
    }


def test_foreign_ids_are_404_for_every_verb(world: World) -> None:
    client = client_for(world.alice)
    url = f"{CAMPAIGNS}{world.campaign_b.pk}/"
    assert client.get(url).status_code == 404
    assert client.put(url, {"name": "x"}, format="json").status_code == 404
    assert client.patch(url, {"name": "x"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    world.campaign_b.refresh_from_db()
    assert world.campaign_b.name == "cb"
    # The answer is the same as for an id that does not exist: existence does not leak.
    assert client.get(f"{CAMPAIGNS}999999/").json() == client.get(url).json()


def test_own_rows_can_be_read_changed_and_deleted(world: World) -> None:
    client = client_for(world.alice)
    url = f"{CAMPAIGNS}{world.campaign_a.pk}/"
    assert client.get(url).json()["name"] == "ca"
    assert client.patch(url, {"name": "renamed"}, format="json").status_code == 200
    # The view passes extra values to save(): here it marks the new name.
    assert Campaign.objects.get(pk=world.campaign_a.pk).name == "renamed!"
    assert client.delete(url).status_code == 204
    assert not Campaign.objects.filter(pk=world.campaign_a.pk).exists()


def test_create_takes_the_organization_from_the_user(world: World) -> None:
    response = client_for(world.alice).post(CAMPAIGNS, {"name": "new"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created_by_name"] == "alice"
    assert Campaign.objects.get(name="new").organization == world.org_a


def test_create_in_another_tenant_is_refused_and_writes_nothing(world: World) -> None:
    before = Campaign.objects.count()
    response = client_for(world.alice).post(
        CAMPAIGNS, {"name": "evil", "organization": world.org_b.pk}, format="json"
    )
    assert response.status_code == 400
    assert "organization" in response.json()
    assert Campaign.objects.count() == before


def test_member_of_several_organizations_must_choose(world: World) -> None:
    client = client_for(world.carol)
    response = client.post(CAMPAIGNS, {"name": "which"}, format="json")
    assert response.status_code == 400
    assert "several" in response.json()["organization"][0]
    chosen = client.post(CAMPAIGNS, {"name": "b", "organization": world.org_b.pk}, format="json")
    assert chosen.status_code == 201
    assert Campaign.objects.get(name="b").organization == world.org_b


@pytest.mark.parametrize("who", ["nobody", "anonymous"])
def test_create_without_an_organization_is_forbidden(world: World, who: str) -> None:
    user = world.nobody if who == "nobody" else None
    before = Campaign.objects.count()
    response = client_for(user).post(CAMPAIGNS, {"name": "orphan"}, format="json")
    assert response.status_code == 403
    assert Campaign.objects.count() == before


@pytest.mark.parametrize("field", ["district", "tags"], ids=["foreign key", "many-to-many"])
def test_body_cannot_attach_another_tenants_row(world: World, field: str) -> None:
    value: Any = world.district_b.pk if field == "district" else [world.tag_b.pk]
    client = client_for(world.alice)
    response = client.post(CAMPAIGNS, {"name": "sneaky", field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Campaign.objects.filter(name="sneaky").exists()
    url = f"{CAMPAIGNS}{world.campaign_a.pk}/"
    assert client.patch(url, {field: value}, format="json").status_code == 400
    world.campaign_a.refresh_from_db()
    assert world.campaign_a.district == world.district_a
    assert list(world.campaign_a.tags.all()) == [world.tag_a]


def test_read_only_organization_is_refused_not_ignored(world: World) -> None:
    client = client_for(world.alice)
    url = "/scoping/readonly-org-campaigns/"
    for value in (world.org_b.pk, "not-a-number"):
        response = client.post(url, {"name": "ro", "organization": value}, format="json")
        assert response.status_code == 400, value
    assert not Campaign.objects.filter(name="ro").exists()
    ok = client.post(url, {"name": "ro", "organization": world.org_a.pk}, format="json")
    assert ok.status_code == 201
    same = client.patch(
        f"{url}{world.campaign_a.pk}/", {"organization": world.org_a.pk}, format="json"
    )
    assert same.status_code == 200
    patch = client.patch(
        f"{url}{world.campaign_a.pk}/", {"organization": world.org_b.pk}, format="json"
    )
    assert patch.status_code == 400
    assert Campaign.objects.get(pk=world.campaign_a.pk).organization == world.org_a


def test_plain_organization_field_cannot_move_a_row_to_another_tenant(world: World) -> None:
    client = client_for(world.alice)
    url = "/scoping/plain-org-campaigns/"
    created = client.post(url, {"name": "p", "organization": world.org_b.pk}, format="json")
    assert created.status_code == 400
    assert not Campaign.objects.filter(name="p").exists()
    moved = client.patch(
        f"{url}{world.campaign_a.pk}/", {"organization": world.org_b.pk}, format="json"
    )
    assert moved.status_code == 400
    assert Campaign.objects.get(pk=world.campaign_a.pk).organization == world.org_a
    own = client.post(url, {"name": "p", "organization": world.org_a.pk}, format="json")
    assert own.status_code == 201
    assert Campaign.objects.get(name="p").organization == world.org_a


def test_superuser_may_create_anywhere_only_with_the_opt_in(
    world: World, settings: SettingsWrapper
) -> None:
    client = client_for(world.root)
    body = {"name": "root's", "organization": world.org_b.pk}
    assert client.post(CAMPAIGNS, body, format="json").status_code == 400
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": PROFILE, "ORGANIZATION_SUPERUSER_SEES_ALL": True}
    assert client.post(CAMPAIGNS, body, format="json").status_code == 201
    assert Campaign.objects.get(name="root's").organization == world.org_b


def test_interactions_reached_through_the_campaign(world: World) -> None:
    client = client_for(world.alice)
    assert _ids(client.get("/scoping/interactions/")) == [world.interaction_a.pk]
    foreign = client.post(
        "/scoping/interactions/", {"campaign": world.campaign_b.pk, "note": "x"}, format="json"
    )
    assert foreign.status_code == 400
    assert "campaign" in foreign.json()
    own = client.post(
        "/scoping/interactions/", {"campaign": world.campaign_a.pk, "note": "y"}, format="json"
    )
    assert own.status_code == 201
    assert client.get(f"/scoping/interactions/{world.interaction_b.pk}/").status_code == 404
    assert VoterInteraction.objects.filter(note="x").count() == 0


def test_write_check_catches_a_row_moved_by_the_view(world: World) -> None:
    client = client_for(world.alice)
    url = "/scoping/unsafe-interactions/"
    own = client.patch(f"{url}{world.interaction_a.pk}/", {"note": "kept"}, format="json")
    assert own.status_code == 200
    body = {"campaign": world.campaign_b.pk, "note": "planted"}
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["non_field_errors"][0]
    assert not VoterInteraction.objects.filter(note="planted").exists()
    moved = client.patch(
        f"{url}{world.interaction_a.pk}/", {"campaign": world.campaign_b.pk}, format="json"
    )
    assert moved.status_code == 400
    world.interaction_a.refresh_from_db()
    assert world.interaction_a.campaign == world.campaign_a


def test_notifications_are_the_users_own(world: World) -> None:
    client = client_for(world.alice)
    listed = client.get("/scoping/notifications/").json()["results"]
    assert [n["message"] for n in listed] == ["for alice"]
    created = client.post("/scoping/notifications/", {"message": "note"}, format="json")
    assert created.status_code == 201
    assert Notification.objects.get(message="note").recipient == world.alice
    theirs = Notification.objects.get(recipient=world.bob)
    assert client.delete(f"/scoping/notifications/{theirs.pk}/").status_code == 404
    assert Notification.objects.filter(pk=theirs.pk).exists()


def test_mixin_refuses_an_unscoped_queryset(world: World) -> None:
    view = CampaignViewSet()
    view.queryset = Constituency.objects.all()  # type: ignore[assignment]
    view.request = APIRequestFactory().get("/")
    with pytest.raises(ImproperlyConfigured, match="not an OrganizationQuerySet"):
        view.get_queryset()


class _Fields(serializers.Serializer[Any]):
    plain = ScopedPrimaryKeyRelatedField(queryset=Constituency.objects.all())
    tag = ScopedPrimaryKeyRelatedField(queryset=Tag.objects.all())
    organization = UserOrganizationField(queryset=Organization.objects.all())


def test_scoped_fields_need_the_request(world: World) -> None:
    with pytest.raises(ImproperlyConfigured, match="request in the serializer context"):
        _Fields().fields["tag"].get_queryset()  # type: ignore[attr-defined]


def test_scoped_field_needs_an_organization_queryset(world: World) -> None:
    request = APIRequestFactory().get("/")
    request.user = world.alice  # type: ignore[attr-defined]
    field = _Fields(context={"request": request}).fields["plain"]
    with pytest.raises(ImproperlyConfigured, match="needs an OrganizationQuerySet"):
        field.get_queryset()  # type: ignore[attr-defined]


def test_user_organization_field_for_anonymous_and_superuser(
    world: World, settings: SettingsWrapper
) -> None:
    request = APIRequestFactory().get("/")

    def choices(user: object) -> list[str]:
        request.user = user  # type: ignore[attr-defined]
        field = _Fields(context={"request": request}).fields["organization"]
        return sorted(o.name for o in field.get_queryset())  # type: ignore[attr-defined]

    assert choices(AnonymousUser()) == []
    assert choices(world.carol) == ["A", "B"]
    assert choices(world.root) == []
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": PROFILE, "ORGANIZATION_SUPERUSER_SEES_ALL": True}
    assert choices(world.root) == ["A", "B"]


def _grow_campaigns(world: World) -> Callable[[int], None]:
    def grow(size: int) -> None:
        missing = size - Campaign.objects.filter(organization=world.org_a).count()
        for index in range(missing):
            campaign = Campaign.objects.create(
                organization=world.org_a, name=f"c{index}", created_by=world.alice,
                district=world.district_a, constituency=world.campaign_a.constituency,
            )  # fmt: skip
            campaign.tags.add(world.tag_a)
            VoterInteraction.objects.create(campaign=campaign, note=f"n{index}")
            Notification.objects.create(recipient=world.alice, message=f"m{index}")

    return grow


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # page + count + tags
        ("/scoping/campaigns/?page_size=100", 3),
        # page (campaign joined) + count
        ("/scoping/interactions/?page_size=100", 2),
        # page + count + interactions + tags + constituencies
        ("/scoping/campaign-interactions/?page_size=100", 5),
        # one cursor page, no count
        ("/scoping/notifications/?page_size=100", 1),
    ],
)
def test_list_queries_do_not_grow_with_rows(
    world: World, url: str, expected: int, assert_queries_do_not_grow: Callable[..., int]
) -> None:
    client = client_for(world.alice)

    def call() -> None:
        response = client.get(url)
        assert response.status_code == 200

    grow = _grow_campaigns(world)
    assert assert_queries_do_not_grow(call, setup=grow, sizes=(1, 20, 100)) == expected
    assert len(client.get(url).json()["results"]) == 100
