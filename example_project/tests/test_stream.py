"""``GET /api/notifications/stream/`` in process: own new notifications only, clean close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from notifications.models import Notification
from notifications.stream import event_frame
from rest_framework.test import APIClient

from tests.support import client_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.support import World

STREAM = "/api/notifications/stream/"


def listeners() -> int:
    """Open connections of the stream's listeners to this test database.

    Only this database: other test runs on the same server may hold streams of their own.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            ["example-notification-stream"],
        )
        (count,) = cursor.fetchone()
    return int(count)


def next_event(chunks: Iterator[bytes]) -> str:
    """The next ``event:`` frame, skipping keep-alive comments."""
    for chunk in chunks:
        text = chunk.decode()
        if not text.startswith(":"):
            return text
    raise AssertionError("the stream ended")


def _notify(user: Any, world: World, title: str) -> Notification:
    return Notification.objects.create(
        recipient=user, organization=world.a.organization, kind="system", title=title
    )


@pytest.mark.django_db(transaction=True)
def test_the_stream_carries_the_callers_new_notifications_only(world: World, settings: Any) -> None:
    settings.NOTIFICATION_STREAM_KEEPALIVE = 0.2
    _notify(world.a.volunteer, world, "before")  # not new: never streamed
    response: Any = client_for(world.a.volunteer).get(STREAM, HTTP_ACCEPT="text/event-stream")
    try:
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["Cache-Control"] == "no-cache"
        chunks = iter(response.streaming_content)
        assert next(chunks).startswith(b": stream open")
        assert listeners() == 1
        _notify(world.a.admin, world, "colleague's")  # same organization, another user
        mine = _notify(world.a.volunteer, world, "yours")
        mine.is_read = True
        mine.save()  # an UPDATE: not a new notification
        again = _notify(world.a.volunteer, world, "yours again")
        assert next_event(chunks) == (
            f"id: {mine.pk}\nevent: notification\n"
            f'data: {{"id": "{mine.pk}", "kind": "system", "title": "yours"}}\n\n'
        )
        assert next_event(chunks).startswith(f"id: {again.pk}\n")
        # Idle: keep-alive comments.
        assert next(chunks) == b": keep-alive\n\n"
    finally:
        response.close()  # what the server does when the client goes away
    assert listeners() == 0


@pytest.mark.django_db(transaction=True)
def test_a_stream_closed_before_it_started_closes_its_listener(world: World) -> None:
    response: Any = client_for(world.a.volunteer).get(STREAM)
    try:
        assert listeners() == 1
    finally:
        response.close()
    assert listeners() == 0


@pytest.mark.django_db
def test_the_stream_needs_a_caller(world: World) -> None:
    response = APIClient().get(STREAM, HTTP_ACCEPT="text/event-stream")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert listeners() == 0


@pytest.mark.django_db
def test_head_is_refused(world: World) -> None:
    assert client_for(world.a.volunteer).head(STREAM).status_code == 405


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        {"op": "UPDATE", "pk": "x", "fields": {}},
        {"op": "DELETE", "pk": "x"},
    ],
)
def test_only_inserts_become_events(data: object) -> None:
    assert event_frame(data) is None


def test_a_truncated_event_still_carries_the_id() -> None:
    frame = event_frame({"op": "INSERT", "pk": "abc", "truncated": True})
    assert frame == 'id: abc\nevent: notification\ndata: {"id": "abc"}\n\n'
