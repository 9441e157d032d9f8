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
from django.db import models
from django.utils.module_loading import import_string

from django_supahybrid.conf import app_settings

__all__ = ["sees_every_organization", "user_organizations"]


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
