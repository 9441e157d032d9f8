"""Where a model's tenant is, and which organizations a user belongs to.

A model declares its scoping in an inner ``Scoping`` class::

    class VoterInteraction(models.Model):
        campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)

        objects = OrganizationQuerySet.as_manager()

        class Scoping:
            organization = "campaign__organization"
            select_related = ("campaign",)

The user's organizations come from ``SUPAHYBRID["ORGANIZATION_LOOKUP"]`` (a lookup path
from the user model, for example ``"profile__organization"``) or
``SUPAHYBRID["ORGANIZATION_RESOLVER"]`` (a dotted path to a callable).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP
from django.utils.module_loading import import_string

from django_supahybrid.conf import app_settings

__all__ = [
    "ScopingDeclaration",
    "declaration_of",
    "is_scoped_model",
    "relation_path",
    "require_declaration",
    "scoped_prefetches",
    "sees_every_organization",
    "user_organizations",
]

PrefetchEntry: TypeAlias = "str | Prefetch[Any]"


@dataclasses.dataclass(frozen=True)
class ScopingDeclaration:
    """A model's ``Scoping`` inner class, read and normalised."""

    organization: str | None = None
    user: str | None = None
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[PrefetchEntry, ...] = ()

    @property
    def declared(self) -> bool:
        """Whether the model says where its tenant (organization or owning user) is."""
        return self.organization is not None or self.user is not None


def declaration_of(model: type[models.Model]) -> ScopingDeclaration:
    """Read ``model.Scoping``; an absent class gives an empty (undeclared) declaration."""
    inner = getattr(model, "Scoping", None)
    if inner is None:
        return ScopingDeclaration()
    prefetch = getattr(inner, "prefetch_related", ())
    if callable(prefetch):
        # A callable lets a Prefetch name a model defined later in the module.
        prefetch = prefetch()
    return ScopingDeclaration(
        organization=getattr(inner, "organization", None),
        user=getattr(inner, "user", None),
        select_related=tuple(getattr(inner, "select_related", ())),
        prefetch_related=tuple(prefetch),
    )


def is_scoped_model(model: type[models.Model]) -> bool:
    """Whether ``model``'s default manager returns an ``OrganizationQuerySet``."""
    from django_supahybrid.querysets import OrganizationQuerySet

    return isinstance(model._default_manager.get_queryset(), OrganizationQuerySet)


def relation_path(
    model: type[models.Model],
    path: str,
    *,
    single_valued: bool = False,
    accessors: bool = False,
) -> list[type[models.Model]]:
    """The models reached hop by hop along ``path`` (``"campaign__organization"``).

    ``path`` is a filter lookup, whose reverse hops use query names (``campaign``), or
    with ``accessors`` a ``prefetch_related`` lookup, whose reverse hops use accessor
    names (``campaign_set``). Raises :class:`~django.core.exceptions.FieldDoesNotExist`
    for a name that is not a field, and :class:`ValueError` for a hop that is not a
    relation, or (with ``single_valued``) a hop that can reach several rows.
    """
    models_on_path: list[type[models.Model]] = []
    current = model
    names = path.split(LOOKUP_SEP)
    for index, name in enumerate(names):
        if name == "pk" and index == len(names) - 1:
            break
        field = _field(current, name) if accessors else current._meta.get_field(name)
        if single_valued and (field.many_to_many or field.one_to_many):
            raise ValueError(f"{current.__name__}.{name} can reach several rows.")
        related = field.related_model
        if related is None or isinstance(related, str):
            if single_valued and index == len(names) - 1:
                break  # the primary key or a plain column holding the id
            raise ValueError(f"{current.__name__}.{name} is not a relation.")
        current = related
        models_on_path.append(current)
    return models_on_path


def _field(model: type[models.Model], accessor: str) -> Any:
    """The field or reverse relation that ``prefetch_related`` reaches as ``accessor``."""
    for field in model._meta.get_fields():
        if field.auto_created and not field.concrete:
            if field.get_accessor_name() == accessor:  # type: ignore[union-attr]
                return field
        elif field.name == accessor:
            return field
    raise FieldDoesNotExist(f"{model.__name__} has no relation named {accessor!r}.")


