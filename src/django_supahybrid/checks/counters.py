"""System checks for sharded counters' shard models (ids E030, E031)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.db import models

from django_supahybrid.counters.sharded import CounterShardBase, shard_owner

__all__ = ["check_counter_shards"]


def check_counter_shards(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Validate the shard models of sharded counters (``CounterShardBase`` subclasses)."""
    if app_configs is None:
        candidates = list(apps.get_models())
    else:
        candidates = [model for config in app_configs for model in config.get_models()]
    return _shard_model_messages(candidates)


def _shard_model_messages(candidates: list[type[models.Model]]) -> list[checks.CheckMessage]:
    """System check messages for the `CounterShardBase` subclasses among ``candidates``."""
    messages: list[checks.CheckMessage] = []
    for model in candidates:
        if not issubclass(model, CounterShardBase) or model._meta.proxy:
            continue
        owner = shard_owner(model)
        if owner is None:
            messages.append(
                checks.Error(
                    f"{model._meta.label} must have exactly one ForeignKey (to the counted "
                    "model); it is the row the slots belong to.",
                    hint="Keep the shard model to that key plus the inherited slot and count.",
                    obj=model,
                    id="supahybrid.E030",
                )
            )
            continue
        wanted = {owner.name, "slot"}
        unique_sets = [set(c.fields) for c in model._meta.total_unique_constraints]
        unique_sets += [set(fields) for fields in model._meta.unique_together]
        if wanted not in unique_sets:
            messages.append(
                checks.Error(
                    f"{model._meta.label} has no unique constraint on ({owner.name!r}, 'slot'); "
                    "ShardedCounter.add() upserts on it.",
                    hint=f"Add models.UniqueConstraint(fields=[{owner.name!r}, 'slot'], "
                    "name=...) to its Meta.constraints.",
                    obj=model,
                    id="supahybrid.E031",
                )
            )
    return messages
