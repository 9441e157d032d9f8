"""From verified claims to a Django user: lookup, first-sight provisioning, invalidation.

A known user costs one SQL query (the user joined to its identity row); an ordinary request
never writes. The first request of a new Supabase user creates the Django user and its
identity in one transaction; concurrent first requests race on the unique ``sub`` (or
username) and the losers read the winner's row, so exactly one user is created.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import IntegrityError, router, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from django_supahybrid.conf import app_settings
from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.tokens import SupabaseClaims, TokenError

__all__ = ["connect_signals", "resolve_user", "subs_of_user"]

logger = logging.getLogger(__name__)


def _lookup(sub: uuid.UUID, field: str | None) -> AbstractBaseUser | None:
    user_model = get_user_model()
    # One query either way; through the identity it is a join on its unique ``sub``.
    lookup = {field: sub} if field else {"supabase_identity__sub": sub}
    try:
        return user_model._default_manager.get(**lookup)
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

    At most one SQL query when the user exists. Raises :class:`TokenError` with
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


def _on_change(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    from django_supahybrid import authcache

    if isinstance(instance, SupabaseIdentity):
        subs = [instance.sub]
    elif isinstance(instance, get_user_model()):
        subs = subs_of_user(instance)
    else:  # the row holding AUTH_USER_UUID_FIELD at the end of a path (a profile)
        field = app_settings().AUTH_USER_UUID_FIELD or ""
        value = getattr(instance, field.rsplit("__", 1)[-1], None)
        subs = [value] if isinstance(value, uuid.UUID) else []
    using = kwargs.get("using") or router.db_for_write(sender)
    for sub in subs:
        # After commit: a request that read the old row before then sees a newer
        # generation afterwards and drops what it cached.
        transaction.on_commit(functools.partial(authcache.invalidate_sub, sub), using=using)


def _id_holder() -> type[Model] | None:
    """The model at the end of an ``AUTH_USER_UUID_FIELD`` path, if it is one and valid."""
    try:
        field = app_settings().AUTH_USER_UUID_FIELD
        model: Any = get_user_model()
        for name in (field or "").split("__")[:-1]:
            relation = model._meta.get_field(name)
            if not relation.one_to_one:
                return None
            model = relation.related_model
    except (ImproperlyConfigured, FieldDoesNotExist):
        return None  # reported by the system checks
    return model if field and "__" in field else None


def connect_signals() -> None:
    """Invalidate cached authentications when a user or an identity is saved or deleted.

    Also when the row holding the Supabase id at the end of an ``AUTH_USER_UUID_FIELD``
    path (a profile) is. Connected to those models only, so other models keep Django's
    fast deletes.
    """
    models: list[type[Model]] = [get_user_model(), SupabaseIdentity]
    holder = _id_holder()
    if holder is not None:
        models.append(holder)
    for model in models:
        uid = f"django_supahybrid.users.{model._meta.label_lower}"
        post_save.connect(_on_change, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=uid + ".delete")
