"""Organizations and the profile that ties a Django user to one, with a role."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A tenant: every campaign and notification belongs to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """A member's role within their organization (see ``accounts.permissions``)."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    VOLUNTEER = "volunteer", "Volunteer"


class UserProfile(models.Model):
    """The example's view of a user: organization and role.

    The user's Supabase user id (the ``sub`` of their access tokens) is kept by the
    library, in ``django_supahybrid.models.SupabaseIdentity``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VOLUNTEER)

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


def forget_profile(user: Any) -> None:
    """Drop the profile ``profile_of`` remembered on ``user`` (once per request)."""
    if user is not None:
        user.__dict__.pop("_example_profile", None)


def profile_of(user: Any) -> UserProfile | None:
    """The user's profile with its organization, fetched once per user object.

    The API forgets it at the start of each request (``core.api.APIMixin``), so a user
    object that outlives a request never serves a stale organization or role.

    Returns ``None`` for an anonymous user or a user without a profile.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user._example_profile  # type: ignore[no-any-return]
    except AttributeError:
        pass
    # At most one row (a one-to-one): read it as is, without the ORDER BY and LIMIT that
    # .first() would add to every request's query.
    profiles = UserProfile.objects.select_related("organization").filter(user=user)
    profile = next(iter(profiles), None)
    user._example_profile = profile
    return profile
