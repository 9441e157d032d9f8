"""A real PgBouncer in transaction mode in front of the test server.

Django's defaults break behind it (server-side cursors, re-enabled prepared statements);
the settings ``database_config(mode="transaction")`` produces work, with every engine.
PgBouncer is started by the tests: a missing binary fails them, it never skips them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import Permission
from django.db.utils import Error as DjangoDatabaseError

from django_supahybrid.checks.db import _check_transaction_mode
from django_supahybrid.db import database_config
from scripts import devservices
from tests.support import pgtools

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def bouncer_port(django_db_setup: None) -> Iterator[int]:
    try:
        devservices.pgbouncer_binary()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with devservices.pgbouncer(pgtools.url(), pool_size=4) as port:
        _fill_pool(port)
        yield port


def _fill_pool(port: int) -> None:
    """Open three server connections at once, so round-robin spreads transactions."""
    s = pgtools.server()

    def hold() -> None:
        with psycopg.connect(host="127.0.0.1", port=port, user=s["user"], dbname=s["name"]) as c:
            c.execute("SELECT pg_sleep(0.2)")

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _through(port: int, **kwargs: Any) -> dict[str, Any]:
    return database_config(pgtools.url(port=port), **kwargs)


def _all_permissions(name: str) -> list[int]:
    pgtools.connection(name)  # this thread's wrapper exists before the queryset asks for it
    return [p.pk for p in Permission.objects.using(name).order_by("pk").iterator(chunk_size=2)]


def _repeat(name: str, sql: str, *, times: int) -> None:
    for _ in range(times):
        pgtools.request(name, sql)


def test_server_side_cursor_iterator_fails_with_django_defaults(bouncer_port: int) -> None:
    config = _through(bouncer_port, mode="direct")  # as if the pooler were a server
    assert "DISABLE_SERVER_SIDE_CURSORS" not in config
    assert [m.id for m in _check_transaction_mode("x", config)] == ["supahybrid.E050"]
    with pgtools.alias(config) as name, pytest.raises(DjangoDatabaseError) as caught:
        _all_permissions(name)
    assert isinstance(caught.value.__cause__, psycopg.errors.InvalidCursorName)


def test_iterator_works_with_transaction_mode_settings(bouncer_port: int) -> None:
    config = _through(bouncer_port, mode="transaction")
    assert _check_transaction_mode("x", config) == []
    expected = list(Permission.objects.order_by("pk").values_list("pk", flat=True))
    assert len(expected) > 10
    with pgtools.alias(config) as name:
        assert _all_permissions(name) == expected


def test_prepared_statements_fail_when_re_enabled(bouncer_port: int) -> None:
    # Django's default cursor binds parameters client-side and never prepares; with
    # server-side binding, psycopg prepares from the prepare_threshold-th execution on.
    options = {"prepare_threshold": 0, "server_side_binding": True}
    config = _through(bouncer_port, mode="direct", OPTIONS=options)
    config["DISABLE_SERVER_SIDE_CURSORS"] = True
    assert [m.id for m in _check_transaction_mode("x", config)] == [
        "supahybrid.E051",
        "supahybrid.E052",
    ]
    with pgtools.alias(config) as name, pytest.raises(DjangoDatabaseError) as caught:
        _repeat(name, "SELECT count(*) FROM auth_permission WHERE id > 0", times=6)
    assert isinstance(caught.value.__cause__, psycopg.errors.InvalidSqlStatementName)


def test_statement_timeout_startup_option_is_refused_by_the_pooler(bouncer_port: int) -> None:
    # Why database_config() refuses statement_timeout in transaction mode.
    config = _through(bouncer_port, mode="direct", statement_timeout=1000)
    with pgtools.alias(config) as name, pytest.raises(DjangoDatabaseError, match="options"):
        pgtools.request(name)


@pytest.mark.parametrize("kind", ["none", "persistent", "django", "dj_db_conn_pool"])
def test_every_engine_works_through_the_pooler(bouncer_port: int, kind: str) -> None:
    config = pgtools.engine_config(
        kind, pgtools.url(port=bouncer_port), mode="transaction", pool_size=2
    )
    with pgtools.alias(config) as name:
        results = pgtools.in_threads(
            4, lambda i: [pgtools.request(name, "SELECT count(*) FROM auth_permission")
                          for _ in range(10)], name
        )  # fmt: skip
        counts = {count for batch in results for count in batch}
        assert counts == {Permission.objects.count()}
        # Server connections behind the pooler are its own: at most its pool size.
        assert len(pgtools.backends(name)) <= 4
