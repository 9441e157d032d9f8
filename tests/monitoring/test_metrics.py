"""The counter registry: exact under threads, fed by the realtime publisher, pool gauges."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection

from django_supahybrid.monitoring import metrics
from django_supahybrid.realtime import publish
from django_supahybrid.testing.supabase import (
    install_realtime_test_schema,
    install_supabase_test_schema,
    uninstall_realtime_test_schema,
)
from tests.support import pgtools
from tests.testapp.models import RtNote, RtOrganization

NOTIFY = f"{metrics.REALTIME_PUBLISHED}.NotifyTransport"
BROADCAST = f"{metrics.REALTIME_PUBLISHED}.BroadcastTransport"
BROADCAST_FAILED = f"{metrics.REALTIME_FAILED}.BroadcastTransport"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


def test_incr_snapshot_reset() -> None:
    assert metrics.snapshot() == {}
    metrics.incr(metrics.AUTH_CACHE_MISS)
    metrics.incr(metrics.AUTH_CACHE_LOCAL_HIT, 5)
    metrics.incr(metrics.AUTH_CACHE_MISS)
    snap = metrics.snapshot()
    assert snap == {metrics.AUTH_CACHE_LOCAL_HIT: 5, metrics.AUTH_CACHE_MISS: 2}
    assert list(snap) == sorted(snap)
    snap[metrics.AUTH_CACHE_MISS] = 100  # a copy: the registry is unchanged
    assert metrics.snapshot()[metrics.AUTH_CACHE_MISS] == 2
    metrics.reset()
    assert metrics.snapshot() == {}


def test_increments_from_many_threads_are_all_counted() -> None:
    threads, per_thread = 8, 20_000
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait(timeout=10)
        for _ in range(per_thread):
            metrics.incr("x")
            metrics.incr("y", 2)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert metrics.snapshot() == {"x": threads * per_thread, "y": 2 * threads * per_thread}


@pytest.mark.django_db(transaction=True)
def test_realtime_publishing_counts_events_per_transport() -> None:
    org = RtOrganization.objects.create(name="A")
    RtNote.objects.create(organization=org)
    assert metrics.snapshot() == {NOTIFY: 1}  # no Broadcast on a plain PostgreSQL
    notes = RtNote.objects.bulk_create(RtNote(organization=org) for _ in range(2100))
    publish(notes, "INSERT")  # three statements of at most 1000 events
    assert metrics.snapshot() == {NOTIFY: 2101}


@pytest.fixture
def supabase_realtime() -> Iterator[None]:
    install_supabase_test_schema()
    install_realtime_test_schema()
    yield
    uninstall_realtime_test_schema()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("supabase_realtime")
def test_broadcast_successes_and_failures_are_counted() -> None:
    org = RtOrganization.objects.create(name="A")
    RtNote.objects.create(organization=org)
    assert metrics.snapshot() == {BROADCAST: 1, NOTIFY: 1}
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION realtime.send(jsonb, text, text, boolean)")
    RtNote.objects.bulk_create(RtNote(organization=org) for _ in range(3))
    publish(list(RtNote.objects.all()[1:]), "UPDATE")
    assert metrics.snapshot() == {BROADCAST: 1, BROADCAST_FAILED: 3, NOTIFY: 4}


@pytest.mark.django_db
@pytest.mark.parametrize("pool", ["django", "dj_db_conn_pool"])
def test_pool_gauge_counts_connections_lent_out(pool: str) -> None:
    with pgtools.alias(pgtools.engine_config(pool, pool_size=3)) as name:
        gauge = f"{metrics.POOL_IN_USE}.{name}"
        assert gauge not in metrics.gauges()  # reading opens no pool
        barrier = threading.Barrier(2)
        snapshot: dict[int, bool] = {}

        def borrow(i: int) -> None:
            pgtools.connection(name).ensure_connection()
            barrier.wait(timeout=10)  # both connections are lent out here
            # Django's pool may be opening a spare connection: counted until it is idle.
            snapshot[i] = pgtools.wait_for(lambda: metrics.gauges()[gauge] == 2)
            barrier.wait(timeout=10)  # ... until both have read the gauge

        pgtools.in_threads(2, borrow, name)
        assert snapshot == {0: True, 1: True}
        assert pgtools.wait_for(lambda: metrics.gauges()[gauge] == 0)
    assert gauge not in metrics.gauges()
