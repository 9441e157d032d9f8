"""From verified claims to a Django user: lookup and first-sight provisioning.

A known user costs one SQL query (the user joined to its identity row); an ordinary request
never writes. The first request of a new Supabase user creates the Django user and its
identity in one transaction; concurrent first requests race on the unique ``sub`` (or
username) and the losers read the winner's row, so exactly one user is created.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, router, transaction
from django.db.models import Manager, Model

from django_supahybrid._compat import CompiledGet, compile_get
from django_supahybrid.authentication.signals import supabase_user_created
from django_supahybrid.authentication.tokens import SupabaseClaims, TokenError
from django_supahybrid.conf import app_settings
from django_supahybrid.models import SupabaseIdentity

__all__ = ["resolve_user", "subs_of_user"]

logger = logging.getLogger(__name__)


#: The compiled lookup of each (user model, lookup path, database alias); ``None`` for a
#: default manager too elaborate to compile once (the ORM then builds the query each time).
_compiled: dict[tuple[type[Model], str, str], CompiledGet | None] = {}


def _compiled_lookup(user_model: type[Model], path: str, alias: str) -> CompiledGet | None:
    key = (user_model, path, alias)
    if key not in _compiled:
        manager = user_model._default_manager
        # A manager of its own may filter by the moment (the current tenant, say): its
        # query is built anew each time, as the ORM would.
        own = type(manager).get_queryset is not Manager.get_queryset
        marker = uuid.uuid4()
        queryset = manager.using(alias).filter(**{path: marker})
        _compiled[key] = None if own else compile_get(queryset, marker)
    return _compiled[key]


def _lookup(sub: uuid.UUID, field: str | None) -> AbstractBaseUser | None:
    user_model = get_user_model()
    # One query either way; through the identity it is a join on its unique ``sub``. The
    # query is compiled once per process (half the cost of a miss otherwise).
    path = field or "supabase_identity__sub"
    compiled = _compiled_lookup(user_model, path, router.db_for_read(user_model))
    if compiled is not None:
        return cast(AbstractBaseUser | None, compiled.get(sub))
    try:
        return user_model._default_manager.get(**{path: sub})
    except user_model.DoesNotExist:
        return None


def _new_user(claims: SupabaseClaims, field: str | None) -> AbstractBaseUser:
    user_model = get_user_model()
    values: dict[str, Any] = {}
    if field:
        values[field] = claims.sub
    username_field = user_model.USERNAME_FIELD
    email_field = user_model.get_email_field_name()
    is_email = username_field == email_field
    # setdefault: the UUID field may itself be the username field.
    values.setdefault(
        username_field, claims.email if is_email and claims.email else str(claims.sub)
    )
    if email_field != username_field and any(
        f.name == email_field for f in user_model._meta.concrete_fields
    ):
        # A copy for display and mail only: accounts are never matched by email.
        values[email_field] = claims.email
    user = user_model(**values)
    user.set_unusable_password()
    return user


def _create(claims: SupabaseClaims, field: str | None) -> AbstractBaseUser:
    user = _new_user(claims, field)
    try:
        with transaction.atomic(using=router.db_for_write(type(user))):
            user.save()
            if not field:
                SupabaseIdentity.objects.create(user_id=user.pk, sub=claims.sub)
            supabase_user_created.send(sender=type(user), user=user, claims=claims)
    except IntegrityError:
        # Another request created this user first: use its row.
        existing = _lookup(claims.sub, field)
        if existing is None:
            logger.warning(
                "Could not create a user for Supabase user %s: a unique field clashes "
                "with an existing user.",
                claims.sub,
            )
            raise TokenError("unknown_user") from None
        return existing
    return user


def resolve_user(claims: SupabaseClaims) -> AbstractBaseUser:
    """The active Django user for verified ``claims``; create it on first sight if enabled.

    At most one SQL query when the user exists. Raises `TokenError` with
    ``unknown_user`` (creation off, or the id kept on a related row, such as a profile,
    that only the project knows how to create) or ``user_inactive``.
    """
    conf = app_settings()
    field = conf.AUTH_USER_UUID_FIELD
    user = _lookup(claims.sub, field)
    if user is None:
        if not conf.AUTH_CREATE_USERS or (field and "__" in field):
            raise TokenError("unknown_user")
        user = _create(claims, field)
    if not user.is_active:
        raise TokenError("user_inactive")
    return user


def _follow(obj: Any, path: str) -> Any:
    for name in path.split("__"):
        # A missing reverse one-to-one row (no profile) raises an AttributeError subclass.
        obj = getattr(obj, name, None)
    return obj


def subs_of_user(user: Model) -> list[uuid.UUID]:
    """The Supabase user ids linked to ``user`` (no query when the identity is loaded)."""
    field = app_settings().AUTH_USER_UUID_FIELD
    if field:
        value = _follow(user, field)
        return [value] if isinstance(value, uuid.UUID) else []
    cached = user._state.fields_cache.get("supabase_identity")
    if isinstance(cached, SupabaseIdentity):
        return [cached.sub]
    return list(
        SupabaseIdentity.objects.using(user._state.db or "default")
        .filter(user_id=user.pk)
        .values_list("sub", flat=True)
    )
