"""Organization scoping for the example's querysets.

``Model.objects.for_user(user).with_relations()`` keeps a queryset to the rows of the
caller's organization and joins/prefetches what the serializers read, so a page costs a
constant number of queries.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models

__all__ = ["OrganizationScopedQuerySet"]


class OrganizationScopedQuerySet(models.QuerySet[Any]):
    """A queryset that knows its organization field and the relations to load."""

    organization_field: ClassVar[str] = "organization"
    select: ClassVar[tuple[str, ...]] = ()
    prefetch: ClassVar[tuple[str, ...]] = ()

    def for_user(self, user: Any) -> Self:
        """Rows of ``user``'s organization; none for a user without one."""
        from accounts.models import profile_of

        profile = profile_of(user)
        if profile is None or profile.organization_id is None:
            return self.none()
        return self.filter(**{f"{self.organization_field}_id": profile.organization_id})

    def with_relations(self) -> Self:
        """Join the foreign keys and prefetch the many-valued relations serializers read."""
        qs = self.select_related(*self.select) if self.select else self
        return qs.prefetch_related(*self.prefetch) if self.prefetch else qs
