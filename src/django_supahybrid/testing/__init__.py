"""Test helpers for projects that use the library (and for its own tests).

- ``tokens``: `make_claims`, `mint_token`, `SigningKey` and
  `JWKSServer`: Supabase-shaped tokens and a JWKS on loopback;
- ``queries``: `assert_queries_do_not_grow`, the N+1 guard;
- ``supabase``: the Supabase test schema (roles, ``auth`` helpers, ``realtime``) and
  `supabase_test_database`, a throwaway database shaped like a Supabase project;
- ``dataapi``: `assert_data_api_closed`, proof that the Data API reaches no row;
- ``pytest_plugin``: fixtures; enable with
  ``pytest_plugins = ["django_supahybrid.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from django_supahybrid.testing.dataapi import assert_data_api_closed
from django_supahybrid.testing.queries import (
    QueryCountGrew,
    assert_queries_do_not_grow,
    count_queries,
)
from django_supahybrid.testing.supabase import (
    as_supabase_user,
    install_realtime_test_schema,
    install_supabase_test_schema,
    supabase_test_database,
    uninstall_realtime_test_schema,
)
from django_supahybrid.testing.tokens import (
    TEST_JWT_SECRET,
    TEST_SUPABASE_URL,
    JWKSServer,
    SigningKey,
    legacy_api_key,
    make_claims,
    mint_token,
    reset_process_state,
)

__all__ = [
    "TEST_JWT_SECRET",
    "TEST_SUPABASE_URL",
    "JWKSServer",
    "QueryCountGrew",
    "SigningKey",
    "as_supabase_user",
    "assert_data_api_closed",
    "assert_queries_do_not_grow",
    "count_queries",
    "install_realtime_test_schema",
    "install_supabase_test_schema",
    "legacy_api_key",
    "make_claims",
    "mint_token",
    "reset_process_state",
    "supabase_test_database",
    "uninstall_realtime_test_schema",
]
