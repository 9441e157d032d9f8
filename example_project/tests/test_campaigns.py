"""The campaign endpoints within one organization: listing, writing, roles, votes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from campaigns.models import Campaign, VoterInteraction
from notifications.models import Notification
from rest_framework.test import APIClient

from tests.support import client_for, make_campaign

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


def test_anonymous_is_refused(world: World) -> None:
    response = APIClient().get("/api/campaigns/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_list_is_paginated_and_shows_the_fields(world: World) -> None:
    response = client_for(world.a.volunteer).get("/api/campaigns/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    ids = {row["id"] for row in body["results"]}
    assert ids == {str(c.pk) for c in world.a.campaigns}
    row = body["results"][0]
    assert {
        "id",
        "name",
        "status",
        "vote_count",
        "created_by_name",
        "target_district",
        "target_constituency",
        "assigned_users",
    } <= set(row)
    assert row["created_by_name"] == "admin@orga.test"


def test_list_pages_are_bounded(world: World) -> None:
    for _ in range(25):
        make_campaign(world.a)
    client = client_for(world.a.admin)
    first = client.get("/api/campaigns/").json()
    assert first["count"] == 27
    assert len(first["results"]) == 20
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 7
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    # StandardPagination lowers a page size above the maximum (100) to it.
    clamped = client.get("/api/campaigns/?page_size=1000").json()
    assert (len(clamped["results"]), clamped["page_size"]) == (27, 100)
    assert len(client.get("/api/campaigns/?page_size=5").json()["results"]) == 5


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("page=0", 400, "page"),
        ("page=last", 400, "page"),
        ("page_size=0", 400, "page_size"),
        ("page_size=abc", 400, "page_size"),
        ("page=9", 404, None),
    ],
)
def test_bad_pages_are_answered_with_a_message(
    world: World, query: str, status: int, field: str | None
) -> None:
    response = client_for(world.a.volunteer).get(f"/api/campaigns/?{query}")
    assert response.status_code == status
    body = response.json()
    assert body["detail"]
    if field is not None:
        assert field in body["errors"]


def test_list_filters_by_status_and_district(world: World) -> None:
    client = client_for(world.a.volunteer)
    active = client.get("/api/campaigns/?status=active").json()["results"]
    assert [r["status"] for r in active] == ["active"]
    north = client.get(f"/api/campaigns/?district={world.district.pk}").json()["results"]
    assert [r["target_district"] for r in north] == [world.district.pk]
    none = client.get(f"/api/campaigns/?status=draft&district={world.district.pk}").json()
    assert none["count"] == 0


def test_list_orders_by_the_allowed_fields(world: World) -> None:
    Campaign.objects.filter(pk=world.a.campaigns[0].pk).update(vote_count=5, name="Zulu")
    Campaign.objects.filter(pk=world.a.campaigns[1].pk).update(vote_count=9, name="Alpha")
    client = client_for(world.a.volunteer)
    by_votes = client.get("/api/campaigns/?ordering=-vote_count").json()["results"]
    assert [r["vote_count"] for r in by_votes] == [9, 5]
    by_name = client.get("/api/campaigns/?ordering=name").json()["results"]
    assert [r["name"] for r in by_name] == ["Alpha", "Zulu"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("district=abc", "district"),
        ("constituency=1.5", "constituency"),
        ("ordering=password", "ordering"),
        ("ordering=-organization__name", "ordering"),
    ],
)
def test_bad_query_parameters_are_a_400(world: World, query: str, field: str) -> None:
    response = client_for(world.a.admin).get(f"/api/campaigns/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response.json()["detail"]


def test_create_with_just_a_name(world: World) -> None:
    response = client_for(world.a.manager).post(
        "/api/campaigns/", {"name": "Spring"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.organization == world.a.organization
    assert campaign.created_by == world.a.manager
    assert body["status"] == "draft"
    assert body["vote_count"] == 0
    assert body["created_by_name"] == "manager@orga.test"
    assert body["organization"] == str(world.a.organization.pk)


def test_create_with_every_field(world: World) -> None:
    payload = {
        "name": "Harbour push",
        "description": "Door to door.",
        "status": "active",
        "target_constituency": world.constituency.pk,
        "assigned_users": [world.a.volunteer.pk, world.a.manager.pk],
    }
    response = client_for(world.a.admin).post("/api/campaigns/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    # The district follows from the constituency.
    assert body["target_district"] == world.district.pk
    assert sorted(body["assigned_users"]) == sorted([world.a.volunteer.pk, world.a.manager.pk])


def test_create_rejects_a_constituency_outside_the_district(world: World) -> None:
    payload = {
        "name": "Mismatch",
        "target_district": world.district.pk,
        "target_constituency": world.other_constituency.pk,
    }
    response = client_for(world.a.admin).post("/api/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert "target_constituency" in response.json()["errors"]


@pytest.mark.parametrize("field", ["vote_count", "organization", "created_by", "id", "owner"])
def test_create_rejects_read_only_and_unknown_fields(world: World, field: str) -> None:
    payload = {"name": "Sneaky", field: 1000}
    response = client_for(world.a.admin).post("/api/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Campaign.objects.filter(name="Sneaky").exists()


def test_a_user_without_an_organization_gets_403(world: World) -> None:
    client = client_for(world.loner)
    response = client.post("/api/campaigns/", {"name": "Nowhere"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "You do not belong to an organization."
    assert client.get("/api/campaigns/").status_code == 403
    assert not Campaign.objects.filter(name="Nowhere").exists()


def test_a_user_without_a_profile_gets_403(world: World) -> None:
    from django.contrib.auth import get_user_model

    stranger = get_user_model().objects.create(username="stranger")
    assert client_for(stranger).get("/api/campaigns/").status_code == 403


@pytest.mark.parametrize(
    ("role", "create", "update", "delete"),
    [
        ("admin", 201, 200, 204),
        ("manager", 201, 200, 403),
        ("volunteer", 403, 403, 403),
    ],
)
def test_role_rules(world: World, role: str, create: int, update: int, delete: int) -> None:
    client = client_for(getattr(world.a, role))
    campaign = world.a.campaigns[0]
    url = f"/api/campaigns/{campaign.pk}/"
    assert client.post("/api/campaigns/", {"name": "New"}, format="json").status_code == create
    assert client.patch(url, {"name": "Renamed"}, format="json").status_code == update
    put = client.put(url, {"name": "Replaced", "status": "paused"}, format="json")
    assert put.status_code == update
    assert client.get(url).status_code == 200
    assert client.post(f"{url}vote/").status_code == 200
    assert client.post(f"{url}interactions/", {"kind": "event"}, format="json").status_code == 201
    assert client.delete(url).status_code == delete
    assert Campaign.objects.filter(pk=campaign.pk).exists() is (delete != 204)


def test_retrieve_update_delete(world: World) -> None:
    client = client_for(world.a.admin)
    campaign = world.a.campaigns[0]
    url = f"/api/campaigns/{campaign.pk}/"
    assert client.get(url).json()["name"] == campaign.name
    patched = client.patch(url, {"description": "More"}, format="json")
    assert patched.json()["description"] == "More"
    assert patched.json()["name"] == campaign.name
    put = client.put(url, {"name": "Whole"}, format="json")
    assert put.status_code == 200
    assert put.json()["name"] == "Whole"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_unknown_and_malformed_ids_are_404(world: World) -> None:
    client = client_for(world.a.admin)
    for pk in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "123"):
        for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "vote/")):
            response = getattr(client, method)(f"/api/campaigns/{pk}/{suffix}", {}, format="json")
            assert response.status_code == 404, (method, pk)
            assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_vote_answers_the_new_count(world: World) -> None:
    campaign = world.a.campaigns[0]
    client = client_for(world.a.volunteer)
    assert client.post(f"/api/campaigns/{campaign.pk}/vote/").json() == {"vote_count": 1}
    assert client.post(f"/api/campaigns/{campaign.pk}/vote/").json() == {"vote_count": 2}
    campaign.refresh_from_db()
    assert campaign.vote_count == 2


def test_interactions_list_and_create(world: World) -> None:
    campaign = world.a.campaigns[0]
    client = client_for(world.a.volunteer)
    url = f"/api/campaigns/{campaign.pk}/interactions/"
    assert client.get(url).json()["count"] == 0
    created = client.post(url, {"kind": "door_knock", "notes": "Friendly."}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["volunteer"] == world.a.volunteer.pk
    assert created.json()["volunteer_name"] == "volunteer@orga.test"
    assert created.json()["campaign"] == str(campaign.pk)
    client.post(url, {"kind": "phone_call"}, format="json")
    listed = client.get(url).json()
    assert listed["count"] == 2
    assert [r["kind"] for r in listed["results"]] == ["phone_call", "door_knock"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"kind": "carrier_pigeon"}, {"kind": "event", "volunteer": 1}, {"kind": ["event"]}],
)
def test_interactions_reject_bad_bodies(world: World, payload: dict[str, object]) -> None:
    url = f"/api/campaigns/{world.a.campaigns[0].pk}/interactions/"
    response = client_for(world.a.volunteer).post(url, payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not VoterInteraction.objects.exists()


def test_creating_a_campaign_notifies_every_other_member(world: World) -> None:
    response = client_for(world.a.manager).post("/api/campaigns/", {"name": "Fall"}, format="json")
    assert response.status_code == 201
    notified = Notification.objects.filter(kind="campaign_created")
    assert {n.recipient for n in notified} == {world.a.admin, world.a.volunteer}
    assert {n.organization for n in notified} == {world.a.organization}
    assert all("Fall" in n.title for n in notified)


def test_a_status_change_notifies_the_assigned_users(world: World) -> None:
    campaign = world.a.campaigns[0]
    campaign.assigned_users.set([world.a.volunteer, world.a.manager])
    client = client_for(world.a.manager)
    url = f"/api/campaigns/{campaign.pk}/"
    client.patch(url, {"description": "no status change"}, format="json")
    assert not Notification.objects.exists()
    client.patch(url, {"status": "paused"}, format="json")
    notified = Notification.objects.filter(kind="campaign_status_changed")
    # The manager made the change and is not told about it.
    assert [n.recipient for n in notified] == [world.a.volunteer]
    assert "paused" in notified[0].title


def test_assigned_users_must_be_members(world: World) -> None:
    url = f"/api/campaigns/{world.a.campaigns[0].pk}/"
    response = client_for(world.a.admin).patch(
        url, {"assigned_users": [world.b.volunteer.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "assigned_users" in response.json()["errors"]
    assert not world.a.campaigns[0].assigned_users.exists()


def test_create_answers_the_new_campaigns_location(world: World) -> None:
    client = client_for(world.a.manager)
    response = client.post("/api/campaigns/", {"name": "Located"}, format="json")
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver/api/campaigns/{response.json()['id']}/"
    assert client.get(response["Location"]).json()["name"] == "Located"


def test_a_name_of_the_longest_length_is_created_and_announced(world: World) -> None:
    name = "N" * Campaign._meta.get_field("name").max_length  # type: ignore[operator]
    client = client_for(world.a.manager)
    response = client.post("/api/campaigns/", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == name
    created = Notification.objects.filter(kind="campaign_created")
    assert created.count() == 2
    for notification in created:
        assert len(notification.title) == 200
        assert notification.title.startswith("New campaign: NNN")
        assert notification.title.endswith("\u2026")
        assert notification.body == f"{name} was created."
    campaign = Campaign.objects.get(pk=response.json()["id"])
    campaign.assigned_users.set([world.a.volunteer])
    url = f"/api/campaigns/{campaign.pk}/"
    assert client.patch(url, {"status": "active"}, format="json").status_code == 200
    [changed] = Notification.objects.filter(kind="campaign_status_changed")
    assert len(changed.title) == 200
    assert changed.title.startswith("NNN")
