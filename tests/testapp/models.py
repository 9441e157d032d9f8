"""Models the library's tests use; later components add theirs here."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class UUIDUser(AbstractBaseUser):
    """A custom user model keeping the Supabase user id itself (``AUTH_USER_UUID_FIELD``)."""

    supabase_id = models.UUIDField(unique=True, null=True)
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"


class HandleUser(AbstractBaseUser):
    """A custom user model with a Supabase id field and no email field at all."""

    supabase_id = models.UUIDField(unique=True)
    handle = models.CharField(max_length=64, unique=True)

    USERNAME_FIELD = "handle"
