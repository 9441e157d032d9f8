"""Serializer fields that cannot point outside the requesting user's organizations.

A plain ``PrimaryKeyRelatedField`` accepts the id of any row, so a client could attach
another tenant's campaign to its own interaction. These fields look the id up in the
user's rows only; another tenant's id gets the same 400 as an id that does not exist.
`scope_related_fields` does the same to the fields DRF generates, and
`check_related_rows` checks what a serializer validated, however it got there.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, TypeAlias

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from django_supahybrid.tenancy.membership import sees_every_organization, user_organizations
from django_supahybrid.tenancy.querysets import (
    OrganizationQuerySet,
    is_scoped_model,
    visible_rows,
)

__all__ = [
    "FoundRows",
    "ScopedPrimaryKeyRelatedField",
    "UserOrganizationField",
    "check_related_rows",
    "scope_related_fields",
]

FoundRows: TypeAlias = set[tuple[type[models.Model], Any]]
"""``(model, primary key)`` of rows a related field looked up inside the user's rows."""


def _request_user(field: serializers.RelatedField[Any, Any, Any]) -> Any:
    request = field.context.get("request")
    if request is None:
        raise ImproperlyConfigured(
            f"{type(field).__name__} {field.field_name!r} needs the request in the "
            "serializer context (generic views pass it; pass context={'request': request})."
        )
    return request.user


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A primary-key field limited to ``queryset.for_user(request.user)``.

    ``queryset`` must be an `OrganizationQuerySet`.
    """

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        if not isinstance(queryset, OrganizationQuerySet):
            raise ImproperlyConfigured(
                f"ScopedPrimaryKeyRelatedField {self.field_name!r} needs an "
                f"OrganizationQuerySet, got {type(queryset).__name__}."
            )
        return queryset.for_user(_request_user(self))


class UserOrganizationField(serializers.PrimaryKeyRelatedField[Any]):
    """A primary-key field for the organization itself: one of the user's organizations."""

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        assert queryset is not None  # only read-only fields have none, and they never ask
        user = _request_user(self)
        if not getattr(user, "is_authenticated", False):
            return queryset.none()
        if sees_every_organization(user):
            return queryset
        return queryset.filter(pk__in=user_organizations(user))


def scope_related_fields(
    serializer: serializers.BaseSerializer[Any], user: Any, found: FoundRows | None = None
) -> None:
    """Limit every writable related field of ``serializer`` to the rows ``user`` may see.

    A related field whose queryset is of a scoped model (one DRF generates for a foreign
    key or many-to-many field, or one declared by hand) then looks ids up in
    ``for_user(user)``: another tenant's id gets DRF's own 400, the same as an id that
    does not exist, and the browsable API's forms offer the user's rows only. Nested
    serializers are limited too. The queryset is narrowed when the field uses it, so
    building a serializer sends no query.

    ``found`` collects the rows that primary-key and slug fields looked up inside the
    user's rows, so that a later check need not look them up again.
    """
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child  # type: ignore[assignment]
    if not isinstance(serializer, serializers.Serializer):
        return
    for field in serializer.fields.values():
        if field.read_only:
            continue
        if isinstance(field, serializers.ManyRelatedField):
            field = field.child_relation
        if isinstance(field, serializers.BaseSerializer):
            scope_related_fields(field, user, found)
        elif isinstance(field, serializers.RelatedField):
            _scope_field(field, user, found)


# Lookups that take their rows from ``self.get_queryset()`` and nowhere else.
_QUERYSET_LOOKUPS = (
    serializers.PrimaryKeyRelatedField.to_internal_value,
    serializers.SlugRelatedField.to_internal_value,
)


def _scope_field(
    field: serializers.RelatedField[Any, Any, Any], user: Any, found: FoundRows | None
) -> None:
    # Whether the queryset of the field's current lookup is narrowed to ``user``.
    scoped = [isinstance(field, ScopedPrimaryKeyRelatedField)]
    if not scoped[0]:
        field.get_queryset = _narrowing(field.get_queryset, user, scoped)  # type: ignore[method-assign]
    if found is not None and type(field).to_internal_value in _QUERYSET_LOOKUPS:
        convert = field.to_internal_value

        def to_internal_value(data: Any) -> Any:
            row = convert(data)
            if scoped[0]:
                found.add((type(row), row.pk))
            return row

        field.to_internal_value = to_internal_value  # type: ignore[method-assign]


