"""System checks supahybrid.E050-E054 and W050-W053 on hand-written and generated settings."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.test import override_settings

from django_supahybrid.checks.db import (
    SUPABASE_MAX_CONNECTIONS,
    check_database_budget,
    check_databases,
)
from django_supahybrid.db import database_config, databases_with_direct

POOLER = "aws-0-eu-west-1.pooler.supabase.com"
TRANSACTION_URL = f"postgresql://postgres.ref:pw@{POOLER}:6543/postgres"
DIRECT_URL = "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres"
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@contextmanager
def databases(**aliases: dict[str, Any]) -> Iterator[None]:
    """Override DATABASES for the checks, which read the setting only."""
    with warnings.catch_warnings():
        # Django warns that connections keep the old settings; the checks do not use them.
        warnings.simplefilter("ignore", UserWarning)
        with override_settings(DATABASES=aliases):
            yield


def _ids(messages: list[Any]) -> list[str]:
    return sorted(m.id for m in messages)


def _pooler(**entry: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": POOLER,
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }
    return {**base, **entry}


def test_test_settings_are_clean() -> None:
    assert check_databases() == []


def test_generated_transaction_settings_are_clean() -> None:
    with databases(**databases_with_direct(TRANSACTION_URL, pool="django")):
        assert check_databases() == []


def test_e050_server_side_cursors_behind_transaction_pooler() -> None:
    with databases(default=_pooler(), direct=database_config(DIRECT_URL)):
        [message] = check_databases()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E050"
    assert "DISABLE_SERVER_SIDE_CURSORS" in (message.hint or "")
    assert message.obj == "default"


def test_e051_prepared_statements_behind_transaction_pooler() -> None:
    entry = _pooler(DISABLE_SERVER_SIDE_CURSORS=True)
    entry["OPTIONS"] = {"sslmode": "require", "prepare_threshold": 5}
    with databases(default=entry, direct=database_config(DIRECT_URL)):
        [message] = check_databases()
    assert message.id == "supahybrid.E051"
    assert "5" in message.msg


def test_e052_session_state_behind_transaction_pooler() -> None:
    entry = _pooler(DISABLE_SERVER_SIDE_CURSORS=True)
    entry["OPTIONS"] = {
        "sslmode": "require",
        "assume_role": "authenticated",
        "options": "-c statement_timeout=1000",
    }
    with databases(default=entry, direct=database_config(DIRECT_URL)):
        [message] = check_databases()
    assert message.id == "supahybrid.E052"
    assert "assume_role, options" in message.msg


def test_recorded_mode_counts_for_a_self_hosted_pooler() -> None:
    entry = database_config("postgresql://u@10.0.0.5:6432/app", mode="transaction")
    entry["DISABLE_SERVER_SIDE_CURSORS"] = False
    with databases(default=entry, direct=database_config(DIRECT_URL)):
        assert _ids(check_databases()) == ["supahybrid.E050"]


@pytest.mark.parametrize(
    ("pool", "max_age", "kind", "expected"),
    [
        ("django", 60, Error, "supahybrid.E053"),
        ("dj_db_conn_pool", 600, Warning, "supahybrid.W050"),
    ],
)
def test_e053_w050_pool_with_persistent_connections(
    pool: Any, max_age: int, kind: type, expected: str
) -> None:
    entry = database_config("postgresql://u@h/app", pool=pool)
    entry["CONN_MAX_AGE"] = max_age
    with databases(default=entry):
        [message] = check_databases()
    assert isinstance(message, kind)
    assert message.id == expected
    assert repr(max_age) in message.msg


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["supahybrid.E054"]),
        ({"sslmode": "prefer"}, ["supahybrid.E054"]),
        ({"sslmode": "nonsense"}, ["supahybrid.E054"]),
        ({"sslmode": "require"}, []),
        ({"sslmode": "verify-full"}, []),
    ],
)
def test_e054_weak_ssl_on_supabase(options: dict[str, str], expected: list[str]) -> None:
    entry = {"ENGINE": "django.db.backends.postgresql", "HOST": "db.ref.supabase.co"}
    with databases(default={**entry, "OPTIONS": options}):
        assert _ids(check_databases()) == expected


def test_e054_names_the_mode() -> None:
    entry = {"ENGINE": "django.db.backends.postgresql", "HOST": "db.ref.supabase.co"}
    with databases(default=entry):
        [message] = check_databases()
    assert "sslmode='prefer'" in message.msg


def test_non_postgres_aliases_are_ignored() -> None:
    dummy = {"ENGINE": "django.db.backends.dummy", "HOST": "db.ref.supabase.co"}
    with (
        databases(default=dummy),
        override_settings(SUPAHYBRID={"WEB_PROCESSES": 99, "DATABASE_MAX_CONNECTIONS": 1}),
    ):
        assert check_databases() == []


def _budget(web: dict[str, Any], **conf: Any) -> list[Any]:
    with databases(default=web), override_settings(SUPAHYBRID=conf):
        return check_databases()


def test_w051_budget_over_a_supabase_compute_size() -> None:
    web = database_config(DIRECT_URL, pool="django", pool_size=20)
    [message] = _budget(web, WEB_PROCESSES=4, SUPABASE_COMPUTE="nano")
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W051"
    assert "80 database connections" in message.msg
    assert "60 available" in message.msg
    assert "native pool max_size 20" in message.msg
    assert _budget(web, WEB_PROCESSES=4, SUPABASE_COMPUTE="xl") == []


def test_w051_reserved_connections_count() -> None:
    web = database_config(DIRECT_URL, pool="dj_db_conn_pool", pool_size=10, max_overflow=5)
    assert _budget(web, WEB_PROCESSES=8, DATABASE_MAX_CONNECTIONS=120) == []
    [message] = _budget(
        web, WEB_PROCESSES=8, DATABASE_MAX_CONNECTIONS=120, DATABASE_RESERVED_CONNECTIONS=1
    )
    assert "dj_db_conn_pool 10 + 5 overflow" in message.msg
    assert "119 available" in message.msg


def test_w051_persistent_connections_count_threads() -> None:
    web = database_config(DIRECT_URL)
    assert _budget(web, WEB_PROCESSES=30, WEB_THREADS=2, SUPABASE_COMPUTE="nano") == []
    [message] = _budget(web, WEB_PROCESSES=31, WEB_THREADS=2, SUPABASE_COMPUTE="nano")
    assert "one connection per thread x 2" in message.msg


@pytest.mark.parametrize(
    ("entry", "per_process"),
    [
        ({"OPTIONS": {"pool": True}}, 4),
        ({"OPTIONS": {"pool": {"min_size": 6}}}, 6),
        ({"ENGINE": "dj_db_conn_pool.backends.postgresql"}, 20),
    ],
)
def test_w051_library_defaults_of_hand_written_pools(
    entry: dict[str, Any], per_process: int
) -> None:
    web = {"ENGINE": "django.db.backends.postgresql", "HOST": "h", **entry}
    assert _budget(web, WEB_PROCESSES=10, DATABASE_MAX_CONNECTIONS=10 * per_process) == []
    assert _ids(_budget(web, WEB_PROCESSES=11, DATABASE_MAX_CONNECTIONS=10 * per_process)) == [
        "supahybrid.W051"
    ]


def test_w051_web_concurrency_is_inferred(monkeypatch: pytest.MonkeyPatch) -> None:
    web = database_config(DIRECT_URL, pool="django", pool_size=10)
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert _ids(_budget(web, SUPABASE_COMPUTE="nano")) == ["supahybrid.W051"]
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    assert _budget(web, SUPABASE_COMPUTE="nano") == []


def test_w051_needs_a_process_count_and_a_limit() -> None:
    web = database_config(DIRECT_URL, pool="django", pool_size=100)
    assert _budget(web, SUPABASE_COMPUTE="nano") == []
    assert _budget(web, WEB_PROCESSES=100) == []  # no limit known, no server asked


def test_w051_transaction_and_direct_aliases_are_outside_the_budget() -> None:
    aliases = databases_with_direct(TRANSACTION_URL, pool="django", pool_size=100)
    conf = {"WEB_PROCESSES": 100, "DATABASE_MAX_CONNECTIONS": 1}
    with databases(**aliases), override_settings(SUPAHYBRID=conf):
        assert check_databases() == []


@pytest.mark.django_db(databases=["default", "other"])
def test_w051_limit_read_from_the_server() -> None:
    # The test settings: two persistent aliases on the local server (max_connections 100).
    real = settings.DATABASES
    transaction = _pooler(DISABLE_SERVER_SIDE_CURSORS=True)
    with (
        databases(default=transaction, other=real["other"]),
        override_settings(SUPAHYBRID={"WEB_PROCESSES": 1000}),
    ):
        assert check_databases() == []  # static: no limit known, no query
        [message] = check_database_budget(databases=["default", "other"])
    assert message.id == "supahybrid.W051"
    assert "the server behind 'other'" in message.msg


@pytest.mark.parametrize(
    ("conf", "databases_arg"),
    [
        ({"WEB_PROCESSES": 1000}, None),  # not asked to look at databases
        ({"WEB_PROCESSES": 1000, "SUPABASE_COMPUTE": "nano"}, ["default"]),  # static check's
        ({"BOGUS": 1}, ["default"]),  # E001
    ],
)
def test_server_budget_check_stays_out_of_the_way(
    conf: dict[str, Any], databases_arg: list[str] | None
) -> None:
    # No database access in these tests: a query would fail them.
    with override_settings(SUPAHYBRID=conf):
        assert check_database_budget(databases=databases_arg) == []


def test_supabase_compute_table_matches_the_documented_sizes() -> None:
    assert SUPABASE_MAX_CONNECTIONS["nano"] == SUPABASE_MAX_CONNECTIONS["micro"] == 60
    assert [SUPABASE_MAX_CONNECTIONS[s] for s in ("small", "medium", "large", "xl", "2xl")] == [
        90,
        120,
        160,
        240,
        380,
    ]


def test_w053_transaction_pooler_without_a_direct_alias() -> None:
    with databases(default=database_config(TRANSACTION_URL)):
        [message] = check_databases()
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W053"
    with databases(**databases_with_direct(TRANSACTION_URL)):
        assert check_databases() == []


def test_invalid_settings_skip_the_settings_based_checks() -> None:
    with (
        databases(default=database_config(TRANSACTION_URL)),
        override_settings(SUPAHYBRID={"BOGUS": 1}),
    ):
        assert check_databases() == []


def test_registered_with_django() -> None:
    with (
        databases(default=_pooler(), direct=database_config(DIRECT_URL)),
        override_settings(CACHES=LOCMEM, SUPAHYBRID={"WEB_PROCESSES": 2}),
    ):
        ids = _ids(run_checks())
    assert {"supahybrid.E050", "supahybrid.W011"} <= set(ids)


@pytest.mark.django_db(databases=["default", "other"])
def test_server_budget_check_runs_when_databases_are_checked() -> None:
    with override_settings(SUPAHYBRID={"WEB_PROCESSES": 1000}):
        assert "supahybrid.W051" not in _ids(run_checks())
        ids = _ids(run_checks(tags=["database"], databases=["default"]))
    assert ids == ["supahybrid.W051"]
