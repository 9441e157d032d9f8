"""Events are published after commit, never for a rollback, to the right channel only."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_supahybrid.realtime import channel_name, listen, publish
from django_supahybrid.realtime import transports as transports_module
from django_supahybrid.testing.supabase import (
    install_realtime_test_schema,
    install_supabase_test_schema,
    uninstall_realtime_test_schema,
)
from tests.support import pgtools
from tests.support.realtime import drain, member, payloads
from tests.testapp.models import RtEvent, RtNote, RtOrganization, RtTask

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

ORG_A = 1


@pytest.fixture
def org() -> RtOrganization:
    return RtOrganization.objects.create(name="A")


def _key(note: RtNote) -> dict[str, object]:
    return {
        "op": "INSERT",
        "model": "testapp.rtnote",
        "table": "testapp_rtnote",
        "pk": note.pk,
        "user": note.recipient_id,
        "organization": note.organization_id,
    }


def _org_channel(org: RtOrganization) -> str:
    return channel_name(RtNote, "organization", org.pk)


def test_commit_delivers_after_the_commit_only(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with transaction.atomic():
            note = RtNote.objects.create(organization=org, title="hello", body="world")
            assert drain(listener) == []  # not before the commit
        [received] = drain(listener)
    assert received.channel == _org_channel(org)
    assert received.data == {**_key(note), "fields": {"title": "hello", "body": "world"}}


def test_rollback_publishes_nothing(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with transaction.atomic():
            RtNote.objects.create(organization=org, title="lost")
            transaction.set_rollback(True)
        assert drain(listener) == []
        RtNote.objects.create(organization=org, title="kept")  # the listener does work
        assert [d["fields"]["title"] for d in payloads(drain(listener))] == ["kept"]


def test_savepoint_rollback_publishes_nothing_of_the_savepoint(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with transaction.atomic():
            RtNote.objects.create(organization=org, title="outer")
            with transaction.atomic():
                RtNote.objects.create(organization=org, title="inner")
                with transaction.atomic():
                    RtNote.objects.create(organization=org, title="innermost")
                transaction.set_rollback(True)  # rolls back this savepoint only
            with transaction.atomic():
                RtNote.objects.create(organization=org, title="sibling")
        titles = [d["fields"]["title"] for d in payloads(drain(listener))]
    assert titles == ["outer", "sibling"]


def test_update_and_delete_and_queryset_delete(org: RtOrganization) -> None:
    first = RtNote.objects.create(organization=org, title="one")
    second = RtNote.objects.create(organization=org, title="two")
    first_pk = first.pk
    with listen(_org_channel(org), timeout=0.3) as listener:
        first.title = "uno"
        first.save()
        first.delete()
        RtNote.objects.filter(pk=second.pk).delete()
        received = payloads(drain(listener))
    assert [(d["op"], d["pk"], d["fields"]["title"]) for d in received] == [
        ("UPDATE", first_pk, "uno"),
        ("DELETE", first_pk, "uno"),
        ("DELETE", second.pk, "two"),
    ]


def test_cascade_delete_publishes(org: RtOrganization) -> None:
    note = RtNote.objects.create(organization=org, title="cascade")
    with listen(_org_channel(org), timeout=0.3) as listener:
        org.delete()
        assert [(d["op"], d["pk"]) for d in payloads(drain(listener))] == [("DELETE", note.pk)]


def test_bulk_paths_publish_only_through_publish(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        notes = RtNote.objects.bulk_create([RtNote(organization=org, title=t) for t in "ab"])
        RtNote.objects.filter(organization=org).update(title="c")
        assert drain(listener) == []  # documented: bulk paths send no signal
        with transaction.atomic():
            publish(notes, "INSERT")
            publish(RtNote.objects.filter(organization=org).order_by("pk"))
        received = payloads(drain(listener))
    assert [(d["op"], d["fields"]["title"]) for d in received] == [
        ("INSERT", "a"),
        ("INSERT", "b"),
        ("UPDATE", "c"),
        ("UPDATE", "c"),
    ]


def test_raw_saves_are_not_published(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        note = RtNote(organization=org, title="fixture")
        note.save_base(raw=True)
        assert drain(listener) == []


def test_oversized_payload_degrades_to_the_key(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        note = RtNote.objects.create(organization=org, title="big", body="é" * 5000)
        [received] = drain(listener)
    assert len(received.payload.encode()) < 8000
    assert received.data == {**_key(note), "truncated": True}


def test_two_organizations_see_only_their_own_events() -> None:
    org_a = RtOrganization.objects.create(name="A")
    org_b = RtOrganization.objects.create(name="B")
    user_a, _ = member(org_a)
    with (
        listen(_org_channel(org_a), timeout=0.3) as listener_a,
        listen(_org_channel(org_b), timeout=0.3) as listener_b,
        listen(channel_name(RtNote, "user", user_a.pk), timeout=0.3) as listener_user,
    ):
        RtNote.objects.create(organization=org_a, title="for A")
        RtNote.objects.create(organization=org_b, title="for B")
        RtNote.objects.create(organization=org_a, recipient=user_a, title="for user A")
        RtTask.objects.create(organization=org_b)
        assert [d["fields"]["title"] for d in payloads(drain(listener_a))] == ["for A"]
        assert [d["fields"]["title"] for d in payloads(drain(listener_b))] == ["for B"]
        assert [d["fields"]["title"] for d in payloads(drain(listener_user))] == ["for user A"]


def test_scoping_declaration_and_untargeted_models() -> None:
    org = RtOrganization.objects.create(name="A")
    with (
        listen(channel_name(RtTask, "organization", org.pk), timeout=0.3) as tasks,
        listen(channel_name(RtEvent), timeout=0.3) as events,
    ):
        task = RtTask.objects.create(organization=org)
        event = RtEvent.objects.create(name="deploy")
        assert payloads(drain(tasks)) == [
            {
                "op": "INSERT",
                "model": "testapp.rttask",
                "table": "testapp_rttask",
                "pk": task.pk,
                "organization": org.pk,
                "fields": {},
            }
        ]
        assert [(d["pk"], d["fields"]) for d in payloads(drain(events))] == [(event.pk, {})]


def test_events_follow_the_database_alias() -> None:
    org = RtOrganization.objects.using("other").create(name="other")
    with (
        listen(_org_channel(org), using="other", timeout=0.3) as on_other,
        listen(_org_channel(org), timeout=0.3) as on_default,
    ):
        with transaction.atomic(using="other"):
            RtNote.objects.using("other").create(organization=org, title="there")
            with transaction.atomic():  # a default-alias transaction rolled back inside
                transaction.set_rollback(True)
        assert [d["fields"]["title"] for d in payloads(drain(on_other))] == ["there"]
        assert drain(on_default) == []


@pytest.fixture
def realtime_schema() -> Iterator[None]:
    install_supabase_test_schema()
    install_realtime_test_schema()
    yield
    uninstall_realtime_test_schema()


def _messages() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT topic, event, private, extension, payload::text FROM realtime.messages"
        )
        return [(*row[:4], json.loads(row[4])) for row in cursor.fetchall()]


@pytest.mark.usefixtures("realtime_schema")
def test_broadcast_is_detected_and_sent_after_commit(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with transaction.atomic():
            note = RtNote.objects.create(organization=org, title="hi", body="x" * 9000)
            assert _messages() == []
        with transaction.atomic():
            RtNote.objects.create(organization=org, title="rolled back")
            transaction.set_rollback(True)
        [(topic, event, private, extension, payload)] = _messages()
        [notified] = drain(listener)  # NOTIFY too, degraded; Broadcast has room for all
    assert (topic, event, private, extension) == (
        f"supahybrid:testapp.rtnote:organization:{org.pk}",
        "INSERT",
        True,
        "broadcast",
    )
    assert payload["fields"] == {"title": "hi", "body": "x" * 9000}
    assert notified.data["truncated"] is True
    assert notified.data["pk"] == payload["pk"] == note.pk


@pytest.mark.usefixtures("realtime_schema")
@override_settings(
    SUPAHYBRID={
        "REALTIME_BROADCAST_PRIVATE": False,
        "REALTIME_TRANSPORTS": ["django_supahybrid.realtime.transports.BroadcastTransport"],
    }
)
def test_broadcast_public_and_alone(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        RtNote.objects.create(organization=org)
        assert drain(listener) == []
    [(_, _, private, _, _)] = _messages()
    assert private is False


@pytest.mark.usefixtures("realtime_schema")
def test_publishing_failure_after_commit_is_logged_not_raised(
    org: RtOrganization, caplog: pytest.LogCaptureFixture
) -> None:
    RtNote.objects.create(organization=org)  # detection: realtime.send() exists
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION realtime.send(jsonb, text, text, boolean)")
    with listen(_org_channel(org), timeout=0.3) as listener:
        note = RtNote.objects.create(organization=org, title="saved anyway")
        assert [d["pk"] for d in payloads(drain(listener))] == [note.pk]  # NOTIFY still sent
    assert RtNote.objects.filter(pk=note.pk).exists()
    assert "not published by BroadcastTransport" in caplog.text


def test_broadcast_absent_on_plain_postgresql(org: RtOrganization) -> None:
    transports_module.reset_detection()
    RtNote.objects.create(organization=org)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('realtime.messages')")
        assert cursor.fetchone() == (None,)


def test_other_vendor_saves_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    # A real non-PostgreSQL database (SQLite, in memory) for the one behaviour that is about
    # another vendor; it is registered for this test only.
    wrapper = SQLiteWrapper(
        {**connections["default"].settings_dict, "ENGINE": "django.db.backends.sqlite3",
         "NAME": ":memory:", "OPTIONS": {}},
        alias="rt_sqlite",
    )  # fmt: skip
    connections["rt_sqlite"] = wrapper
    try:
        with wrapper.schema_editor() as editor:
            editor.create_model(RtOrganization)
            editor.create_model(RtEvent)
        caplog.set_level(logging.WARNING, logger="django_supahybrid.realtime")
        for name in ("one", "two"):
            RtEvent.objects.using("rt_sqlite").create(name=name)
        assert RtEvent.objects.using("rt_sqlite").count() == 2
    finally:
        pgtools.forget_sqlite("rt_sqlite")
    warnings = [r for r in caplog.records if "publishes no realtime events" in r.message]
    assert len(warnings) == 1
    assert "'rt_sqlite'" in warnings[0].message
    assert "'sqlite'" in warnings[0].message


def test_publish_batches_choose_their_alias(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        publish([])  # nothing to do
        unsaved = RtNote(organization=org, title="unsaved", pk=-1)
        publish([unsaved], "DELETE")  # no database yet: the default alias
        publish(RtNote(organization=org, title=str(n), pk=n) for n in range(3))  # a generator
        assert [(d["op"], d["pk"]) for d in payloads(drain(listener))] == [
            ("DELETE", -1),
            ("UPDATE", 0),
            ("UPDATE", 1),
            ("UPDATE", 2),
        ]
    with listen(_org_channel(org), using="other", timeout=0.3) as on_other:
        publish([RtNote(organization=org, pk=5)], using="other")
        assert [d["pk"] for d in payloads(drain(on_other))] == [5]


@override_settings(SUPAHYBRID={"REALTIME_TRANSPORTS": []})
def test_no_transports_publish_nothing_and_warn_nothing(
    org: RtOrganization, caplog: pytest.LogCaptureFixture
) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with transaction.atomic():
            RtNote.objects.create(organization=org)
            assert connection.run_on_commit == []  # not even a callback
        assert drain(listener) == []
    assert caplog.records == []


def _notify_statements(queries: CaptureQueriesContext) -> int:
    return sum("pg_notify" in q["sql"] for q in queries.captured_queries)


def test_a_transactions_events_leave_in_one_statement_in_order(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.3) as listener:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            for n in range(5):
                RtNote.objects.create(organization=org, title=str(n))
            assert len(connection.run_on_commit) == 1  # one batch
            with transaction.atomic():  # a savepoint: its own batch, kept on release
                RtNote.objects.create(organization=org, title="5")
            RtNote.objects.create(organization=org, title="6")  # after it: a new batch
            transaction.on_commit(lambda: None)  # someone else's callback in between
            RtNote.objects.create(organization=org, title="7")
            assert len(connection.run_on_commit) == 5
        assert _notify_statements(queries) == 4
        assert [d["fields"]["title"] for d in payloads(drain(listener))] == list("01234567")


def test_large_batches_are_split_into_statements(org: RtOrganization) -> None:
    with listen(_org_channel(org), timeout=0.5) as listener:
        notes = RtNote.objects.bulk_create(RtNote(organization=org) for _ in range(2100))
        with CaptureQueriesContext(connection) as queries:
            publish(notes, "INSERT")
        assert _notify_statements(queries) == 3
        received = [d["pk"] for d in payloads(drain(listener))]
    assert received == [note.pk for note in notes]
