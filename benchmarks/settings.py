"""The example project's settings, plus the bare views the benchmarks compare against."""

from __future__ import annotations

import os

# The example's settings need both with debug off (their default); the benchmarks sign
# tokens with the example's development secret, as they did when debug was on by default.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmarks-only-secret-key-long-enough-for-checks")
os.environ.setdefault(
    "SUPABASE_JWT_SECRET", "super-secret-jwt-token-with-at-least-32-characters-long"
)

from config.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "benchmarks.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
