"""Constants of the authentication tests, and a shared cache emptied around each of them.

The fixtures themselves (``configure``, ``signing_keys``, ``jwks_server``) come from the
library's pytest plugin, enabled in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches

from django_supahybrid.testing import TEST_JWT_SECRET, TEST_SUPABASE_URL, reset_process_state

SECRET = TEST_JWT_SECRET
SUPABASE_URL = TEST_SUPABASE_URL
ISSUER = SUPABASE_URL + "/auth/v1"

Configure = Callable[..., dict[str, Any]]

reset_auth_state = reset_process_state


def clear_shared_cache() -> None:
    """Delete this test run's keys only (its key prefix, see ``tests/settings.py``).

    Never ``cache.clear()``: that empties the whole Redis database, other programs' keys
    included.
    """
    caches["default"].delete_pattern("*")


@pytest.fixture(autouse=True)
def _clean_shared_cache() -> None:
    clear_shared_cache()
