"""Where a model's tenant is: the ``Scoping`` declaration.

A model declares its scoping in an inner ``Scoping`` class:

```python
class VoterInteraction(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "campaign__organization"
        select_related = ("campaign",)
```

This module only reads declarations; `django_supahybrid.tenancy.querysets` applies
them and `django_supahybrid.tenancy.membership` says which organizations a user has.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP

__all__ = [
    "PrefetchEntry",
    "ScopingDeclaration",
    "declaration_of",
    "relation_path",
    "require_declaration",
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
    names (``campaign_set``). Raises `FieldDoesNotExist`
    for a name that is not a field, and `ValueError` for a hop that is not a
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


def require_declaration(model: type[models.Model]) -> ScopingDeclaration:
    """The model's declaration, or `ImproperlyConfigured` when it has none."""
    decl = declaration_of(model)
    if not decl.declared:
        raise ImproperlyConfigured(
            f"{model._meta.label} is scoped with OrganizationQuerySet but its Scoping class "
            "declares neither 'organization' nor 'user'. Add, for example, "
            '`class Scoping: organization = "organization"` to the model.'
        )
    return decl
