"""Broadcast never loses a message silently: realtime.messages' partitions, send()'s warnings."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterator

import pytest
from django.core.checks import Warning
from django.db import connection
from django.test import override_settings

from django_supahybrid import _ratelimit
from django_supahybrid.checks.realtime import check_realtime_partitions
from django_supahybrid.monitoring import metrics
from django_supahybrid.realtime import channel_name, listen, storage
from django_supahybrid.testing.supabase import (
    install_realtime_test_schema,
    install_supabase_test_schema,
    uninstall_realtime_test_schema,
)
from tests.support.realtime import drain
from tests.testapp.models import RtNote, RtOrganization

pytestmark = pytest.mark.django_db(transaction=True)

LOST = metrics.REALTIME_BROADCAST_LOST
MISSING = metrics.REALTIME_PARTITION_MISSING


@pytest.fixture(autouse=True)
def realtime_schema() -> Iterator[None]:
    install_supabase_test_schema()
    install_realtime_test_schema()
    storage.reset()
    metrics.reset()
    _ratelimit.reset()
    yield
    uninstall_realtime_test_schema()


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _today() -> datetime.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (now() AT TIME ZONE 'UTC')::date")
        day: datetime.date = cursor.fetchone()[0]
    return day


def _partition(day: datetime.date) -> str:
    return f"realtime.messages_{day:%Y_%m_%d}"


def _stored() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM realtime.messages")
        count: int = cursor.fetchone()[0]
    return count


def test_the_schema_is_partitioned_like_supabases() -> None:
    today = _today()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'realtime.messages'::regclass ORDER BY 1"
        )
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'messages'")
        assert cursor.fetchone() == ("supabase_realtime_admin",)
        cursor.execute("SELECT realtime.send('{\"a\": 1}', 'E', 't', false)")
        cursor.execute("SELECT payload::text FROM realtime.messages")
        [(text,)] = cursor.fetchall()
    payload = json.loads(text)
    days = [today + datetime.timedelta(days=n) for n in range(-1, 4)]
    assert names == [f"messages_{day:%Y_%m_%d}" for day in days]
    assert payload["a"] == 1
    assert len(payload["id"]) == 36  # send() adds the message's id
    assert storage.missing_partitions(connection) == []
    assert storage.watch_partitions(connection) == []  # looked, and found every day


def test_missing_partition_is_counted_logged_and_the_rest_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="django_supahybrid.realtime")
    today = _today()
    _execute(f"DROP TABLE {_partition(today)}")
    org = RtOrganization.objects.create(name="A")
    with listen(channel_name(RtNote, "organization", org.pk), timeout=0.3) as listener:
        note = RtNote.objects.create(organization=org, title="saved")
        assert [n.data["pk"] for n in drain(listener)] == [note.pk]  # NOTIFY still goes
    assert RtNote.objects.filter(pk=note.pk).exists()
    assert _stored() == 0  # send() only warned
    assert metrics.snapshot()[LOST] == 1
    assert metrics.snapshot()[MISSING] == 1
    lost = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
    assert len(lost) == 1
    assert "1 of 1 Broadcast message(s) on database 'default' were not stored" in lost[0]
    assert "ErrorSendingBroadcastMessage: no partition of relation" in lost[0]
    assert any(f"has no partition for {today}" in r.getMessage() for r in caplog.records)
    [warning] = check_realtime_partitions(databases=["default"])
    assert isinstance(warning, Warning)
    assert warning.id == "supahybrid.W062"
    assert f"no partition for {today.isoformat()}" in warning.msg

    RtNote.objects.create(organization=org)  # lost too: counted, logged at most once a minute
    assert metrics.snapshot()[LOST] == 2
    assert metrics.snapshot()[MISSING] == 1  # not looked at again before the interval
    assert len([r for r in caplog.records if "not stored" in r.getMessage()]) == 1

    install_realtime_test_schema()  # the Realtime server catches up
    RtNote.objects.create(organization=org)
    assert _stored() == 1
    assert metrics.snapshot()[LOST] == 2
    assert check_realtime_partitions(databases=["default"]) == []


def test_tomorrow_is_watched_too_and_the_interval_can_turn_watching_off() -> None:
    tomorrow = _today() + datetime.timedelta(days=1)
    _execute(f"DROP TABLE {_partition(tomorrow)}")
    with override_settings(SUPAHYBRID={"REALTIME_PARTITION_CHECK_INTERVAL": 0}):
        assert storage.watch_partitions(connection) == []
    assert MISSING not in metrics.snapshot()
    assert storage.watch_partitions(connection) == [tomorrow]
    assert storage.watch_partitions(connection) == []  # within the interval
    assert metrics.snapshot()[MISSING] == 1


def test_a_default_partition_or_open_ranges_cover_every_day() -> None:
    today = _today()
    _execute(f"DROP TABLE {_partition(today)}")
    _execute("CREATE TABLE realtime.messages_default PARTITION OF realtime.messages DEFAULT")
    assert storage.missing_partitions(connection) == []
    _execute("DROP TABLE realtime.messages_default")
    for offset in range(-1, 4):
        _execute(f"DROP TABLE IF EXISTS {_partition(today + datetime.timedelta(days=offset))}")
    _execute(
        "CREATE TABLE realtime.messages_before PARTITION OF realtime.messages "
        f"FOR VALUES FROM (MINVALUE) TO ('{today}')"
    )
    assert storage.missing_partitions(connection, days=3) == [
        today + datetime.timedelta(days=n) for n in range(3)
    ]
    _execute(
        "CREATE TABLE realtime.messages_after PARTITION OF realtime.messages "
        f"FOR VALUES FROM ('{today}') TO (MAXVALUE)"
    )
    assert storage.missing_partitions(connection, days=3) == []


def test_nothing_to_watch_without_a_partitioned_table() -> None:
    uninstall_realtime_test_schema()
    assert storage.missing_partitions(connection) == []
    _execute("CREATE SCHEMA realtime")
    _execute("CREATE TABLE realtime.messages (id int)")
    assert storage.missing_partitions(connection) == []


@pytest.mark.parametrize(
    "conf",
    [
        {"REALTIME_TRANSPORTS": ["django_supahybrid.realtime.transports.NotifyTransport"]},
        {"REALTIME_TRANSPORTS": ["nowhere.Transport"]},  # supahybrid.E040 says so
        {"NO_SUCH_KEY": 1},  # supahybrid.E001 says so
    ],
)
def test_partition_check_needs_broadcast(conf: dict[str, object]) -> None:
    _execute(f"DROP TABLE {_partition(_today())}")
    with override_settings(SUPAHYBRID=conf):
        assert check_realtime_partitions(databases=["default"]) == []


def test_server_warnings_keeps_warnings_only() -> None:
    with connection.cursor() as cursor, storage.server_warnings(connection) as warnings:
        cursor.execute("DO $$ BEGIN RAISE NOTICE 'a notice'; RAISE WARNING 'a warning'; END $$")
    assert warnings == ["a warning"]
