"""database_config(): pooler modes, SSL, timeouts, pools and the direct alias (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.db import (
    database_config,
    database_mode,
    databases_with_direct,
    is_supabase_host,
)

REF = "abcdefghijklmnop"
DIRECT = f"postgresql://postgres:pw@db.{REF}.supabase.co:5432/postgres"
SESSION = f"postgresql://postgres.{REF}:pw@aws-0-eu-west-1.pooler.supabase.com:5432/postgres"
TRANSACTION = f"postgresql://postgres.{REF}:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
DEDICATED = f"postgresql://postgres:pw@db.{REF}.supabase.co:6543/postgres"
LOCAL = "postgresql://postgres@127.0.0.1:5432/app"


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        (DIRECT, "direct"),
        (DIRECT.replace(":5432", ""), "direct"),
        (SESSION, "session"),
        (SESSION.replace(":5432", ""), "session"),
        (TRANSACTION, "transaction"),
        (DEDICATED, "transaction"),
        (LOCAL, "direct"),
        ("postgresql://u@127.0.0.1:6543/app", "direct"),  # a self-hosted pooler must say so
    ],
)
def test_mode_is_detected_and_recorded(url: str, mode: str) -> None:
    config = database_config(url)
    assert config["SUPAHYBRID"]["MODE"] == mode
    assert database_mode(config) == mode


def test_explicit_mode_for_self_hosted_pgbouncer() -> None:
    config = database_config("postgresql://u@10.0.0.5:6432/app", mode="transaction")
    assert database_mode(config) == "transaction"
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["SUPAHYBRID"]["SUPABASE"] is False
    assert "sslmode" not in config["OPTIONS"]


def test_bad_mode_and_unknown_supabase_port() -> None:
    with pytest.raises(ImproperlyConfigured, match="mode='pgbouncer'"):
        database_config(LOCAL, mode="pgbouncer")  # type: ignore[arg-type]
    with pytest.raises(ImproperlyConfigured, match="Pass mode="):
        database_config(TRANSACTION.replace(":6543", ":6544"))
    assert database_config(TRANSACTION.replace(":6543", ":6544"), mode="session")


@pytest.mark.parametrize(
    ("settings_dict", "mode"),
    [
        ({"HOST": f"db.{REF}.supabase.co", "PORT": "6543"}, "transaction"),
        ({"HOST": "x.pooler.supabase.com", "PORT": 5432}, "session"),
        ({"HOST": "x.pooler.supabase.com", "PORT": "1234"}, "direct"),
        ({"HOST": "localhost"}, "direct"),
        ({"HOST": "localhost", "SUPAHYBRID": {"MODE": "transaction"}}, "transaction"),
        ({"HOST": "localhost", "SUPAHYBRID": {"MODE": "bogus"}}, "direct"),
    ],
)
def test_database_mode_of_hand_written_settings(settings_dict: dict[str, Any], mode: str) -> None:
    assert database_mode(settings_dict) == mode


def test_is_supabase_host() -> None:
    assert is_supabase_host(f"db.{REF}.supabase.co")
    assert is_supabase_host("AWS-0-eu-west-1.pooler.supabase.com.")
    assert not is_supabase_host("supabase.co.evil.example")
    assert not is_supabase_host("127.0.0.1")


def test_direct_connection_defaults() -> None:
    config = database_config(DIRECT)
    assert config["OPTIONS"] == {
        "sslmode": "require",
        "connect_timeout": 10,
        "options": "-c statement_timeout=30000",
    }
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True
    assert "DISABLE_SERVER_SIDE_CURSORS" not in config


def test_session_mode_gets_no_default_statement_timeout() -> None:
    # Supavisor sits between client and server: a startup option is not sent by default.
    config = database_config(SESSION)
    assert config["OPTIONS"] == {"sslmode": "require", "connect_timeout": 10}


def test_session_mode_keeps_session_state_and_merges_startup_options() -> None:
    config = database_config(
        SESSION + "?options=-c%20search_path%3Dapp",
        statement_timeout=5000,
        connect_timeout=3,
    )
    assert config["OPTIONS"]["options"] == "-c search_path=app -c statement_timeout=5000"
    assert config["OPTIONS"]["connect_timeout"] == 3


def test_local_server_gets_only_what_is_asked() -> None:
    config = database_config(LOCAL, statement_timeout=1500, connect_timeout=2)
    assert config["OPTIONS"] == {"options": "-c statement_timeout=1500", "connect_timeout": 2}
    assert database_config(LOCAL)["OPTIONS"] == {}


@pytest.mark.parametrize("sslmode", ["verify-ca", "verify-full", "require"])
def test_strong_sslmode_is_kept(sslmode: str) -> None:
    assert database_config(f"{DIRECT}?sslmode={sslmode}")["OPTIONS"]["sslmode"] == sslmode


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer", "bogus"])
def test_weak_sslmode_on_supabase_is_refused(sslmode: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"sslmode='{sslmode}' is too weak"):
        database_config(SESSION, OPTIONS={"sslmode": sslmode})


def test_weak_sslmode_elsewhere_is_allowed() -> None:
    assert database_config(f"{LOCAL}?sslmode=disable")["OPTIONS"]["sslmode"] == "disable"


@pytest.mark.parametrize(
    ("kwargs", "refused"),
    [
        ({"OPTIONS": {"prepare_threshold": 5}}, "prepare_threshold"),
        ({"OPTIONS": {"server_side_binding": True}}, "server_side_binding"),
        ({"OPTIONS": {"assume_role": "authenticated"}}, "assume_role"),
        ({"statement_timeout": 1000}, "statement_timeout"),
    ],
)
def test_transaction_mode_refuses_session_state(kwargs: dict[str, Any], refused: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"{refused} cannot be used behind"):
        database_config(TRANSACTION, **kwargs)


def test_transaction_mode_allows_explicit_none_and_refuses_cursors() -> None:
    config = database_config(TRANSACTION, OPTIONS={"prepare_threshold": None})
    assert config["OPTIONS"]["prepare_threshold"] is None
    assert "options" not in config["OPTIONS"]  # no statement_timeout startup parameter
    with pytest.raises(ImproperlyConfigured, match="InvalidCursorName"):
        database_config(TRANSACTION, DISABLE_SERVER_SIDE_CURSORS=False)


def test_native_pool() -> None:
    config = database_config(DIRECT, pool="django", pool_size=8, pool_timeout=2.5)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["CONN_MAX_AGE"] == 0
    assert config["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 8,
        "timeout": 2.5,
        "max_lifetime": 1800.0,
    }
    assert config["SUPAHYBRID"]["POOL"] == "django"
    small = database_config(LOCAL, pool="django", pool_size=1, pool_min_size=3)
    assert small["OPTIONS"]["pool"]["min_size"] == 1


def test_dj_db_conn_pool() -> None:
    config = database_config(TRANSACTION, pool="dj_db_conn_pool", pool_size=5, max_overflow=2)
    assert config["ENGINE"] == "dj_db_conn_pool.backends.postgresql"
    assert config["CONN_MAX_AGE"] == 0
    assert config["POOL_OPTIONS"] == {
        "POOL_SIZE": 5,
        "MAX_OVERFLOW": 2,
        "TIMEOUT": 10.0,
        "RECYCLE": 1800,
        "PRE_PING": True,
    }


@pytest.mark.parametrize("pool", ["django", "dj_db_conn_pool"])
def test_pools_refuse_persistent_connections(pool: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="needs CONN_MAX_AGE=0"):
        database_config(LOCAL, pool=pool, CONN_MAX_AGE=60)
    assert database_config(LOCAL, pool=pool, CONN_MAX_AGE=0)["CONN_MAX_AGE"] == 0


def test_unknown_pool() -> None:
    with pytest.raises(ImproperlyConfigured, match="pool='pgpool'"):
        database_config(LOCAL, pool="pgpool")  # type: ignore[arg-type]


def test_persistent_connection_age_can_be_set() -> None:
    assert database_config(LOCAL, CONN_MAX_AGE=None)["CONN_MAX_AGE"] is None
    assert database_config(LOCAL, CONN_HEALTH_CHECKS=False)["CONN_HEALTH_CHECKS"] is False


def test_direct_role() -> None:
    config = database_config(SESSION, role="direct")
    assert config["CONN_MAX_AGE"] == 0
    assert "options" not in config["OPTIONS"]  # no statement timeout for migrations
    assert config["SUPAHYBRID"]["ROLE"] == "direct"
    with pytest.raises(ImproperlyConfigured, match="needs a direct or session-mode URL"):
        database_config(TRANSACTION, role="direct")
    with pytest.raises(ImproperlyConfigured, match="takes no pool"):
        database_config(DIRECT, role="direct", pool="django")
    with pytest.raises(ImproperlyConfigured, match="takes no pool"):
        database_config(DIRECT, role="direct", statement_timeout=10)
    with pytest.raises(ImproperlyConfigured, match="role='admin'"):
        database_config(DIRECT, role="admin")  # type: ignore[arg-type]


def test_databases_config_derives_session_url_from_supavisor() -> None:
    databases = databases_with_direct(TRANSACTION, pool="django")
    assert set(databases) == {"default", "direct"}
    assert databases["default"]["SUPAHYBRID"]["MODE"] == "transaction"
    direct = databases["direct"]
    assert (direct["HOST"], direct["PORT"], direct["USER"]) == (
        "aws-0-eu-west-1.pooler.supabase.com",
        "5432",
        f"postgres.{REF}",
    )
    assert direct["SUPAHYBRID"]["MODE"] == "session"
    assert direct["TEST"] == {"MIRROR": "default"}


def test_databases_config_with_explicit_direct_url_and_alias() -> None:
    databases = databases_with_direct(DEDICATED, DIRECT, direct_alias="migrations")
    assert databases["migrations"]["SUPAHYBRID"]["MODE"] == "direct"
    assert databases["migrations"]["PORT"] == "5432"


def test_databases_config_without_a_pooler_has_one_alias() -> None:
    assert set(databases_with_direct(DIRECT)) == {"default"}


def test_databases_config_self_hosted_pooler_needs_direct_url() -> None:
    with pytest.raises(ImproperlyConfigured, match="needs direct_url"):
        databases_with_direct("postgresql://u@10.0.0.5:6432/app", mode="transaction")
    databases = databases_with_direct(
        "postgresql://u@10.0.0.5:6432/app", "postgresql://u@10.0.0.5:5432/app", mode="transaction"
    )
    assert databases["direct"]["PORT"] == "5432"
