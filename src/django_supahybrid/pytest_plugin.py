"""pytest fixtures for your own tests: ``pytest_plugins = ["django_supahybrid.pytest_plugin"]``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from django_supahybrid import testing_queries

__all__ = ["assert_queries_do_not_grow"]


@pytest.fixture
def assert_queries_do_not_grow() -> Callable[..., int]:
    """:func:`django_supahybrid.testing_queries.assert_queries_do_not_grow`, as a fixture."""
    return testing_queries.assert_queries_do_not_grow
