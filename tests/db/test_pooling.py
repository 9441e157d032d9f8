"""Each engine against the real server: connections opened, pooled, reused, recovered.

Connections are counted in ``pg_stat_activity`` by ``application_name`` (one per alias).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db.utils import Error as DjangoDatabaseError

from tests.support import pgtools

POOLS = ["django", "dj_db_conn_pool"]


# The test database must exist; the aliases below connect to it on their own, outside the
# test's transaction, and see only what migrations committed.
pytestmark = pytest.mark.django_db


def test_no_pooling_connects_for_every_request() -> None:
    with pgtools.alias(pgtools.engine_config("none")) as name:
        pids = [pgtools.request(name) for _ in range(4)]
        assert len(set(pids)) == 4
        assert pgtools.wait_for(lambda: pgtools.backends(name) == [])


def test_persistent_keeps_one_connection_per_thread() -> None:
    with pgtools.alias(pgtools.engine_config("persistent")) as name:
        seen: dict[int, set[int]] = {}
        barrier = threading.Barrier(4)

        def worker(i: int) -> None:
            seen[i] = {pgtools.request(name) for _ in range(5)}
            barrier.wait(timeout=10)  # all four connections are open at once here
            if i == 0:
                seen[-1] = set(pgtools.backends(name))
            barrier.wait(timeout=10)  # ... until counted

        pgtools.in_threads(4, worker, name)
        assert all(len(seen[i]) == 1 for i in range(4))  # reused within a thread
        assert len(set().union(*(seen[i] for i in range(4)))) == 4
        assert len(seen[-1]) == 4
        assert pgtools.wait_for(lambda: pgtools.backends(name) == [])


@pytest.mark.parametrize("pool", POOLS)
def test_pool_bounds_and_reuses_connections(pool: str) -> None:
    config = pgtools.engine_config(pool, pool_size=2, pool_timeout=10)
    with pgtools.alias(config) as name:
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, len(pgtools.backends(name)))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            results = pgtools.in_threads(
                6,
                lambda i: {
                    pgtools.request(name, "SELECT pg_backend_pid() FROM pg_sleep(0.01)")
                    for _ in range(8)
                },
                name,
            )
        finally:
            stop.set()
            sampler.join()
        used = set().union(*results)
        assert 1 <= len(used) <= 2  # 48 requests on at most two server connections
        assert 1 <= peak <= 2
        idle = pgtools.backends(name)
        assert 1 <= len(idle) <= 2
        assert set(idle) <= used
    assert pgtools.wait_for(lambda: pgtools.backends(name) == [])


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ("django", r"couldn't get a connection after 0\.50 sec"),
        ("dj_db_conn_pool", r"QueuePool limit of size 1 overflow 0 reached.*timeout 0\.50"),
    ],
)
def test_exhausted_pool_waits_then_fails_clearly(pool: str, message: str) -> None:
    config = pgtools.engine_config(pool, pool_size=1, pool_timeout=0.5)
    with pgtools.alias(config) as name:
        holder = pgtools.connection(name)
        holder.ensure_connection()  # this thread now holds the only connection
        outcome: dict[str, Any] = {}

        def waiter(i: int) -> None:
            started = time.monotonic()
            try:
                pgtools.request(name)
            except Exception as exc:
                outcome["error"] = exc
            outcome["elapsed"] = time.monotonic() - started

        pgtools.in_threads(1, waiter, name)
        assert "error" in outcome, "the request got a connection the pool did not have"
        assert 0.45 <= outcome["elapsed"] < 5.0
        assert pytest.raises(Exception, match=message).matches(outcome["error"])
        holder.close()  # released: the next request is served
        assert pgtools.in_threads(1, lambda i: pgtools.request(name, "SELECT 1"), name) == [1]


@pytest.mark.parametrize("kind", ["persistent", *POOLS])
def test_recovers_after_server_connections_are_killed(kind: str) -> None:
    config = pgtools.engine_config(kind, pool_size=2)
    with pgtools.alias(config) as name:
        pgtools.in_threads(2, lambda i: pgtools.request(name), name)
        first = pgtools.request(name)
        before = pgtools.backends(name)
        assert first in before
        assert pgtools.terminate(name) == len(before)
        assert pgtools.wait_for(lambda: not set(pgtools.backends(name)) & set(before))
        started = time.monotonic()
        again = pgtools.request(name)  # the very next request succeeds
        assert time.monotonic() - started < 5.0
        assert again not in before
        after = pgtools.backends(name)
        assert 1 <= len(after) <= 2
        assert not set(after) & set(before)


def test_without_health_checks_the_first_request_after_a_kill_fails() -> None:
    config = pgtools.engine_config("persistent", CONN_HEALTH_CHECKS=False)
    with pgtools.alias(config) as name:
        pgtools.request(name)
        pgtools.terminate(name)
        assert pgtools.wait_for(lambda: pgtools.backends(name) == [])
        with pytest.raises(DjangoDatabaseError):
            pgtools.request(name)
        assert pgtools.request(name, "SELECT 1") == 1  # Django dropped the broken one