def _narrowing(get_queryset: Callable[[], Any], user: Any, scoped: list[bool]) -> Callable[[], Any]:
    def narrowed() -> Any:
        queryset = get_queryset()
        scoped[0] = isinstance(queryset, models.QuerySet) and is_scoped_model(queryset.model)
        if not scoped[0]:
            return queryset
        if isinstance(queryset, OrganizationQuerySet):
            return queryset.for_user(user)
        # A plain queryset of a scoped model, such as one from a second, unscoped manager.
        return queryset.filter(pk__in=visible_rows(queryset.model, user).values("pk"))

    return narrowed


def check_related_rows(
    serializer: serializers.BaseSerializer[Any],
    user: Any,
    *,
    found: FoundRows | None = None,
    exclude: Container[str] = (),
) -> None:
    """Raise a 400 when ``serializer.validated_data`` points at a row ``user`` cannot see.

    Every value for a relation (foreign key or its ``attname``, one-to-one, many-to-many,
    reverse relation) whose model is scoped must be a row of ``for_user(user)``; the
    error names the serializer field and reads as for an id that does not exist. One
    query per related model, whatever the number of ids. Keys in ``exclude`` (values the
    view passes to ``save()`` itself) and rows in ``found`` are not looked up again.
    """
    model: type[models.Model] = serializer.Meta.model  # type: ignore[attr-defined]
    wanted: dict[tuple[type[models.Model], str], dict[Any, list[str]]] = {}
    for key, value in serializer.validated_data.items():
        relation = None if key in exclude else _scoped_relation(model, key)
        if relation is None:
            continue
        target, column = _target(relation, key)
        name = _field_name(serializer, key)
        many = relation.many_to_many or relation.one_to_many
        for row in value if many else [value]:
            if row is None or (type(row) is target and (target, row.pk) in (found or ())):
                continue
            ref = row.pk if isinstance(row, models.Model) else row
            wanted.setdefault((target, column), {}).setdefault(ref, []).append(name)
    errors: dict[str, list[str]] = {}
    message = serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
    for (target, column), refs in wanted.items():
        visible = _visible(target, column, refs, user)
        for ref, names in refs.items():
            for name in names:
                if ref not in visible and name not in errors:
                    errors[name] = [message.format(pk_value=ref)]
    if errors:
        raise ValidationError(errors)


def _scoped_relation(model: type[models.Model], key: str) -> Any:
    """The relation ``key`` names on ``model`` (a field, its ``attname``, or a reverse
    accessor such as ``campaign_set``) when it leads to a scoped model, else ``None``."""
    try:
        field: Any = model._meta.get_field(key)
    except FieldDoesNotExist:
        field = next(
            (rel for rel in model._meta.related_objects if rel.get_accessor_name() == key), None
        )
    if field is None or not field.is_relation or field.related_model is None:
        return None
    return field if is_scoped_model(field.related_model) else None


def _target(relation: Any, key: str) -> tuple[type[models.Model], str]:
    """The related model, and the column a bare value given for ``key`` refers to."""
    target: type[models.Model] = relation.related_model
    if relation.concrete and relation.many_to_one and key == relation.attname != relation.name:
        return target, relation.target_field.name  # ``district_id``: the to_field value
    return target, target._meta.pk.name


def _field_name(serializer: serializers.BaseSerializer[Any], key: str) -> str:
    """The serializer field whose value ``key`` of ``validated_data`` holds."""
    fields = getattr(serializer, "fields", {})
    return next((name for name, f in fields.items() if f.source == key), key)


def _visible(
    target: type[models.Model], column: str, refs: dict[Any, list[str]], user: Any
) -> set[Any]:
    """Which of ``refs`` (values of ``column``) name rows of ``target`` ``user`` may see."""
    field = target._meta.get_field(column)
    assert isinstance(field, models.Field)  # a column of ``target``, never a reverse relation
    values: dict[Any, Any] = {}
    for ref in refs:
        try:
            values[field.to_python(ref)] = ref
        except (DjangoValidationError, TypeError, ValueError):
            continue  # not a value of that column: no row, so not visible
    if not values:
        return set()
    rows = visible_rows(target, user).filter(**{f"{column}__in": list(values)})
    return {values[value] for value in rows.values_list(column, flat=True)}
