"""``listen()``: reconnects, bursts, keep-alives, errors, and the management command."""

from __future__ import annotations

import io
import threading
import time
from collections import defaultdict

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import override_settings

from django_supahybrid.realtime import (
    TransactionPoolerError,
    channel_name,
    is_transaction_pooler,
    listen,
    publish,
)
from tests.support import pgtools
from tests.support.realtime import drain, member, payloads
from tests.testapp.models import RtNote, RtOrganization

pytestmark = pytest.mark.django_db(transaction=True)


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)


def test_listener_survives_a_terminated_backend(caplog: pytest.LogCaptureFixture) -> None:
    org = RtOrganization.objects.create(name="A")
    channel = channel_name(RtNote, "organization", org.pk)
    with listen(channel, timeout=0.3, reconnect_delay=0.05) as listener:
        RtNote.objects.create(organization=org, title="before")
        assert [d["fields"]["title"] for d in payloads(drain(listener))] == ["before"]
        old_pid = listener.backend_pid
        _terminate(old_pid)
        assert drain(listener) == []  # reconnects and listens again, then idles
        assert listener.backend_pid != old_pid
        RtNote.objects.create(organization=org, title="after")
        assert [d["fields"]["title"] for d in payloads(drain(listener))] == ["after"]
    assert "LISTEN connection lost" in caplog.text
    assert "reconnected after 1 attempt(s)" in caplog.text


def test_reconnect_gives_up_after_max_attempts() -> None:
    name = f"{connection.settings_dict['NAME']}_gone"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections["rt_gone"] = PostgresWrapper(
        {**connection.settings_dict, "NAME": name}, alias="rt_gone"
    )
    try:
        listener = listen("anything", using="rt_gone", timeout=0.2, reconnect_delay=0.01,
                          max_reconnect_attempts=3)  # fmt: skip
        with listener, connection.cursor() as cursor:
            # Dropping the database terminates the listener's session; reconnecting fails.
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            with pytest.raises(psycopg.OperationalError, match=name):
                next(listener)
    finally:
        del connections["rt_gone"]


def test_timeout_yields_none_and_checks_the_connection() -> None:
    with listen("idle-channel", timeout=0.1) as listener:
        started = time.monotonic()
        assert next(listener) is None
        assert next(listener) is None
        assert 0.2 <= time.monotonic() - started < 2
        # An event arriving resets the idle clock; plain NOTIFY payloads are passed through.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify('idle-channel', 'plain')")
        notification = next(listener)
        assert notification is not None
        assert (notification.channel, notification.payload) == ("idle-channel", "plain")
        assert notification.data is None


def test_listeners_in_threads_are_independent() -> None:
    org = RtOrganization.objects.create(name="A")
    users = [member(org)[0] for _ in range(4)]
    results: dict[int, list[str]] = {}
    ready = threading.Barrier(len(users) + 1)

    def consume(user_id: int) -> None:
        with listen(channel_name(RtNote, "user", user_id), timeout=0.5) as listener:
            ready.wait()
            results[user_id] = [d["fields"]["title"] for d in payloads(drain(listener))]

    threads = [threading.Thread(target=consume, args=(u.pk,)) for u in users]
    for thread in threads:
        thread.start()
    ready.wait()
    for user in users:
        RtNote.objects.create(recipient=user, title=f"to {user.pk}")
    for thread in threads:
        thread.join(timeout=30)
    assert results == {u.pk: [f"to {u.pk}"] for u in users}


def test_burst_of_10000_arrives_exactly_once_in_order_per_channel() -> None:
    org = RtOrganization.objects.create(name="A")
    users = [member(org)[0] for _ in range(4)]
    channels = {channel_name(RtNote, "user", u.pk): u.pk for u in users}
    total = 10_000
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for batch in range(10):
                numbers = range(batch * total // 10, (batch + 1) * total // 10)
                with transaction.atomic():
                    notes = RtNote.objects.bulk_create(
                        RtNote(recipient=users[n % 4], title=str(n)) for n in numbers
                    )
                    publish(notes, "INSERT")  # the same after-commit path as save()
        except BaseException as exc:  # pragma: no cover  (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    received: dict[str, list[int]] = defaultdict(list)
    count = 0
    with listen(list(channels), timeout=1) as listener:
        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 120
        for notification in listener:
            if notification is not None:
                received[notification.channel].append(notification.data["pk"])
                count += 1
            elif count >= total or not producer.is_alive() or time.monotonic() > deadline:
                break  # idle for a second with everything in, or the producer gave up
        producer.join(timeout=60)
        assert drain(listener) == []  # nothing more, nothing twice
    assert errors == []
    assert sum(map(len, received.values())) == total
    assert set(received) == set(channels)
    for channel, pks in received.items():
        assert pks == sorted(pks), f"out of order on {channel}"
        assert len(set(pks)) == len(pks) == total // 4
    stored = set(RtNote.objects.values_list("pk", flat=True))
    assert {pk for pks in received.values() for pk in pks} == stored


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_listen_database_setting() -> None:
    with (
        override_settings(SUPAHYBRID={"REALTIME_LISTEN_DATABASE": "other"}),
        listen("c", timeout=0.1) as listener,
        connections["other"].cursor() as cursor,
    ):
        cursor.execute("SELECT current_database()")
        other_db = cursor.fetchone()[0]
        cursor.execute(
            "SELECT datname FROM pg_stat_activity WHERE pid = %s", [listener.backend_pid]
        )
        assert cursor.fetchone() == (other_db,)
        assert other_db.endswith("_other")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"PORT": "6543"}, True),
        ({"PORT": 6543}, True),
        ({"PORT": "5432", "SUPAHYBRID": {"MODE": "transaction"}}, True),
        ({"PORT": "5432", "SUPAHYBRID": {"MODE": "session"}}, False),
        ({"HOST": "aws-0-eu-west-1.pooler.supabase.com", "PORT": "6543"}, True),
        ({"PORT": ""}, False),
        ({}, False),
    ],
)
def test_is_transaction_pooler(entry: dict[str, object], expected: bool) -> None:
    assert is_transaction_pooler(entry) is expected


