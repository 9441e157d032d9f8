"""Helpers shared by the realtime tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from django_supahybrid.realtime import Listener, Notification
from tests.testapp.models import RtMember, RtOrganization, RtUser

_names = itertools.count()


def drain(listener: Listener, *, limit: int | None = None) -> list[Notification]:
    """Every notification until the listener is idle for its timeout (or ``limit`` came)."""
    received: list[Notification] = []
    for notification in listener:
        if notification is None:
            return received
        received.append(notification)
        if limit is not None and len(received) >= limit:
            return received
    raise AssertionError("unreachable: a listener never ends")  # pragma: no cover


def payloads(notifications: list[Notification]) -> list[dict[str, Any]]:
    return [n.data for n in notifications]


def member(organization: RtOrganization) -> tuple[Any, RtMember]:
    """A new user in ``organization`` with a Supabase user id."""
    user = RtUser.objects.create(name=f"user{next(_names)}")
    return user, RtMember.objects.create(
        user=user, organization=organization, supabase_id=uuid.uuid4()
    )
