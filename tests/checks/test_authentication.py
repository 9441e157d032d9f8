"""The authentication system checks, each fired and each quiet."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from django_supahybrid.checks.authentication import check_authentication
from tests.authentication.conftest import SUPABASE_URL, Configure

_CLASS = "django_supahybrid.authentication.SupabaseJWTAuthentication"
_MIDDLEWARE = "django_supahybrid.authentication.SupabaseAuthenticationMiddleware"


def _ids() -> list[str]:
    return [m.id for m in check_authentication()]  # type: ignore[misc]


@pytest.fixture
def in_use(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [_CLASS],
    }


def test_default_configuration_is_quiet(configure: Configure) -> None:
    assert check_authentication() == []


def test_invalid_settings_are_left_to_e001(settings: Any) -> None:
    settings.SUPAHYBRID = {"BOGUS": 1}
    assert check_authentication() == []


@pytest.mark.usefixtures("in_use")
def test_e010_no_key_material(configure: Configure) -> None:
    configure(JWT_SECRET=None, JWKS_URL=False)
    [message] = check_authentication()
    assert isinstance(message, Error)
    assert message.id == "supahybrid.E010"
    assert "JWT_SECRET" in message.msg
    assert message.hint
    configure(JWT_SECRET=None, JWKS_URL=None)  # the JWKS derived from SUPABASE_URL
    assert _ids() == []


def test_e010_also_for_the_session_class(configure: Configure, settings: Any) -> None:
    configure(JWT_SECRET=None, JWKS_URL=False)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.SessionAuthentication",
            "django_supahybrid.authentication.revocation.SupabaseSessionAuthentication",
        ],
    }
    assert _ids() == ["supahybrid.E010"]


def test_e010_also_for_the_middleware(configure: Configure, settings: Any) -> None:
    configure(JWT_SECRET=None, JWKS_URL=False)
    assert _ids() == []  # not in use: not reported
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, _MIDDLEWARE]
    assert _ids() == ["supahybrid.E010"]


def test_e011_short_secret(configure: Configure) -> None:
    configure(JWT_SECRET="too-short")
    [message] = check_authentication()
    assert message.id == "supahybrid.E011"
    assert "9 characters" in message.msg
    assert "too-short" not in message.msg + (message.hint or "")


@pytest.mark.usefixtures("in_use")
def test_e012_issuer_unknown(configure: Configure) -> None:
    configure(SUPABASE_URL=None)
    assert _ids() == ["supahybrid.E012"]
    configure(SUPABASE_URL=None, JWT_ISSUER="https://auth.example.com")
    assert _ids() == []


def test_e013_unknown_cache_alias(configure: Configure) -> None:
    configure(AUTH_CACHE="nope")
    [message] = check_authentication()
    assert message.id == "supahybrid.E013"
    assert "'default'" in (message.hint or "")
    configure(AUTH_CACHE=None)
    assert _ids() == []


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_w011_per_process_cache(
    backend: str, configure: Configure, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    settings.CACHES = {**settings.CACHES, "local": {"BACKEND": backend}}
    configure(AUTH_CACHE="local")
    [message] = check_authentication()
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W011"
    assert backend in message.msg
    configure(AUTH_CACHE="local", WEB_PROCESSES=1)
    assert _ids() == []  # a single process is fine


def test_w011_names_a_known_process_count(configure: Configure, settings: Any) -> None:
    """W011 also covers what the retired W052 reported: a known count above one."""
    settings.CACHES = {
        **settings.CACHES,
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    configure(AUTH_CACHE="local", WEB_PROCESSES=3)
    [message] = check_authentication()
    assert message.id == "supahybrid.W011"
    assert "3 web processes" in message.msg
    configure(AUTH_CACHE="dummy", WEB_PROCESSES=4)
    assert _ids() == ["supahybrid.W011"]
    configure(AUTH_CACHE="default", WEB_PROCESSES=4)  # Redis: shared by every process
    assert _ids() == []


def test_w010_issuer_check_off(configure: Configure) -> None:
    configure(JWT_ISSUER=False)
    [message] = check_authentication()
    assert isinstance(message, Warning)
    assert message.id == "supahybrid.W010"


@pytest.mark.parametrize(
    "field",
    [
        "nope",
        "email",
        "username",
        "groups__id",  # not one-to-one
        "nope__supabase_uid",
        "supabase_profile__user",  # not a UUID
        "supabase_profile__nope",
    ],
)
def test_e014_user_uuid_field(field: str, configure: Configure) -> None:
    configure(AUTH_USER_UUID_FIELD=field)
    assert _ids() == ["supahybrid.E014"]


def test_e014_quiet_for_a_path_to_a_profile(configure: Configure) -> None:
    configure(AUTH_USER_UUID_FIELD="supabase_profile__supabase_uid")
    assert _ids() == []


def test_e014_quiet_for_a_unique_uuid_field(configure: Configure) -> None:
    with override_settings(AUTH_USER_MODEL="testapp.UUIDUser"):
        configure(AUTH_USER_UUID_FIELD="supabase_id")
        assert _ids() == []


def test_registered_with_django(configure: Configure) -> None:
    from django.core.checks import run_checks

    configure(SUPABASE_URL=SUPABASE_URL, JWT_ISSUER=False)
    assert "supahybrid.W010" in [m.id for m in run_checks()]
