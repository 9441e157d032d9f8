"""``config/settings.py`` with ``DJANGO_DEBUG`` off: production settings, no dev secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support import EXAMPLE, example_env

_PRINT = """
import json
from django.conf import settings
names = [
    "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS", "SUPAHYBRID", "REST_FRAMEWORK",
]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python <args>`` in the example's directory, with DEBUG off unless ``env`` says."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=EXAMPLE,
        env={**example_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(**env: str) -> dict[str, Any]:
    done = _run("-c", f"import django; django.setup(); {_PRINT}", **env)
    assert done.returncode == 0, done.stderr
    values: dict[str, Any] = json.loads(done.stdout)
    return values


def test_production_settings_with_debug_off() -> None:
    values = _settings(ALLOWED_HOSTS="api.example.org, www.example.org")
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["api.example.org", "www.example.org"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    # Redirects are left to the TLS-terminating proxy unless asked for.
    assert values["SECURE_SSL_REDIRECT"] is False
    assert _settings(DJANGO_SECURE_SSL_REDIRECT="true")["SECURE_SSL_REDIRECT"] is True


def test_no_development_jwt_secret_with_debug_off() -> None:
    auth = "django_supahybrid.authentication.SupabaseJWTAuthentication"
    production = _settings(SUPABASE_JWT_SECRET="")
    assert production["SUPAHYBRID"]["JWT_SECRET"] is None
    assert production["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"][0] == auth
    given = _settings(SUPABASE_JWT_SECRET="a-real-project-secret-of-at-least-32-chars")
    assert given["SUPAHYBRID"]["JWT_SECRET"] == "a-real-project-secret-of-at-least-32-chars"
    development = _settings(SUPABASE_JWT_SECRET="", DJANGO_DEBUG="true")
    assert development["SUPAHYBRID"]["JWT_SECRET"]  # the development secret
    jwks = _settings(SUPABASE_JWKS_URL="https://keys.example.org/jwks.json")
    assert jwks["SUPAHYBRID"]["JWKS_URL"] == "https://keys.example.org/jwks.json"


def test_debug_off_needs_a_secret_key() -> None:
    done = _run("-c", "import django; django.setup()", DJANGO_SECRET_KEY="")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in done.stderr


def test_deploy_checks_pass_with_the_documented_production_environment() -> None:
    done = _run(
        *("manage.py", "check", "--deploy", "--fail-level", "WARNING"),
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_HSTS_SECONDS="31536000",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_HSTS_PRELOAD="true",
    )
    assert done.returncode == 0, done.stderr


def test_debug_is_off_unless_asked_for() -> None:
    env = example_env()
    for name in ("DJANGO_DEBUG", "SUPABASE_JWT_SECRET"):
        env.pop(name, None)
    show = "from django.conf import settings; print(settings.DEBUG, settings.SUPAHYBRID)"
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {show}"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # No development JWT secret either: a forgotten variable cannot let forged tokens in.
    assert done.stdout.startswith("False {")
    assert "'JWT_SECRET': None" in done.stdout


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL"])
def test_the_servers_come_from_the_environment(name: str) -> None:
    done = _run("-c", "import django; django.setup()", **{name: ""})
    assert done.returncode != 0
    assert f"{name} must be set, for example {name}=" in done.stderr
