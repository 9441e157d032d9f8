"""The notification feed: own, newest first, cursor-paginated; marking read."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from notifications.models import Notification

from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


def _notifications(world: World, count: int) -> list[Notification]:
    now = timezone.now()
    made = Notification.objects.bulk_create(
        Notification(
            recipient=world.a.volunteer,
            organization=world.a.organization,
            kind="system",
            title=f"N{i}",
        )
        for i in range(count)
    )
    for i, notification in enumerate(made):
        Notification.objects.filter(pk=notification.pk).update(
            created_at=now - timedelta(minutes=count - i)
        )
    return made


def test_feed_is_newest_first_and_cursor_paginated(world: World) -> None:
    _notifications(world, 25)
    client = client_for(world.a.volunteer)
    first = client.get("/api/notifications/").json()
    assert set(first) == {"next", "previous", "results"}
    assert [r["title"] for r in first["results"]] == [f"N{i}" for i in range(24, 4, -1)]
    second = client.get(first["next"]).json()
    assert [r["title"] for r in second["results"]] == [f"N{i}" for i in range(4, -1, -1)]
    assert second["next"] is None
    assert {"id", "kind", "title", "body", "is_read", "created_at"} <= set(first["results"][0])
    assert len(client.get("/api/notifications/?page_size=500").json()["results"]) == 25


def test_bad_cursor_is_a_404_with_a_message(world: World) -> None:
    response = client_for(world.a.volunteer).get("/api/notifications/?cursor=garbage")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_read_one(world: World) -> None:
    target, other = _notifications(world, 2)
    client = client_for(world.a.volunteer)
    response = client.post(f"/api/notifications/{target.pk}/read/")
    assert response.status_code == 200
    assert response.json()["is_read"] is True
    assert response.json()["id"] == str(target.pk)
    target.refresh_from_db()
    other.refresh_from_db()
    assert target.is_read
    assert not other.is_read
    # Again: still 200, still read.
    assert client.post(f"/api/notifications/{target.pk}/read/").json()["is_read"] is True


def test_read_all(world: World) -> None:
    _notifications(world, 3)
    client = client_for(world.a.volunteer)
    assert client.post("/api/notifications/read-all/").json() == {"updated": 3}
    assert client.post("/api/notifications/read-all/").json() == {"updated": 0}
    assert not Notification.objects.filter(is_read=False).exists()


def test_read_unknown_or_malformed_is_404(world: World) -> None:
    client = client_for(world.a.volunteer)
    for pk in ("00000000-0000-0000-0000-000000000000", "nope"):
        response = client.post(f"/api/notifications/{pk}/read/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_anonymous_has_no_feed(world: World) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get("/api/notifications/").status_code in (401, 403)
    assert APIClient().post("/api/notifications/read-all/").status_code in (401, 403)
