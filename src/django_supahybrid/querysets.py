"""``OrganizationQuerySet``: rows of the user's organizations, related rows in bulk.

Use it as a manager (``objects = OrganizationQuerySet.as_manager()``) or as a base of the
project's own queryset (``class CampaignQuerySet(OrganizationQuerySet): ...``, listed
first when combined with another ``QuerySet`` subclass). See the scoping guide.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.db import models

from django_supahybrid.scoping import (
    PrefetchEntry,
    declaration_of,
    is_scoped_model,
    relation_path,
    require_declaration,
    scoped_prefetches,
    sees_every_organization,
    user_organizations,
)

__all__ = ["OrganizationQuerySet"]

_M = TypeVar("_M", bound=models.Model)

_NO_USER = object()


class OrganizationQuerySet(models.QuerySet[_M]):
    """A queryset that knows which organization its model's rows belong to.

    The model declares it in an inner ``Scoping`` class: ``organization`` (a lookup path
    to the organization, such as ``"organization"`` or ``"campaign__organization"``),
    and/or ``user`` (a path to the owning user, such as ``"recipient"``), plus the
    ``select_related`` and ``prefetch_related`` that :meth:`with_relations` applies.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scoping_user: Any = _NO_USER
        self._scoping_pending: tuple[PrefetchEntry, ...] = ()

    def _clone(self) -> Self:
        clone: Self = super()._clone()  # type: ignore[misc]
        clone._scoping_user = self._scoping_user
        clone._scoping_pending = self._scoping_pending
        return clone

    def for_user(self, user: Any) -> Self:
        """Only the rows ``user`` may see; fails closed.

        An anonymous, inactive or missing user, or a user in no organization, gets no
        rows. A model without a ``Scoping`` declaration raises
        :class:`~django.core.exceptions.ImproperlyConfigured`, as does a project that
        configured neither ``ORGANIZATION_LOOKUP`` nor ``ORGANIZATION_RESOLVER``. A
        superuser sees every organization's rows only when
        ``SUPAHYBRID["ORGANIZATION_SUPERUSER_SEES_ALL"]`` is true.
        """
        decl = require_declaration(self.model)
        if (
            user is None
            or not getattr(user, "is_authenticated", False)
            or not getattr(user, "is_active", True)
        ):
            scoped = self.none()
        else:
            scoped = self.all()
            if decl.user is not None:
                scoped = scoped.filter(**{decl.user: user.pk})
            if decl.organization is not None and not sees_every_organization(user):
                organizations = user_organizations(user)
                scoped = scoped.filter(**{f"{decl.organization}__in": organizations})
        scoped._scoping_user = user
        return scoped._apply_pending()

    def with_relations(self) -> Self:
        """Apply the model's declared ``select_related`` and ``prefetch_related``.

        Prefetches of models that are themselves scoped are narrowed to the user given to
        :meth:`for_user` (before or after this call), so a prefetch never brings another
        tenant's rows. Until :meth:`for_user` is called they are held back, never run
        unscoped.
        """
        decl = declaration_of(self.model)
        queryset = self.all()
        if decl.select_related:
            queryset = queryset.select_related(*decl.select_related)
        plain: list[PrefetchEntry] = []
        pending: list[PrefetchEntry] = []
        for entry in decl.prefetch_related:
            (pending if _reaches_scoped_model(self.model, entry) else plain).append(entry)
        if plain:
            queryset = queryset.prefetch_related(*plain)
        queryset._scoping_pending = (*queryset._scoping_pending, *pending)
        return queryset._apply_pending()

    def _apply_pending(self) -> Self:
        if not self._scoping_pending or self._scoping_user is _NO_USER:
            return self
        lookups = scoped_prefetches(self.model, self._scoping_pending, self._scoping_user)
        queryset: Self = self.prefetch_related(*lookups)
        queryset._scoping_pending = ()
        return queryset


def _reaches_scoped_model(model: type[models.Model], entry: PrefetchEntry) -> bool:
    lookup = entry if isinstance(entry, str) else entry.prefetch_through
    return any(is_scoped_model(hop) for hop in relation_path(model, lookup, accessors=True))
