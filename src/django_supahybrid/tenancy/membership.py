"""Which organizations a user belongs to, as the project configured it.

The user's organizations come from ``SUPAHYBRID["ORGANIZATION_LOOKUP"]`` (a lookup path
from the user model, for example ``"profile__organization"``) or
``SUPAHYBRID["ORGANIZATION_RESOLVER"]`` (a dotted path to a callable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import models, router
from django.db.models.expressions import RawSQL
from django.utils.module_loading import import_string

from django_supahybrid.conf import app_settings

__all__ = ["sees_every_organization", "user_organizations"]


def user_organizations(user: Any) -> Iterable[Any] | RawSQL:
    """The primary keys of the organizations ``user`` belongs to.

    With ``ORGANIZATION_LOOKUP`` this is a subquery (no query of its own); under the
    tenant wall, for the wall's own user, it is the database's answer to the same question
    (``supahybrid.organization_ids()``, what the policies use). With
    ``ORGANIZATION_RESOLVER`` it is whatever the callable returns (ids or a queryset).
    Raises `ImproperlyConfigured` when neither is set.
    """
    conf = app_settings()
    if conf.ORGANIZATION_RESOLVER is not None:
        resolver: Callable[[Any], Iterable[Any]] = import_string(conf.ORGANIZATION_RESOLVER)
        return resolver(user)
    if conf.ORGANIZATION_LOOKUP is not None:
        from django_supahybrid.tenancy.policies import ORGANIZATION_IDS
        from django_supahybrid.tenancy.wall import active_wall

        lookup = conf.ORGANIZATION_LOOKUP
        user_model = get_user_model()
        wall = active_wall(router.db_for_read(user_model))
        if wall is not None and wall.user_pk is not None and wall.user_pk == user.pk:
            # The request role may not read the membership tables; the function may.
            return RawSQL(f"SELECT {ORGANIZATION_IDS}", ())  # noqa: S611  (a constant)
        users: models.Manager[Any] = user_model._default_manager
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
