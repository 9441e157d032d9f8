"""Atomic counters: ``UPDATE ... SET n = n + 1 ... RETURNING n``, one round trip, no lost update.

``obj.n += 1; obj.save()`` reads, adds in Python and writes back: two requests that read
the same value both write ``value + 1`` and one vote is lost. The functions here let
PostgreSQL do the arithmetic on the row itself, under its row lock, and hand back the new
value in the same statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, overload

from django.db import connections, models, router
from django.db.models import F, Q

from django_supahybrid.counters._sql import column, counter_field, does_not_exist
from django_supahybrid.counters.errors import (
    CounterBoundError,
    CounterError,
    CounterFieldError,
    CounterKind,
)

__all__ = [
    "Bound",
    "CounterBoundError",
    "CounterError",
    "CounterFieldError",
    "decrement",
    "decrement_all",
    "increment",
    "increment_all",
]

#: A floor or ceiling: one limit for every field of the call, or a limit per field name.
Bound = int | Mapping[str, int] | None
_Guard = tuple[str, CounterKind, int, int]  # (field, kind, limit, delta)


def _as_deltas(field: str | Mapping[str, int], by: int) -> dict[str, int]:
    if isinstance(field, str):
        deltas = {field: by}
    else:
        if by != 1:
            raise TypeError("Pass either a field name and `by`, or a mapping of field to delta.")
        deltas = dict(field)
        if not deltas:
            raise ValueError("The mapping of field to delta is empty.")
    for name, delta in deltas.items():
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError(f"The delta for {name!r} must be an int, got {delta!r}.")
    return deltas


def _bounds(bound: Bound, names: Mapping[str, int], kind: CounterKind) -> dict[str, int]:
    if bound is None:
        return {}
    if isinstance(bound, int) and not isinstance(bound, bool):
        return dict.fromkeys(names, bound)
    if not isinstance(bound, Mapping):
        raise TypeError(f"`{kind}` must be an int or a mapping of field to int, got {bound!r}.")
    extra = sorted(set(bound) - set(names))
    if extra:
        raise ValueError(f"`{kind}` names field(s) that are not being changed: {extra}.")
    for name, limit in bound.items():
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise TypeError(f"The {kind} for {name!r} must be an int, got {limit!r}.")
    return dict(bound)


def _guards(deltas: Mapping[str, int], floor: Bound, ceiling: Bound) -> list[_Guard]:
    """``(field, kind, limit, delta)`` for each bound that restrains this change.

    A bound only restrains movement towards it: a floor is checked when a field goes down,
    a ceiling when it goes up, so a counter already outside its range can move back in.
    """
    guards: list[_Guard] = []
    for name, limit in _bounds(floor, deltas, "floor").items():
        if deltas[name] < 0:
            guards.append((name, "floor", limit, deltas[name]))
    for name, limit in _bounds(ceiling, deltas, "ceiling").items():
        if deltas[name] > 0:
            guards.append((name, "ceiling", limit, deltas[name]))
    return guards


def _crosses(value: int, kind: CounterKind, limit: int, delta: int) -> bool:
    return value + delta < limit if kind == "floor" else value + delta > limit


@overload
def increment(
    obj: models.Model, field: str, by: int = 1, *,
    floor: Bound = None, ceiling: Bound = None, using: str | None = None,
) -> int: ...  # fmt: skip
@overload
def increment(
    obj: models.Model, field: Mapping[str, int], *,
    floor: Bound = None, ceiling: Bound = None, using: str | None = None,
) -> dict[str, int]: ...  # fmt: skip
def increment(
    obj: models.Model,
    field: str | Mapping[str, int],
    by: int = 1,
    *,
    floor: Bound = None,
    ceiling: Bound = None,
    using: str | None = None,
) -> int | dict[str, int]:
    """Add ``by`` to ``obj.<field>`` in the database and return the new value.

    One ``UPDATE ... SET field = field + by WHERE pk = ... RETURNING field`` statement: no
    read-modify-write, so concurrent callers never lose an update. The new value is also
    set on ``obj`` (no re-fetch). ``field`` may be a mapping ``{"name": delta, ...}`` to
    change several counters of the row in the same statement; the result is then a dict.

    ``floor`` / ``ceiling`` (an int for every field, or a mapping per field) refuse a change
    that would take a counter below / above the limit: nothing at all is written and
    `CounterBoundError` is raised. The check happens in the ``UPDATE``'s ``WHERE``
    clause, under the row lock, so it holds under any concurrency.

    Raises `CounterFieldError` for an unknown or non-integer field, ``ValueError``
    for an unsaved instance and ``type(obj).DoesNotExist`` when the row is gone. Works in
    and out of ``transaction.atomic()``; ``using`` defaults to the router's write database.
    """
    return _change(obj, field, by, 1, floor=floor, ceiling=ceiling, using=using)


def _change(
    obj: models.Model,
    field: str | Mapping[str, int],
    by: int,
    sign: int,
    *,
    floor: Bound,
    ceiling: Bound,
    using: str | None,
) -> int | dict[str, int]:
    deltas = {name: sign * delta for name, delta in _as_deltas(field, by).items()}
    model = type(obj)
    fields = {name: counter_field(model, name) for name in deltas}
    tables = {f.model._meta.db_table for f in fields.values()}
    if len(tables) > 1:
        raise CounterFieldError(
            f"{', '.join(deltas)} live in different tables ({', '.join(sorted(tables))}) "
            f"of {model._meta.label}; change them in separate calls."
        )
    if obj.pk is None:
        raise ValueError(
            f"Cannot change a counter of an unsaved {model._meta.label} instance; save it first."
        )
    guards = _guards(deltas, floor, ceiling)
    alias = using or router.db_for_write(model, instance=obj)
    values = _update_row(obj, fields, deltas, guards, alias)
    for name, value in values.items():
        setattr(obj, fields[name].attname, value)
    return values if not isinstance(field, str) else values[field]


def _update_row(
    obj: models.Model,
    fields: Mapping[str, models.IntegerField[Any, Any]],
    deltas: Mapping[str, int],
    guards: list[_Guard],
    alias: str,
) -> dict[str, int]:
    connection = connections[alias]
    qn = connection.ops.quote_name
    meta = next(iter(fields.values())).model._meta
    table, pk = qn(meta.db_table), qn(column(meta.pk))
    pk_value = meta.pk.get_db_prep_value(getattr(obj, meta.pk.attname), connection)
    names = list(deltas)
    columns = [qn(column(fields[name])) for name in names]
    assignments = ", ".join(f"{col} = {col} + %s" for col in columns)
    returning = ", ".join(columns)
    params: list[Any] = [deltas[name] for name in names]
    update = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 (quoted names)
    if not guards:
        sql = f"{update} RETURNING {returning}"
        params.append(pk_value)
    else:
        # Each guard compares the stored value with a constant (limit - delta), so
        # PostgreSQL evaluates it on the locked, latest row version. The second branch
        # reads the row when the update was refused, to tell a crossed bound from a
        # missing row in the same round trip.
        conditions = "".join(
            f" AND {qn(column(fields[name]))} {'>=' if kind == 'floor' else '<='} %s"
            for name, kind, _, _ in guards
        )
        sql = (
            f"WITH updated AS ({update}{conditions} RETURNING {returning}) "  # noqa: S608
            f"SELECT true, {returning} FROM updated UNION ALL "
            f"SELECT false, {returning} FROM {table} "
            f"WHERE {pk} = %s AND NOT EXISTS (SELECT 1 FROM updated)"
        )
        params += [pk_value, *(limit - delta for _, _, limit, delta in guards), pk_value]
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            model = type(obj)
            raise does_not_exist(model)(
                f"{model._meta.label}(pk={obj.pk!r}) no longer exists; no counter was changed."
            )
        if not guards:
            return dict(zip(names, row, strict=True))
        updated, current = row[0], dict(zip(names, row[1:], strict=True))
        if updated:
            return current
        for name, kind, limit, delta in guards:
            if _crosses(current[name], kind, limit, delta):
                raise CounterBoundError(
                    model=type(obj), pk=obj.pk, field=name, value=current[name], delta=delta,
                    kind=kind, limit=limit,
                )  # fmt: skip
        # Refused, yet the value read in the same statement's snapshot is within bounds: a
        # concurrent transaction changed (or deleted) the row while this one waited for
        # its lock. Run again on a fresh snapshot; each retry follows someone else's commit.


@overload
def decrement(
    obj: models.Model, field: str, by: int = 1, *,
    floor: Bound = None, ceiling: Bound = None, using: str | None = None,
) -> int: ...  # fmt: skip
@overload
def decrement(
    obj: models.Model, field: Mapping[str, int], *,
    floor: Bound = None, ceiling: Bound = None, using: str | None = None,
) -> dict[str, int]: ...  # fmt: skip
def decrement(
    obj: models.Model,
    field: str | Mapping[str, int],
    by: int = 1,
    *,
    floor: Bound = None,
    ceiling: Bound = None,
    using: str | None = None,
) -> int | dict[str, int]:
    """Subtract ``by`` (or each delta of a mapping): `increment` with the sign flipped."""
    return _change(obj, field, by, -1, floor=floor, ceiling=ceiling, using=using)


def increment_all(
    queryset: models.QuerySet[Any],
    field: str | Mapping[str, int],
    by: int = 1,
    *,
    floor: Bound = None,
    ceiling: Bound = None,
) -> int:
    """Add ``by`` to ``field`` on every row of ``queryset``; return how many rows changed.

    With ``floor`` / ``ceiling``, rows the change would take past a limit are left as they
    are and not counted. The database is the queryset's (``queryset.using(alias)``).
    """
    return _change_all(queryset, field, by, 1, floor=floor, ceiling=ceiling)


def _change_all(
    queryset: models.QuerySet[Any],
    field: str | Mapping[str, int],
    by: int,
    sign: int,
    *,
    floor: Bound,
    ceiling: Bound,
) -> int:
    deltas = {name: sign * delta for name, delta in _as_deltas(field, by).items()}
    for name in deltas:
        counter_field(queryset.model, name)
    condition = Q()
    for name, kind, limit, delta in _guards(deltas, floor, ceiling):
        lookup = "gte" if kind == "floor" else "lte"
        condition &= Q(**{f"{name}__{lookup}": limit - delta})
    changes = {name: F(name) + delta for name, delta in deltas.items()}
    return queryset.filter(condition).update(**changes)


def decrement_all(
    queryset: models.QuerySet[Any],
    field: str | Mapping[str, int],
    by: int = 1,
    *,
    floor: Bound = None,
    ceiling: Bound = None,
) -> int:
    """Subtract ``by`` on every row of ``queryset``: `increment_all` with the sign flipped."""
    return _change_all(queryset, field, by, -1, floor=floor, ceiling=ceiling)
