"""The N+1 guard: a list page costs the same number of queries whatever its size."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from campaigns.models import Constituency, District, VoterInteraction
from django.db import connection
from django.test.utils import CaptureQueriesContext
from notifications.models import Notification

from tests.support import client_for, make_campaign

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


def _get_ok(client: Any, url: str) -> Callable[[], None]:
    def call() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.content

    return call


def _campaigns(world: World, total: int) -> None:
    for i in range(total - len(world.a.campaigns)):
        campaign = make_campaign(
            world.a,
            status="draft",
            target_district=world.district,
            target_constituency=world.constituency,
            created_by=world.a.members[i % 3],
        )
        campaign.assigned_users.set(world.a.members[: 1 + i % 3])


def _interactions(world: World, total: int) -> None:
    campaign = world.a.campaigns[0]
    for i in range(total - campaign.interactions.count()):
        VoterInteraction.objects.create(
            campaign=campaign, volunteer=world.a.members[i % 3], kind="event"
        )


def _notifications(world: World, total: int) -> None:
    mine = Notification.objects.filter(recipient=world.a.volunteer)
    for _ in range(total - mine.count()):
        Notification.objects.create(
            recipient=world.a.volunteer, organization=world.a.organization, kind="system", title="t"
        )


def _districts(world: World, total: int) -> None:
    for i in range(District.objects.count(), total):
        district = District.objects.create(name=f"District {i}", code=f"D{i}")
        Constituency.objects.create(district=district, name=f"Constituency {i}")


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        ("/api/campaigns/", _campaigns),
        ("/api/campaigns/?status=draft&ordering=-vote_count", _campaigns),
        ("interactions", _interactions),
        ("/api/notifications/", _notifications),
        ("/api/districts/", _districts),
        ("/api/constituencies/", _districts),
    ],
)
def test_list_query_count_does_not_grow(
    world: World,
    url: str,
    grow: Callable[[World, int], None],
    assert_queries_do_not_grow: Callable[..., int],
) -> None:
    if url == "interactions":
        url = f"/api/campaigns/{world.a.campaigns[0].pk}/interactions/"
    client = client_for(world.a.volunteer)
    queries = assert_queries_do_not_grow(
        _get_ok(client, url), setup=lambda size: grow(world, size), sizes=(3, 20)
    )
    assert queries <= 5


@pytest.mark.parametrize("suffix", ["", "vote/"])
def test_detail_query_counts(world: World, suffix: str) -> None:
    campaign = world.a.campaigns[0]
    campaign.assigned_users.set(world.a.members)
    client = client_for(world.a.volunteer)
    method = client.post if suffix else client.get
    with CaptureQueriesContext(connection) as captured:
        response = method(f"/api/campaigns/{campaign.pk}/{suffix}")
    assert response.status_code == 200
    # profile, campaign (joined), assigned users; or profile, update, read back (+ savepoint).
    assert len(captured) <= 5


def test_profile_costs_one_query(world: World, django_assert_num_queries: Any) -> None:
    client = client_for(world.a.volunteer)
    with django_assert_num_queries(1):
        assert client.get("/api/auth/profile/").status_code == 200


def test_a_list_page_costs_three_queries_with_names_and_assigned_ids(world: World) -> None:
    """Profile, page, count: the creator joined, the assigned users' ids in the page query.

    The count counts the keys, without the assigned users' ids.
    """
    seeded = list(world.a.campaigns)
    for i, campaign in enumerate(seeded):
        campaign.assigned_users.set(world.a.members[: 2 + i])
    world.a.manager.first_name, world.a.manager.last_name = "Mara", "Lind"
    world.a.manager.save()
    named = make_campaign(world.a, created_by=world.a.manager)
    client = client_for(world.a.volunteer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/campaigns/?ordering=created_at")
    assert response.status_code == 200
    assert len(captured) == 3, [q["sql"] for q in captured]
    assert captured[2]["sql"].startswith("SELECT COUNT(*)")
    assert "ARRAY" not in captured[2]["sql"]
    rows = {row["id"]: row for row in response.json()["results"]}
    for i, campaign in enumerate(seeded):
        expected = sorted(member.pk for member in world.a.members[: 2 + i])
        assert rows[str(campaign.pk)]["assigned_users"] == expected
    assert rows[str(named.pk)]["assigned_users"] == []
    assert rows[str(named.pk)]["created_by_name"] == "Mara Lind"
    assert rows[str(named.pk)]["created_by"] == world.a.manager.pk


def test_a_campaign_reads_the_same_in_the_list_and_in_detail(world: World) -> None:
    campaign = world.a.campaigns[0]
    campaign.assigned_users.set([world.a.volunteer, world.a.admin])
    client = client_for(world.a.admin)
    listed = {row["id"]: row for row in client.get("/api/campaigns/").json()["results"]}
    with CaptureQueriesContext(connection) as captured:
        detail = client.get(f"/api/campaigns/{campaign.pk}/").json()
    assert len(captured) == 2  # profile, campaign (assigned ids included)
    assert detail == listed[str(campaign.pk)]
    # A write answers from the relation itself, so the new assignment shows at once.
    updated = client.patch(
        f"/api/campaigns/{campaign.pk}/", {"assigned_users": [world.a.manager.pk]}, format="json"
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["assigned_users"] == [world.a.manager.pk]
    assert client.get(f"/api/campaigns/{campaign.pk}/").json()["assigned_users"] == [
        world.a.manager.pk
    ]
