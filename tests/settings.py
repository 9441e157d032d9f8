"""Settings for the library's test suite: real PostgreSQL and Redis from the environment.

``DATABASE_URL`` and ``REDIS_URL`` name the servers; by default a PostgreSQL and a Redis on
their usual local ports. ``python3 scripts/dev.py test`` finds or starts servers and sets
both variables.
"""

from __future__ import annotations

import os
import uuid

from django_supahybrid.cache import cache_config
from django_supahybrid.db import database_config

SECRET_KEY = "tests-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

_DATABASE_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/supahybrid"
_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"

_default = database_config(_DATABASE_URL)
DATABASES = {
    "default": _default,
    # A second alias on the same server, so ``using=`` code paths are exercised.
    "other": database_config(_DATABASE_URL, TEST={"NAME": f"test_{_default['NAME']}_other"}),
}

# A key prefix of this run's own: tests that empty the cache delete only keys under it
# (delete_pattern), never other programs' keys or another run's on a shared Redis. The
# worker processes the tests start inherit it through the environment.
_RUN = os.environ.setdefault("SUPAHYBRID_TEST_RUN", uuid.uuid4().hex[:12])
CACHES = {"default": cache_config(_REDIS_URL, key_prefix=f"supahybrid-tests:{_RUN}")}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "django_supahybrid",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "tests.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SUPAHYBRID: dict[str, object] = {}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
