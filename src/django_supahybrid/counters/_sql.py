"""Helpers both counter modules use to build their SQL: fields, columns, errors."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models

from django_supahybrid.counters.errors import CounterFieldError

__all__ = ["column", "counter_field", "does_not_exist"]


def counter_field(model: type[models.Model], name: str) -> models.IntegerField[Any, Any]:
    label = model._meta.label
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise CounterFieldError(f"{label} has no field named {name!r}.") from None
    # An AutoField is always the primary key (Django's check fields.E100).
    if not isinstance(field, models.IntegerField) or field.primary_key:
        raise CounterFieldError(
            f"{label}.{name} is a {type(field).__name__}; a counter must be a non-key integer "
            "field (IntegerField, BigIntegerField, SmallIntegerField or a Positive* variant)."
        )
    return field


def column(field: models.Field[Any, Any]) -> str:
    # Only non-concrete fields (never a counter or a key) have no column.
    return cast(str, field.column)


def does_not_exist(model: type[models.Model]) -> type[ObjectDoesNotExist]:
    return model.DoesNotExist  # type: ignore[attr-defined, no-any-return]
