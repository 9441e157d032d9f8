"""Database routers for the tests of router-aware code."""

from __future__ import annotations

from typing import Any


class MigrateOnlyOn:
    """Migrates ``app_label``'s models only on database ``alias`` (and the rest anywhere)."""

    def __init__(self, app_label: str, alias: str) -> None:
        self.app_label = app_label
        self.alias = alias

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if app_label == self.app_label:
            return db == self.alias
        return None


class Pinned:
    """Reads and writes everything on ``alias``."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True
