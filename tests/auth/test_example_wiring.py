"""The example project authenticates with the library's class, configured from the environment."""

from __future__ import annotations

import importlib


def test_example_lists_supabase_authentication_first() -> None:
    example = importlib.import_module("config.settings")
    classes = example.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes[0] == "django_supahybrid.authentication.SupabaseJWTAuthentication"
    assert example.SUPAHYBRID["JWT_SECRET"] == example.SUPABASE_JWT_SECRET
    assert example.SUPAHYBRID["SUPABASE_URL"] == example.SUPABASE_URL
