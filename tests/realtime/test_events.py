from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest

from django_supahybrid.realtime import RealtimeEvent, channel_name, topic_name
from django_supahybrid.realtime.listen import Notification
from tests.testapp.models import RtNote


def _event(**overrides: object) -> RealtimeEvent:
    values: dict[str, object] = {
        "op": "INSERT",
        "model_label": "testapp.rtnote",
        "table": "testapp_rtnote",
        "pk": 7,
        "targets": {"user": 3, "organization": 2},
        "fields": {"title": "hi"},
    }
    values.update(overrides)
    return RealtimeEvent(**values)  # type: ignore[arg-type]


def test_topic_and_channel_names() -> None:
    assert topic_name(RtNote) == "supahybrid:testapp.rtnote"
    assert topic_name("TestApp.RtNote", "user", 5) == "supahybrid:testapp.rtnote:user:5"
    assert channel_name(RtNote, "organization", 9) == "supahybrid:testapp.rtnote:organization:9"


def test_long_channel_is_hashed_to_63_bytes_deterministically() -> None:
    target = uuid.UUID(int=1)
    topic = topic_name("someapp.averyveryverylongmodelname", "organization", target)
    channel = channel_name("someapp.averyveryverylongmodelname", "organization", target)
    assert len(topic.encode()) > 63
    assert len(channel.encode()) == 63
    assert channel.startswith("supahybrid:")
    assert channel == channel_name("someapp.averyveryverylongmodelname", "organization", target)
    assert channel != channel_name("someapp.averyveryverylongmodelname", "organization", 2)


@pytest.mark.parametrize(
    ("targets", "channel"),
    [
        ({"user": 3, "organization": 2}, "supahybrid:testapp.rtnote:user:3"),
        ({"user": None, "organization": 2}, "supahybrid:testapp.rtnote:organization:2"),
        ({"user": None, "organization": None}, "supahybrid:testapp.rtnote"),
        ({}, "supahybrid:testapp.rtnote"),
    ],
)
def test_most_specific_target_wins(targets: dict[str, object], channel: str) -> None:
    event = _event(targets=targets)
    assert event.channel == channel
    assert event.topic == channel


def test_encode_full_payload() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    event = _event(fields={"title": "été", "at": when, "amount": decimal.Decimal("1.50")})
    encoded = event.encode(7999)
    assert encoded.isascii()
    assert json.loads(encoded) == {
        "op": "INSERT",
        "model": "testapp.rtnote",
        "table": "testapp_rtnote",
        "pk": 7,
        "user": 3,
        "organization": 2,
        "fields": {"title": "été", "at": "2026-01-02T03:04:05Z", "amount": "1.50"},
    }


def test_encode_degrades_to_the_key_past_the_limit() -> None:
    event = _event(fields={"body": "x" * 8000})
    encoded = event.encode(7999)
    assert len(encoded.encode()) <= 7999
    data = json.loads(encoded)
    assert data == {**event.key(), "truncated": True}
    assert "fields" not in data


def test_encode_without_room_for_the_key_keeps_operation_and_model() -> None:
    event = _event(pk="k" * 100)
    encoded = event.encode(80)
    assert json.loads(encoded) == {"op": "INSERT", "model": "testapp.rtnote", "truncated": True}


def test_notification_data() -> None:
    assert Notification("c", '{"a": 1}', 1).data == {"a": 1}
    assert Notification("c", "plain text", 1).data is None
