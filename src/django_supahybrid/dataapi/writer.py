"""Build the migration ``manage.py supahybrid_lockdown`` writes: every open table, locked.

Tables that a lock-down operation in some migration on disk already covers are left out,
so running the command again after adding models locks only the new tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import apps
from django.db import migrations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder

from django_supahybrid.dataapi.exposure import tables_locked_by
from django_supahybrid.dataapi.operations import LockDownModel, LockDownTables, model_tables

__all__ = ["LockDownError", "lock_down_migration"]

DEFAULT_NAME = "lock_down_data_api"


class LockDownError(Exception):
    """The migration cannot be written (unknown app, no migrations, a conflict)."""


def _leaf(loader: MigrationLoader, app_label: str) -> tuple[str, str]:
    leaves = loader.graph.leaf_nodes(app_label)
    if len(leaves) != 1:
        raise LockDownError(
            f"App {app_label!r} has {len(leaves)} latest migrations "
            f"({', '.join(name for _, name in leaves)}); run 'manage.py makemigrations --merge' "
            "first."
        )
    leaf: tuple[str, str] = leaves[0]
    return leaf


def lock_down_migration(
    target: str, app_labels: Sequence[str] = (), name: str = DEFAULT_NAME
) -> migrations.Migration | None:
    """A migration of app ``target`` that locks down every table not yet covered.

    Covers the managed models of ``app_labels`` (default: every installed app, with
    Django's ``django_migrations`` table); ``None`` when there is nothing left to lock.
    Models of apps with migrations get `LockDownModel` and a dependency on their
    app's latest migration; apps without migrations get `LockDownTables`.
    """
    loader = MigrationLoader(None, ignore_no_migrations=True)
    try:
        apps.get_app_config(target)
        configs = [apps.get_app_config(label) for label in app_labels]
    except LookupError as exc:
        raise LockDownError(str(exc)) from None
    if target not in loader.migrated_apps:
        raise LockDownError(
            f"App {target!r} has no migrations package: choose an app of the project that has "
            "migrations to hold the new one."
        )
    target_leaf = _leaf(loader, target)
    covered = tables_locked_by(loader, loader.graph.nodes)
    operations: list[Operation] = []
    dependencies = {target_leaf}
    for config in configs or apps.get_app_configs():
        models = [
            model
            for model in config.get_models()
            if model._meta.managed and not model._meta.proxy
            if not set(model_tables(model)) <= covered
        ]
        if not models:
            continue
        if config.label in loader.migrated_apps:
            dependencies.add(_leaf(loader, config.label))
            operations += [LockDownModel(model._meta.label) for model in models]
        else:
            tables = sorted({t for model in models for t in model_tables(model)} - covered)
            operations.append(LockDownTables(tables))
    recorder = MigrationRecorder.Migration._meta.db_table
    if not app_labels and recorder not in covered:
        operations.append(LockDownTables([recorder]))
    if not operations:
        return None
    number = (MigrationAutodetector.parse_number(target_leaf[1]) or 0) + 1
    body = {"dependencies": sorted(dependencies), "operations": operations}
    migration: migrations.Migration = type("Migration", (migrations.Migration,), body)(
        f"{number:04d}_{name}", target
    )
    return migration
