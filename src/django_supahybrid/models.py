"""The library's own models: the Supabase identity of a Django user."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["SupabaseIdentity"]


class SupabaseIdentity(models.Model):
    """Links a Django user to the Supabase Auth user id (the token's ``sub``).

    Accounts are linked by this id only, never by email: an email address can change
    hands, a Supabase user id cannot.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="supabase_identity",
    )
    sub = models.UUIDField("Supabase user id", unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Supabase identity"
        verbose_name_plural = "Supabase identities"

    def __str__(self) -> str:
        return str(self.sub)