def user_organizations(user: Any) -> Iterable[Any]:
    """The primary keys of the organizations ``user`` belongs to.

    With ``ORGANIZATION_LOOKUP`` this is a subquery (no query of its own); with
    ``ORGANIZATION_RESOLVER`` it is whatever the callable returns (ids or a queryset).
    Raises :class:`~django.core.exceptions.ImproperlyConfigured` when neither is set.
    """
    conf = app_settings()
    if conf.ORGANIZATION_RESOLVER is not None:
        resolver: Callable[[Any], Iterable[Any]] = import_string(conf.ORGANIZATION_RESOLVER)
        return resolver(user)
    if conf.ORGANIZATION_LOOKUP is not None:
        lookup = conf.ORGANIZATION_LOOKUP
        users: models.Manager[Any] = get_user_model()._default_manager
        return users.filter(pk=user.pk, **{f"{lookup}__isnull": False}).values(lookup)
    raise ImproperlyConfigured(
        "django-supahybrid cannot tell which organizations a user belongs to: set "
        'SUPAHYBRID["ORGANIZATION_LOOKUP"] (for example "profile__organization") or '
        'SUPAHYBRID["ORGANIZATION_RESOLVER"] (a dotted path to a callable).'
    )


def sees_every_organization(user: Any) -> bool:
    """Whether ``user`` is a superuser and the project opted in to superusers seeing all.

    The opt-in is ``SUPAHYBRID["ORGANIZATION_SUPERUSER_SEES_ALL"] = True``; without it a
    superuser is scoped like everyone else.
    """
    return bool(getattr(user, "is_superuser", False)) and (
        app_settings().ORGANIZATION_SUPERUSER_SEES_ALL
    )


def require_declaration(model: type[models.Model]) -> ScopingDeclaration:
    """The model's declaration, or :class:`ImproperlyConfigured` when it has none."""
    decl = declaration_of(model)
    if not decl.declared:
        raise ImproperlyConfigured(
            f"{model._meta.label} is scoped with OrganizationQuerySet but its Scoping class "
            "declares neither 'organization' nor 'user'. Add, for example, "
            '`class Scoping: organization = "organization"` to the model.'
        )
    return decl


def _lookup_of(entry: PrefetchEntry) -> str:
    return entry.prefetch_through if isinstance(entry, Prefetch) else entry


def scoped_prefetches(
    model: type[models.Model], entries: Iterable[PrefetchEntry], user: Any
) -> list[PrefetchEntry]:
    """``entries`` with every hop that reaches a scoped model narrowed to ``user``.

    A string lookup ``"a__b"`` becomes one ``Prefetch`` per hop whose model is scoped, so
    neither the intermediate nor the final rows can come from another tenant.
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
                result.append(_scoped_prefetch_object(entry, target, user))
            elif prefix not in seen and is_scoped_model(target):
                result.append(Prefetch(prefix, queryset=_scoped_all(target, user)))
            elif last:
                result.append(prefix)
            seen.add(prefix)
    return result


def _scoped_all(target: type[models.Model], user: Any) -> models.QuerySet[Any]:
    queryset: Any = target._default_manager.all()
    scoped: models.QuerySet[Any] = queryset.for_user(user)
    return scoped


def _scoped_prefetch_object(
    entry: Prefetch[Any], target: type[models.Model], user: Any
) -> Prefetch[Any]:
    from django_supahybrid.querysets import OrganizationQuerySet

    queryset = entry.queryset
    if queryset is None and is_scoped_model(target):
        queryset = _scoped_all(target, user)
    elif isinstance(queryset, OrganizationQuerySet):
        queryset = queryset.for_user(user)
    return Prefetch(entry.prefetch_through, queryset=queryset, to_attr=entry.to_attr)
