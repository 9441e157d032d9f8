"""The example project's pooling switches (what the pooling benchmark sets)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured


@pytest.fixture(autouse=True)
def _restore_settings_module() -> Iterator[None]:
    yield
    # Leave the module as a plain import would have it, for whoever imports it next.
    with pytest.MonkeyPatch.context() as monkeypatch:
        _settings(monkeypatch)


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for name in ("SUPAHYBRID_DB_POOL", "SUPAHYBRID_DB_POOL_SIZE", "SUPAHYBRID_DB_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = importlib.import_module("config.settings")
    return importlib.reload(module)


def test_default_is_persistent(monkeypatch: pytest.MonkeyPatch) -> None:
    default = _settings(monkeypatch).DATABASES["default"]
    assert default["CONN_MAX_AGE"] == 60
    assert default["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("pool", "engine", "max_age"),
    [
        ("none", "django.db.backends.postgresql", 0),
        ("django", "django.db.backends.postgresql", 0),
        ("dj_db_conn_pool", "dj_db_conn_pool.backends.postgresql", 0),
    ],
)
def test_pool_choices(
    monkeypatch: pytest.MonkeyPatch, pool: str, engine: str, max_age: int
) -> None:
    default = _settings(
        monkeypatch, SUPAHYBRID_DB_POOL=pool, SUPAHYBRID_DB_POOL_SIZE="3"
    ).DATABASES["default"]
    assert default["ENGINE"] == engine
    assert default["CONN_MAX_AGE"] == max_age
    assert default["SUPAHYBRID"]["POOL"] == (None if pool == "none" else pool)


def test_transaction_mode_for_a_local_pgbouncer(monkeypatch: pytest.MonkeyPatch) -> None:
    default = _settings(monkeypatch, SUPAHYBRID_DB_MODE="transaction").DATABASES["default"]
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_unknown_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="SUPAHYBRID_DB_POOL='pgpool'"):
        _settings(monkeypatch, SUPAHYBRID_DB_POOL="pgpool")
