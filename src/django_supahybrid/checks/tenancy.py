"""System checks for organization scoping and pagination (ids E020-E029, W020-W029)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP
from django.utils.module_loading import import_string

from django_supahybrid.checks._base import with_settings
from django_supahybrid.conf import SupaHybridSettings
from django_supahybrid.tenancy.querysets import is_scoped_model, plain_prefetch_problem
from django_supahybrid.tenancy.scoping import declaration_of, relation_path

__all__ = ["check_scoping"]


@with_settings
def check_scoping(
    conf: SupaHybridSettings, app_configs: Iterable[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Validate ``Scoping`` declarations, the organization settings and page sizes."""
    messages = _check_resolution(conf) + _check_pagination(conf)
    configs = apps.get_app_configs() if app_configs is None else app_configs
    scoped = [m for config in configs for m in config.get_models() if is_scoped_model(m)]
    for model in scoped:
        messages += _check_model(model)
    if scoped and conf.ORGANIZATION_LOOKUP is None and conf.ORGANIZATION_RESOLVER is None:
        messages.append(
            checks.Warning(
                f"{scoped[0]._meta.label} uses OrganizationQuerySet, but neither "
                "SUPAHYBRID['ORGANIZATION_LOOKUP'] nor SUPAHYBRID['ORGANIZATION_RESOLVER'] "
                "is set: for_user() will raise ImproperlyConfigured.",
                hint="Set ORGANIZATION_LOOKUP, for example to 'profile__organization'.",
                id="supahybrid.W020",
            )
        )
    return messages


def _check_resolution(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    lookup, resolver = conf.ORGANIZATION_LOOKUP, conf.ORGANIZATION_RESOLVER
    if lookup is not None and resolver is not None:
        return [
            checks.Error(
                "SUPAHYBRID sets both ORGANIZATION_LOOKUP and ORGANIZATION_RESOLVER.",
                hint="Keep one: the lookup for a foreign key or membership table, the "
                "resolver for anything else.",
                id="supahybrid.E025",
            )
        ]
    if resolver is not None:
        try:
            target = import_string(resolver)
        except ImportError as exc:
            problem = f"cannot be imported ({exc})"
        else:
            if callable(target):
                return []
            problem = "is not callable"
        return [
            checks.Error(
                f"SUPAHYBRID['ORGANIZATION_RESOLVER'] {resolver!r} {problem}.",
                hint="Give the dotted path of a function taking a user and returning the "
                "primary keys (or a queryset of them) of the user's organizations.",
                id="supahybrid.E023",
            )
        ]
    if lookup is not None:
        user_model = get_user_model()
        try:
            relation_path(user_model, lookup)
        except (FieldDoesNotExist, ValueError) as exc:
            return [
                checks.Error(
                    f"SUPAHYBRID['ORGANIZATION_LOOKUP'] {lookup!r} is not a relation path "
                    f"from {user_model._meta.label}: {exc}",
                    hint="Use the lookup that reaches the organization from the user, such "
                    "as 'profile__organization' or 'memberships__organization'.",
                    id="supahybrid.E024",
                )
            ]
    return []


def _check_pagination(conf: SupaHybridSettings) -> list[checks.CheckMessage]:
    problems = []
    if conf.PAGINATION_PAGE_SIZE < 1:
        problems.append(f"PAGINATION_PAGE_SIZE is {conf.PAGINATION_PAGE_SIZE}, below 1")
    if conf.PAGINATION_MAX_PAGE_SIZE < conf.PAGINATION_PAGE_SIZE:
        problems.append(
            f"PAGINATION_MAX_PAGE_SIZE ({conf.PAGINATION_MAX_PAGE_SIZE}) is below "
            f"PAGINATION_PAGE_SIZE ({conf.PAGINATION_PAGE_SIZE})"
        )
    if conf.PAGINATION_EXACT_COUNT_LIMIT < 1:
        problems.append(
            f"PAGINATION_EXACT_COUNT_LIMIT is {conf.PAGINATION_EXACT_COUNT_LIMIT}, below 1"
        )
    return [
        checks.Error(
            f"SUPAHYBRID: {problem}.",
            hint="Page sizes and the exact-count limit are positive, and the maximum page "
            "size is at least the default one.",
            id="supahybrid.E026",
        )
        for problem in problems
    ]


def _check_model(model: type[models.Model]) -> list[checks.CheckMessage]:
    decl = declaration_of(model)
    label = model._meta.label
    if not decl.declared:
        return [
            checks.Error(
                f"{label} uses OrganizationQuerySet but declares no Scoping.organization "
                "or Scoping.user.",
                hint='Add `class Scoping: organization = "organization"` (or the path to '
                'the organization, or `user = "owner"`) to the model.',
                obj=model,
                id="supahybrid.E020",
            )
        ]
    messages: list[checks.CheckMessage] = []
    for attribute, path in (("organization", decl.organization), ("user", decl.user)):
        if path is None:
            continue
        try:
            relation_path(model, path, single_valued=True)
        except (FieldDoesNotExist, ValueError) as exc:
            messages.append(
                checks.Error(
                    f"{label}.Scoping.{attribute} {path!r} is not a usable path: {exc}",
                    hint="Follow foreign keys and one-to-one fields only, for example "
                    "'organization' or 'campaign__organization'.",
                    obj=model,
                    id="supahybrid.E021",
                )
            )
    for kind, entry in _relation_lookups(decl.select_related, decl.prefetch_related):
        lookup = entry if isinstance(entry, str) else entry.prefetch_through
        try:
            if kind == "select_related":
                hops = relation_path(model, lookup, single_valued=True)
            else:
                hops = relation_path(model, lookup, accessors=True)
        except (FieldDoesNotExist, ValueError) as exc:
            problem = str(exc)
        else:
            if len(hops) == len(lookup.split(LOOKUP_SEP)):
                messages += _check_prefetch_queryset(model, entry, hops[-1])
                continue
            problem = "it does not end at a relation."
        messages.append(
            checks.Error(
                f"{label}.Scoping.{kind} entry {lookup!r} is invalid: {problem}",
                hint="select_related follows foreign keys and one-to-one fields; "
                "prefetch_related follows any relation.",
                obj=model,
                id="supahybrid.E022",
            )
        )
    return messages


def _relation_lookups(
    select_related: tuple[str, ...], prefetch_related: tuple[Any, ...]
) -> list[tuple[str, Any]]:
    lookups: list[tuple[str, Any]] = [("select_related", lookup) for lookup in select_related]
    lookups += [("prefetch_related", entry) for entry in prefetch_related]
    return lookups


def _check_prefetch_queryset(
    model: type[models.Model], entry: Any, target: type[models.Model]
) -> list[checks.CheckMessage]:
    if not isinstance(entry, Prefetch):
        return []
    problem = plain_prefetch_problem(model, entry, target)
    if problem is None:
        return []
    message, hint = problem
    return [checks.Error(message, hint=hint, obj=model, id="supahybrid.E027")]
