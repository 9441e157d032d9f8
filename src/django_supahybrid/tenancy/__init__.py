"""Organization scoping: one ``Scoping`` declaration per model, enforced on every read and write.

The pieces:

- ``scoping``: the declaration (`ScopingDeclaration`, `declaration_of`);
- ``membership``: which organizations a user belongs to;
- `OrganizationQuerySet` (``querysets``): ``for_user()`` and ``with_relations()``;
- `OrganizationScopedMixin` (``mixins``): the DRF view mixin for scoped writes;
- `ScopedPrimaryKeyRelatedField` and `UserOrganizationField` (``relations``):
  serializer relations limited to the caller's organizations; `scope_related_fields`
  and `check_related_rows` keep any serializer's relations inside them.
- ``policies`` and ``operations``: the row level security generated from a declaration;
- ``wall``: ``tenant_wall``, ``TenantWallMixin`` and ``TenantWallMiddleware``, Django's
  requests under those policies (imported from their module: they need DRF and the
  authentication component, which models must not load).

``django_supahybrid.querysets`` and ``django_supahybrid.mixins`` re-export the two names
most projects import.
"""

from __future__ import annotations

from django_supahybrid.tenancy.membership import sees_every_organization, user_organizations
from django_supahybrid.tenancy.mixins import OrganizationScopedMixin
from django_supahybrid.tenancy.querysets import OrganizationQuerySet, is_scoped_model
from django_supahybrid.tenancy.relations import (
    ScopedPrimaryKeyRelatedField,
    UserOrganizationField,
    check_related_rows,
    scope_related_fields,
)
from django_supahybrid.tenancy.scoping import ScopingDeclaration, declaration_of

__all__ = [
    "OrganizationQuerySet",
    "OrganizationScopedMixin",
    "ScopedPrimaryKeyRelatedField",
    "ScopingDeclaration",
    "UserOrganizationField",
    "check_related_rows",
    "declaration_of",
    "is_scoped_model",
    "scope_related_fields",
    "sees_every_organization",
    "user_organizations",
]
