"""The benchmark settings plus the test app's campaigns, for ``bench_wall``."""

from __future__ import annotations

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE, SUPAHYBRID

BENCH_JWT_SECRET = "benchmark-only-jwt-secret-with-more-than-32-characters"  # noqa: S105

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
ROOT_URLCONF = "benchmarks.wall_urls"
SUPAHYBRID = {
    **SUPAHYBRID,
    "SUPABASE_URL": "http://127.0.0.1:54321",
    "JWT_SECRET": BENCH_JWT_SECRET,
    "JWKS_URL": False,
    "ORGANIZATION_LOOKUP": "scoping_memberships__organization",
}

# The wall comes from the views' mixin only, so each case says whether it is walled.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.endswith(".TenantWallMiddleware")]
# One transaction per request, as most projects that use the wall would run; the
# autocommit cases are exempt from it (benchmarks.wall_urls).
DATABASES = {"default": {**DATABASES["default"], "ATOMIC_REQUESTS": True}}
