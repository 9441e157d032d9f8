"""Notifications reach their recipient's realtime channel after commit, and only theirs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.db import transaction
from notifications.models import Notification

from django_supahybrid.realtime import channel_name, listen
from tests.support import client_for, drain, payloads

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db(transaction=True)


def _channel(user: object) -> str:
    return channel_name(Notification, "user", user.pk)  # type: ignore[attr-defined]


def test_a_new_campaign_is_published_to_each_notified_member(world: World) -> None:
    a = world.a
    with (
        listen(_channel(a.volunteer), timeout=0.5) as volunteer,
        listen(_channel(a.manager), timeout=0.5) as manager,
        listen(_channel(world.b.volunteer), timeout=0.5) as outsider,
    ):
        response = client_for(a.admin).post("/api/campaigns/", {"name": "Live"}, format="json")
        assert response.status_code == 201
        received = payloads(drain(volunteer))
        stored = Notification.objects.get(recipient=a.volunteer)
        assert received == [
            {
                "op": "INSERT",
                "model": "notifications.notification",
                "table": "notifications_notification",
                "pk": str(stored.pk),
                "user": a.volunteer.pk,
                "organization": str(a.organization.pk),
                "fields": {"id": str(stored.pk), "kind": "campaign_created", "title": stored.title},
            }
        ]
        assert [d["user"] for d in payloads(drain(manager))] == [a.manager.pk]
        # The creator is not notified, and another organization hears nothing.
        assert drain(outsider) == []


def test_a_status_change_is_published_to_the_assigned_users(world: World) -> None:
    campaign = world.a.campaigns[0]
    campaign.assigned_users.set([world.a.volunteer])
    with listen(_channel(world.a.volunteer), timeout=0.5) as listener:
        url = f"/api/campaigns/{campaign.pk}/"
        assert client_for(world.a.admin).patch(url, {"status": "paused"}, "json").status_code == 200
        [event] = payloads(drain(listener))
        assert event["fields"]["kind"] == "campaign_status_changed"


def _create_then_fail(world: World) -> None:
    with transaction.atomic():
        client_for(world.a.admin).post("/api/campaigns/", {"name": "Undone"}, format="json")
        assert Notification.objects.filter(recipient=world.a.volunteer).exists()
        raise RuntimeError("roll back")


def test_nothing_is_published_for_a_rolled_back_change(world: World) -> None:
    with listen(_channel(world.a.volunteer), timeout=0.5) as listener:
        with pytest.raises(RuntimeError, match="roll back"):
            _create_then_fail(world)
        assert drain(listener) == []
        assert not Notification.objects.exists()


def test_marking_read_publishes_an_update(world: World) -> None:
    notification = Notification.objects.create(
        recipient=world.a.volunteer, organization=world.a.organization, kind="system", title="T"
    )
    with listen(_channel(world.a.volunteer), timeout=0.5) as listener:
        client = client_for(world.a.volunteer)
        assert client.post(f"/api/notifications/{notification.pk}/read/").status_code == 200
        assert [d["op"] for d in payloads(drain(listener))] == ["UPDATE"]
