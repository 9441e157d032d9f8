"""Benchmark settings for the authentication comparison.

``BENCH_AUTH_MODE`` picks how ``SupabaseJWTAuthentication`` caches: ``local`` (the default
configuration), ``redis`` (no per-process cache: every request is a Redis hit) or ``cold``
(no cache at all: every request verifies the token and queries the user).
"""

from __future__ import annotations

import os

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import MIDDLEWARE

# Without the tenant wall's middleware, which checks every Bearer token before the view:
# with it, AllowAny (sent the same tokens) would pay for the authentication it is the
# floor of, and simplejwt's tokens would be verified, and refused, by supahybrid as well.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.endswith(".TenantWallMiddleware")]

BENCH_JWT_SECRET = "benchmark-only-jwt-secret-with-more-than-32-characters"  # noqa: S105

_MODES = {
    "local": {},
    "redis": {"AUTH_LOCAL_CACHE_SIZE": 0},
    "cold": {"AUTH_LOCAL_CACHE_SIZE": 0, "AUTH_CACHE": None},
}

SUPAHYBRID = {
    "SUPABASE_URL": "http://127.0.0.1:54321",
    "JWT_SECRET": BENCH_JWT_SECRET,
    "JWKS_URL": False,
    **_MODES[os.environ.get("BENCH_AUTH_MODE", "local")],
}

SIMPLE_JWT = {"SIGNING_KEY": BENCH_JWT_SECRET, "ALGORITHM": "HS256"}
