"""Models the library's tests use; later components add theirs here."""

from __future__ import annotations

# --- realtime ---
from django.db import models

from django_supahybrid.realtime.models import RealtimeModel


class RtOrganization(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class RtUser(models.Model):
    """Stands in for the user model (this app has no migrations, so no FK to auth.User)."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class RtMember(models.Model):
    """Links a user to an organization and to a Supabase user id (identity + membership)."""

    user = models.ForeignKey(RtUser, on_delete=models.CASCADE)
    organization = models.ForeignKey(RtOrganization, on_delete=models.CASCADE)
    supabase_id = models.UUIDField(unique=True)

    def __str__(self) -> str:
        return str(self.supabase_id)


class RtNote(RealtimeModel):
    """Goes to its recipient when it has one, else to its organization."""

    organization = models.ForeignKey(RtOrganization, null=True, on_delete=models.CASCADE)
    recipient = models.ForeignKey(RtUser, null=True, on_delete=models.CASCADE)
    title = models.CharField(max_length=200, default="")
    body = models.TextField(default="")

    class Realtime:
        user = "recipient"
        organization = "organization"
        fields = ("title", "body")


class RtTask(RealtimeModel):
    """Targets come from the ``Scoping`` declaration; no ``Realtime`` class."""

    organization = models.ForeignKey(RtOrganization, on_delete=models.CASCADE)
    done = models.BooleanField(default=False)

    class Scoping:
        organization = "organization"


class RtEvent(RealtimeModel):
    """No target at all: published on the model-wide channel."""

    name = models.CharField(max_length=100)


class RtPlainNote(models.Model):
    """``RtNote`` without the mixin: the benchmark's baseline."""

    organization = models.ForeignKey(RtOrganization, null=True, on_delete=models.CASCADE)
    recipient = models.ForeignKey(RtUser, null=True, on_delete=models.CASCADE)
    title = models.CharField(max_length=200, default="")
    body = models.TextField(default="")

    def __str__(self) -> str:
        return self.title
