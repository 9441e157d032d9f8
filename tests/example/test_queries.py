"""The N+1 guard: a list page costs the same number of queries whatever its size."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from campaigns.models import VoterInteraction
from django.db import connection
from django.test.utils import CaptureQueriesContext
from notifications.models import Notification

from tests.example.conftest import client_for, make_campaign

if TYPE_CHECKING:
    from tests.example.conftest import World

pytestmark = pytest.mark.django_db


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def _grow_campaigns(world: World, n: int) -> None:
    for i in range(n):
        campaign = make_campaign(
            world.a,
            target_district=world.district,
            target_constituency=world.constituency,
            created_by=world.a.members[i % 3],
        )
        campaign.assigned_users.set(world.a.members[: 1 + i % 3])


def _grow_interactions(world: World, n: int) -> None:
    for i in range(n):
        VoterInteraction.objects.create(
            campaign=world.a.campaigns[0], volunteer=world.a.members[i % 3], kind="event"
        )


def _grow_notifications(world: World, n: int) -> None:
    for _ in range(n):
        Notification.objects.create(
            recipient=world.a.volunteer, organization=world.a.organization, kind="system", title="t"
        )


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        ("/api/campaigns/", _grow_campaigns),
        ("/api/campaigns/?status=draft&ordering=-vote_count", _grow_campaigns),
        ("interactions", _grow_interactions),
        ("/api/notifications/", _grow_notifications),
        ("/api/districts/", None),
        ("/api/constituencies/", None),
    ],
)
def test_list_query_count_does_not_grow(
    world: World, url: str, grow: Callable[[World, int], None] | None
) -> None:
    if url == "interactions":
        url = f"/api/campaigns/{world.a.campaigns[0].pk}/interactions/"
    client = client_for(world.a.volunteer)
    if grow is None:
        assert _queries(client, url) <= 3
        return
    grow(world, 2)
    small = _queries(client, url)
    grow(world, 15)
    large = _queries(client, url)
    assert small == large
    assert large <= 5


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
