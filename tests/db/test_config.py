from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.db import database_config


def test_supabase_pooler_url() -> None:
    config = database_config(
        "postgresql://postgres.abcdefgh:p%40ss@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
        "?sslmode=require"
    )
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres.abcdefgh",
        "PASSWORD": "p@ss",
        "HOST": "aws-0-eu-central-1.pooler.supabase.com",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require", "connect_timeout": 10},
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "CONN_HEALTH_CHECKS": True,
        "CONN_MAX_AGE": 60,
        "SUPAHYBRID": {"MODE": "transaction", "POOL": None, "ROLE": "web", "SUPABASE": True},
    }


def test_socket_host_and_defaults() -> None:
    config = database_config("postgres://postgres:@/?host=/var/run/postgresql")
    assert config["HOST"] == "/var/run/postgresql"
    assert config["NAME"] == "postgres"
    assert config["PORT"] == ""
    assert config["OPTIONS"] == {}


def test_options_merge() -> None:
    config = database_config(
        "postgres://u@h/db?sslmode=require",
        CONN_MAX_AGE=60,
        OPTIONS={"connect_timeout": 5},
    )
    assert config["CONN_MAX_AGE"] == 60
    assert config["OPTIONS"] == {"sslmode": "require", "connect_timeout": 5}


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u@h/db", "scheme 'mysql'"), ("postgres://u@h:99999/db", "invalid port")],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        database_config(url)


@pytest.mark.django_db(databases=["default", "other"])
def test_both_aliases_reach_real_postgres() -> None:
    from django.db import connections

    for alias in ("default", "other"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT current_database(), current_setting('server_version_num')")
            name, version = cursor.fetchone()
        assert name == connections[alias].settings_dict["NAME"]
        assert int(version) >= 150000
    assert (
        connections["default"].settings_dict["NAME"] != connections["other"].settings_dict["NAME"]
    )
