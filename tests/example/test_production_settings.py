"""``config/settings.py`` with ``DJANGO_DEBUG`` off: production settings, no dev secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.test_example_smoke import EXAMPLE, _example_env

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


def _settings(**env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {_PRINT}"],
        cwd=EXAMPLE,
        env={**_example_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
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


def test_debug_off_needs_a_secret_key() -> None:
    env = {**_example_env(), "DJANGO_SECRET_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in done.stderr


def test_deploy_checks_pass_with_the_documented_production_environment() -> None:
    env = {
        **_example_env(),
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_HSTS_SECONDS": "31536000",
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_HSTS_PRELOAD": "true",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
