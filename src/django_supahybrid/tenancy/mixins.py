"""A DRF view mixin that scopes every verb to the requesting user's organizations.

List, retrieve, update and delete see only ``for_user(request.user).with_relations()``,
so another tenant's id is a 404. Create sets the organization (and the owning user) from
the request's user. Every row a write points at through a relation must be visible to the
user, else 400 before anything is written; and the written row is checked, inside its
transaction, to be in one of the user's organizations, else it is rolled back (400).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, router, transaction
from django.db.models.constants import LOOKUP_SEP
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.serializers import BaseSerializer

from django_supahybrid.tenancy.membership import sees_every_organization, user_organizations
from django_supahybrid.tenancy.querysets import OrganizationQuerySet
from django_supahybrid.tenancy.relations import (
    FoundRows,
    check_related_rows,
    scope_related_fields,
)
from django_supahybrid.tenancy.scoping import require_declaration

__all__ = ["OrganizationScopedMixin"]

_NOT_GIVEN = object()


class OrganizationScopedMixin:
    """Mix into a ``GenericAPIView`` or ``GenericViewSet`` whose queryset is scoped.

    ``organization_field`` names the foreign key set on create; by default it is the
    model's ``Scoping.organization`` when that is a direct field (``"organization"``).
    Models reached through a path (``"campaign__organization"``) get their tenant from
    the related row, which a
    `ScopedPrimaryKeyRelatedField` keeps
    inside the user's organizations.

    Every related field of the view's serializer looks its ids up in the user's rows
    (`scope_related_fields`), and before a
    write every other value in ``validated_data`` that points at a row of a scoped model
    is checked to be visible to the user, with one query per related model.
    """

    organization_field: str | None = None
    request: Any

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        """The view's serializer, its related fields limited to the user's rows."""
        serializer = super().get_serializer(*args, **kwargs)  # type: ignore[misc]
        if kwargs.get("many") and "data" not in kwargs:
            # A page being read: no id in it is looked up, and no form is rendered from a
            # list serializer, so there is nothing to limit (and a list costs less).
            return serializer
        # Schema generators build views without a request: no user, no rows.
        user = getattr(self.request, "user", None)
        scope_related_fields(serializer, user, self._found_rows())
        return serializer

    def _found_rows(self) -> FoundRows:
        found: FoundRows = self.__dict__.setdefault("_supahybrid_found_rows", set())
        return found

    def get_queryset(self) -> models.QuerySet[Any]:
        """The view's queryset, ``for_user(request.user).with_relations()``."""
        queryset = super().get_queryset()  # type: ignore[misc]
        if not isinstance(queryset, OrganizationQuerySet):
            raise ImproperlyConfigured(
                f"{type(self).__name__} uses OrganizationScopedMixin but its queryset "
                f"({type(queryset).__name__}) is not an OrganizationQuerySet."
            )
        return queryset.for_user(self.request.user).with_relations()

    def perform_create(self, serializer: BaseSerializer[Any], **extra: Any) -> None:
        """Save with the user's organization (and owner); ``extra`` goes to ``save()``."""
        user = self.request.user
        if not getattr(user, "is_authenticated", False):
            raise PermissionDenied(_("Sign in to create this."))
        model = serializer.Meta.model  # type: ignore[attr-defined]
        values: dict[str, Any] = dict(extra)
        field = self._organization_field(model)
        if field is not None:
            values[field] = self._organization_for_write(model, field, serializer, create=True)
        decl = require_declaration(model)
        if decl.user is not None and LOOKUP_SEP not in decl.user:
            values[decl.user] = user
        self._save_inside_tenant(serializer, values)

    def perform_update(self, serializer: BaseSerializer[Any], **extra: Any) -> None:
        """Save, refusing an organization the user is not in; ``extra`` goes to ``save()``."""
        model = serializer.Meta.model  # type: ignore[attr-defined]
        values: dict[str, Any] = dict(extra)
        field = self._organization_field(model)
        if field is not None:
            organization = self._organization_for_write(model, field, serializer, create=False)
            if organization is not None:
                values[field] = organization
        self._save_inside_tenant(serializer, values)

    def _organization_field(self, model: type[models.Model]) -> str | None:
        if self.organization_field is not None:
            return self.organization_field
        path = require_declaration(model).organization
        if path is None or LOOKUP_SEP in path:
            return None
        return path

    def _organization_for_write(
        self,
        model: type[models.Model],
        field: str,
        serializer: BaseSerializer[Any],
        *,
        create: bool,
    ) -> models.Model | None:
        user = self.request.user
        related = model._meta.get_field(field).related_model
        assert isinstance(related, type)
        manager = related._default_manager
        candidates = (
            manager.all()
            if sees_every_organization(user)
            else manager.filter(pk__in=user_organizations(user))
        )
        requested = serializer.validated_data.get(field, _NOT_GIVEN)
        if requested is _NOT_GIVEN:
            # A read-only organization field drops the value; refuse it all the same.
            requested = self.request.data.get(field, _NOT_GIVEN)
        if requested is not _NOT_GIVEN:
            return self._chosen(candidates, field, requested)
        if not create:
            return None
        found = list(candidates[:2])
        if not found:
            raise PermissionDenied(_("You do not belong to an organization."))
        if len(found) > 1:
            raise ValidationError({field: [_("You belong to several organizations: choose one.")]})
        return found[0]

    @staticmethod
    def _chosen(candidates: models.QuerySet[Any], field: str, requested: object) -> models.Model:
        pk = getattr(requested, "pk", requested)
        try:
            chosen: models.Model = candidates.get(pk=pk)
        except (candidates.model.DoesNotExist, ValueError, TypeError, DjangoValidationError):
            raise ValidationError({field: [_("Choose an organization you belong to.")]}) from None
        return chosen

    def _save_inside_tenant(self, serializer: BaseSerializer[Any], values: dict[str, Any]) -> None:
        model: type[models.Model] = serializer.Meta.model  # type: ignore[attr-defined]
        check_related_rows(serializer, self.request.user, found=self._found_rows(), exclude=values)
        with transaction.atomic(using=router.db_for_write(model)):
            instance = serializer.save(**values)
            visible = (
                model._default_manager.all()
                .for_user(self.request.user)  # type: ignore[attr-defined]
                .filter(pk=instance.pk)
                .exists()
            )
            if not visible:
                # Raised inside the atomic block: the write is rolled back.
                raise ValidationError(
                    {"non_field_errors": [_("The row would not belong to your organization.")]}
                )
