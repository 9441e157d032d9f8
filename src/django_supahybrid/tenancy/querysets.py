"""``OrganizationQuerySet``: rows of the user's organizations, related rows in bulk.

Use it as a manager (``objects = OrganizationQuerySet.as_manager()``) or as a base of the
project's own queryset (``class CampaignQuerySet(OrganizationQuerySet): ...``, listed
first when combined with another ``QuerySet`` subclass). See the scoping guide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP

from django_supahybrid.tenancy.membership import sees_every_organization, user_organizations
from django_supahybrid.tenancy.scoping import (
    PrefetchEntry,
    declaration_of,
    relation_path,
    require_declaration,
)

__all__ = [
    "OrganizationQuerySet",
    "is_scoped_model",
    "plain_prefetch_problem",
    "scoped_prefetches",
    "visible_rows",
]

_M = TypeVar("_M", bound=models.Model)

_NO_USER = object()


class OrganizationQuerySet(models.QuerySet[_M]):
    """A queryset that knows which organization its model's rows belong to.

    The model declares it in an inner ``Scoping`` class: ``organization`` (a lookup path
    to the organization, such as ``"organization"`` or ``"campaign__organization"``),
    and/or ``user`` (a path to the owning user, such as ``"recipient"``), plus the
    ``select_related`` and ``prefetch_related`` that `with_relations` applies.
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
        `ImproperlyConfigured`, as does a project that
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
        `for_user` (before or after this call), so a prefetch never brings another
        tenant's rows. Until `for_user` is called they are held back, never run
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


def is_scoped_model(model: type[models.Model]) -> bool:
    """Whether ``model``'s default manager returns an ``OrganizationQuerySet``."""
    return isinstance(model._default_manager.get_queryset(), OrganizationQuerySet)


def _lookup_of(entry: PrefetchEntry) -> str:
    return entry.prefetch_through if isinstance(entry, Prefetch) else entry


def scoped_prefetches(
    model: type[models.Model], entries: Iterable[PrefetchEntry], user: Any
) -> list[PrefetchEntry]:
    """``entries`` with every hop that reaches a scoped model narrowed to ``user``.

    A string lookup ``"a__b"`` becomes one ``Prefetch`` per hop whose model is scoped, so
    neither the intermediate nor the final rows can come from another tenant. A
    ``Prefetch`` of a scoped model whose queryset is a plain ``QuerySet`` (which
    ``for_user()`` cannot narrow) raises
    `ImproperlyConfigured`; see
    `plain_prefetch_problem`.
    """
    result: list[PrefetchEntry] = []
    seen: set[str] = set()
    for entry in entries:
        lookup = _lookup_of(entry)
        names = lookup.split(LOOKUP_SEP)
        hops = relation_path(model, lookup, accessors=True)
        for depth, target in enumerate(hops, start=1):
            prefix = LOOKUP_SEP.join(names[:depth])
            last = depth == len(names)
            if last and isinstance(entry, Prefetch):
                problem = plain_prefetch_problem(model, entry, target)
                if problem is not None:
                    raise ImproperlyConfigured(" ".join(problem))
                result.append(_scoped_prefetch_object(entry, target, user))
            elif prefix not in seen and is_scoped_model(target):
                result.append(Prefetch(prefix, queryset=visible_rows(target, user)))
            elif last:
                result.append(prefix)
            seen.add(prefix)
    return result


def visible_rows(model: type[models.Model], user: Any) -> models.QuerySet[Any]:
    """``model``'s default manager narrowed with ``for_user(user)``; ``model`` must be scoped."""
    queryset: Any = model._default_manager.all()
    scoped: models.QuerySet[Any] = queryset.for_user(user)
    return scoped


def _scoped_prefetch_object(
    entry: Prefetch[Any], target: type[models.Model], user: Any
) -> Prefetch[Any]:
    queryset = entry.queryset
    if queryset is None and is_scoped_model(target):
        queryset = visible_rows(target, user)
    elif isinstance(queryset, OrganizationQuerySet):
        queryset = queryset.for_user(user)
    return Prefetch(entry.prefetch_through, queryset=queryset, to_attr=entry.to_attr)


def plain_prefetch_problem(
    model: type[models.Model], entry: Prefetch[Any], target: type[models.Model]
) -> tuple[str, str] | None:
    """What is wrong, and the fix, when ``entry`` brings rows of ``target`` unscoped.

    ``entry`` is a ``Prefetch`` of ``model``'s ``Scoping`` declaration ending at
    ``target``. When ``target`` is scoped its queryset must be ``None`` or an
    `OrganizationQuerySet`: a plain ``QuerySet`` (from ``models.QuerySet(Tag)``
    or a second, unscoped manager) has no ``for_user()`` and is refused rather than
    rebuilt, so that the declaration says what runs. ``None`` when nothing is wrong.
    """
    queryset = entry.queryset
    if queryset is None or isinstance(queryset, OrganizationQuerySet):
        return None
    if not is_scoped_model(target):
        return None
    return (
        f"{model._meta.label}.Scoping.prefetch_related: Prefetch({entry.prefetch_through!r}) "
        f"has a plain QuerySet of {target._meta.label}, a scoped model, so it would bring "
        "the rows of every organization.",
        f"Build its queryset from {target.__name__}.{target._default_manager.name} (an "
        "OrganizationQuerySet), which for_user() narrows, or leave it out: "
        f'Prefetch("{entry.prefetch_through}") is scoped for you.',
    )