def test_transaction_pooler_is_refused_clearly() -> None:
    connections["rt_pooler"] = PostgresWrapper(
        {**connection.settings_dict, "PORT": "6543"}, alias="rt_pooler"
    )
    try:
        with pytest.raises(TransactionPoolerError, match="transaction-mode pooler") as info:
            listen("c", using="rt_pooler")
    finally:
        del connections["rt_pooler"]
    assert "session-mode pooler" in str(info.value)
    assert isinstance(info.value, ImproperlyConfigured)


def test_other_vendor_is_refused_clearly() -> None:
    connections["rt_sqlite"] = SQLiteWrapper(
        {**connection.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        alias="rt_sqlite",
    )
    try:
        with pytest.raises(ImproperlyConfigured, match="LISTEN needs PostgreSQL"):
            listen("c", using="rt_sqlite")
    finally:
        pgtools.forget_sqlite("rt_sqlite")


def test_a_failing_listen_closes_its_connection() -> None:
    def listeners() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rt-bad'"
            )
            return int(cursor.fetchone()[0])

    with pytest.raises(psycopg.errors.SyntaxError):
        listen(["ok", ""], application_name="rt-bad")  # LISTEN refuses an empty name
    assert listeners() == 0


def test_channel_names_longer_than_postgresql_allows_are_refused() -> None:
    # LISTEN would silently truncate the name; pg_notify refuses it: nothing would arrive.
    with pytest.raises(ValueError, match="63 bytes"):
        listen("x" * 64)


def _wait_for_listener(application_name: str = "supahybrid-listen") -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
                "AND query LIKE 'LISTEN%%' AND state = 'idle'",
                [application_name],
            )
            if cursor.fetchone():
                return
        time.sleep(0.05)
    raise AssertionError("the listener did not start")  # pragma: no cover


def _run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("supahybrid_listen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_management_command_prints_events() -> None:
    org = RtOrganization.objects.create(name="A")
    user, _ = member(org)
    output: list[tuple[str, str]] = []
    args = ["--model", "testapp.RtNote", "--user", str(user.pk), "--organization", str(org.pk),
            "plain", "--count", "3", "--database", DEFAULT_DB_ALIAS]  # fmt: skip
    thread = threading.Thread(target=lambda: output.append(_run_command(*args)))
    thread.start()
    _wait_for_listener()
    note = RtNote.objects.create(recipient=user, title="to user")
    RtNote.objects.create(organization=org, title="to org")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify('plain', 'not json')")
    thread.join(timeout=30)
    [(out, err)] = output
    lines = out.splitlines()
    assert len(lines) == 3
    assert f'"channel": "supahybrid:testapp.rtnote:user:{user.pk}"' in lines[0]
    assert f'"pk": {note.pk}' in lines[0]
    assert '"title": "to org"' in lines[1]
    assert lines[2] == '{"channel": "plain", "payload": "not json"}'
    assert "Listening on" in err


def test_management_command_model_channel() -> None:
    output: list[tuple[str, str]] = []
    thread = threading.Thread(
        target=lambda: output.append(_run_command("--model", "testapp.RtEvent", "--count", "1"))
    )
    thread.start()
    _wait_for_listener()
    from tests.testapp.models import RtEvent

    RtEvent.objects.create(name="x")
    thread.join(timeout=30)
    assert '"channel": "supahybrid:testapp.rtevent"' in output[0][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope.Nothing"], "Unknown model 'nope.Nothing'"),
        (["--model", "nodot"], "Unknown model 'nodot'"),
        (["--user", "1"], "--user and --organization need --model"),
        ([], "Name at least one channel"),
    ],
)
def test_management_command_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run_command(*args)
