"""Database roles for tests that must not run as the suite's superuser."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

from tests.support import pgtools


def ensure_role(name: str, attributes: str = "NOLOGIN") -> str:
    """Create the role ``name`` (a test constant) unless it exists; return its name.

    CREATE ROLE has no IF NOT EXISTS, and roles belong to the whole server, which other
    test processes share: a concurrent creation shows up as duplicate_object or
    unique_violation, both meaning "it exists".
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $roles$ BEGIN\n"
            f"  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN\n"
            f'    CREATE ROLE "{name}" {attributes};\n'
            "  END IF;\n"
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\n"
            "END $roles$"
        )
    return name


@contextlib.contextmanager
def alias_as(role: str) -> Iterator[str]:
    """A throwaway alias on the test database whose connections ``SET ROLE`` to ``role``."""
    config = {**connection.settings_dict}
    config["OPTIONS"] = {**config["OPTIONS"], "assume_role": role}
    with pgtools.alias(config) as name:
        pgtools.connection(name)
        yield name
