"""Serializer fields that cannot point outside the requesting user's organizations.

A plain ``PrimaryKeyRelatedField`` accepts the id of any row, so a client could attach
another tenant's campaign to its own interaction. These fields look the id up in the
user's rows only; another tenant's id gets the same 400 as an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from rest_framework import serializers

from django_supahybrid.tenancy.membership import sees_every_organization, user_organizations
from django_supahybrid.tenancy.querysets import OrganizationQuerySet

__all__ = ["ScopedPrimaryKeyRelatedField", "UserOrganizationField"]


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

    ``queryset`` must be an :class:`~django_supahybrid.tenancy.querysets.OrganizationQuerySet`.
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
