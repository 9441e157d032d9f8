"""Settings for the example project, read from environment variables.

| variable | default |
|---|---|
| ``DATABASE_URL`` | required (``postgresql://user:password@host:port/name``) |
| ``REDIS_URL`` | required (``redis://host:port/db``) |
| ``SUPABASE_URL`` | ``http://127.0.0.1:54321`` (the Supabase CLI's local URL) |
| ``SUPABASE_JWT_SECRET`` | a development secret, in debug mode only |
| ``SUPABASE_JWKS_URL`` | ``<SUPABASE_URL>/auth/v1/.well-known/jwks.json`` |
| ``SUPAHYBRID_DB_POOL`` | ``persistent``; or ``none``, ``django``, ``dj_db_conn_pool`` |
| ``SUPAHYBRID_DB_POOL_SIZE`` | ``4`` (connections per process, with a pool) |
| ``SUPAHYBRID_DB_MODE`` | detected from the URL; ``transaction`` for a self-hosted PgBouncer |
| ``DJANGO_SECRET_KEY`` | a development key, in debug mode only |
| ``DJANGO_DEBUG`` | ``false`` |
| ``ALLOWED_HOSTS`` | ``localhost,127.0.0.1,[::1]`` (comma-separated) |
| ``NOTIFICATION_STREAM_KEEPALIVE`` | ``15`` (seconds) |
| ``DJANGO_SECURE_SSL_REDIRECT`` | ``false`` (debug off only; the proxy redirects) |
| ``DJANGO_HSTS_SECONDS`` | ``3600`` (debug off only) |
| ``DJANGO_HSTS_INCLUDE_SUBDOMAINS``, ``DJANGO_HSTS_PRELOAD`` | ``false`` (debug off only) |

docs/example.md describes each, and what changes when ``DJANGO_DEBUG`` is off. Nothing
here finds or starts a server: in the repository, ``python3 scripts/dev.py serve`` does,
and prints the variables to export for ``manage.py`` run by hand.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_supahybrid.cache import cache_config
from django_supahybrid.db import database_config


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _required(name: str, example: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set, for example {name}={example}")
    return value


# Off unless asked for: debug mode trusts the public development secrets below.
DEBUG = _env_bool("DJANGO_DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-example-project-development-only"
_DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_supahybrid",
    "core",
    "accounts",
    "campaigns",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two doors, one wall: a request with a Supabase access token runs as the request role
    # with its claims, under the row level security the *_tenant_wall migrations create.
    # On a plain PostgreSQL (no Supabase roles) it does nothing (docs/example.md).
    "django_supahybrid.tenancy.wall.TenantWallMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]


def _database_options() -> dict[str, Any]:
    """Pooling and pooler mode from the environment (the pooling benchmark sets them)."""
    options: dict[str, Any] = {"mode": os.environ.get("SUPAHYBRID_DB_MODE") or None}
    pool = os.environ.get("SUPAHYBRID_DB_POOL", "persistent")
    if pool == "none":
        options["CONN_MAX_AGE"] = 0
    elif pool in ("django", "dj_db_conn_pool"):
        options["pool"] = pool
        options["pool_size"] = int(os.environ.get("SUPAHYBRID_DB_POOL_SIZE", "4"))
    elif pool != "persistent":
        raise ImproperlyConfigured(f"SUPAHYBRID_DB_POOL={pool!r} is not a known pooling choice.")
    return options


DATABASES = {
    "default": database_config(
        _required("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/example"),
        **_database_options(),
    )
}

CACHES = {
    "default": cache_config(
        _required("REDIS_URL", "redis://127.0.0.1:6379/0"), key_prefix="example"
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"

SUPABASE_URL = os.environ.get("SUPABASE_URL", "http://127.0.0.1:54321").rstrip("/")
SUPABASE_JWT_SECRET = os.environ.get("SUPABASE_JWT_SECRET") or (_DEV_JWT_SECRET if DEBUG else None)

SUPAHYBRID = {
    "SUPABASE_URL": SUPABASE_URL,
    # The legacy HS256 secret (and, in development, the key `manage.py supahybrid_token`
    # signs with); signing keys come from the project's JWKS, derived from SUPABASE_URL
    # unless SUPABASE_JWKS_URL overrides it.
    "JWT_SECRET": SUPABASE_JWT_SECRET,
    "JWKS_URL": os.environ.get("SUPABASE_JWKS_URL") or None,
    # A user's organization is their profile's (accounts.UserProfile).
    "ORGANIZATION_LOOKUP": "profile__organization",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_supahybrid.authentication.SupabaseJWTAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONObjectParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "django_supahybrid.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# The OpenAPI document at /api/schema/ (drf-spectacular).
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaigns API",
    "DESCRIPTION": (
        "Campaigns, votes, voter interactions and notifications of the caller's "
        "organization. Sign in with Supabase Auth and send its access token as "
        "`Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_errors_and_limits",
    ],
}

# Seconds without a notification after which GET /api/notifications/stream/ sends a
# keep-alive comment (and notices a client that went away).
NOTIFICATION_STREAM_KEEPALIVE = float(os.environ.get("NOTIFICATION_STREAM_KEEPALIVE", "15"))

# Request bodies above this many bytes are answered with a 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

if not DEBUG:
    # Production: HTTPS terminated by a proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "3600"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = _env_bool("DJANGO_HSTS_PRELOAD", False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_supahybrid": {"handlers": ["console"], "level": "INFO"}},
}

# Monitoring: one log line per request with its time and SQL query count, and the library's
# counters at /api/metrics/ for staff users or a scraper sending X-Metrics-Token.
MIDDLEWARE.insert(1, "django_supahybrid.monitoring.middleware.RequestMetricsMiddleware")
SUPAHYBRID["REQUEST_METRICS_SERVER_TIMING"] = DEBUG
SUPAHYBRID["METRICS_TOKEN"] = os.environ.get("METRICS_TOKEN") or None
