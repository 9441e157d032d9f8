"""Organization scoping: one ``Scoping`` declaration per model, enforced on every read and write.

The pieces:

- ``scoping``: the declaration (:class:`ScopingDeclaration`, :func:`declaration_of`);
- ``membership``: which organizations a user belongs to;
- :class:`OrganizationQuerySet` (``querysets``): ``for_user()`` and ``with_relations()``;
- :class:`OrganizationScopedMixin` (``mixins``): the DRF view mixin for scoped writes;
- :class:`ScopedPrimaryKeyRelatedField` and :class:`UserOrganizationField` (``relations``):
  serializer relations limited to the caller's organizations;
- ``policies`` and ``operations``: the row level security generated from a declaration;
- :func:`tenant_wall`, :class:`TenantWallMixin`, :class:`TenantWallMiddleware` (``wall``):
  Django's requests under those policies.

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
)
from django_supahybrid.tenancy.scoping import ScopingDeclaration, declaration_of
from django_supahybrid.tenancy.wall import (
    TenantWallError,
    TenantWallMiddleware,
    TenantWallMixin,
    tenant_wall,
)

__all__ = [
    "OrganizationQuerySet",
    "OrganizationScopedMixin",
    "ScopedPrimaryKeyRelatedField",
    "ScopingDeclaration",
    "TenantWallError",
    "TenantWallMiddleware",
    "TenantWallMixin",
    "UserOrganizationField",
    "declaration_of",
    "is_scoped_model",
    "sees_every_organization",
    "tenant_wall",
    "user_organizations",
]
