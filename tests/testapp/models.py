"""Models the library's tests use; later components add theirs here."""

from __future__ import annotations

# --- scoping (organization-scoped querysets, pagination) ---
# This app has no migrations, so its tables are created before ``auth_user`` exists:
# foreign keys to the user model are declared with ``db_constraint=False``.
from django.conf import settings
from django.db import models
from django.db.models import Prefetch

from django_supahybrid.counters.sharded import CounterShardBase
from django_supahybrid.querysets import OrganizationQuerySet


class _Row(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.pk}"


class Organization(_Row):
    name = models.CharField(max_length=100)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "pk"


class Profile(_Row):
    """One organization per user (``ORGANIZATION_LOOKUP = "scoping_profile__organization"``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="scoping_profile",
        db_constraint=False,
    )
    organization = models.ForeignKey(Organization, null=True, on_delete=models.SET_NULL)
    role = models.CharField(max_length=20, default="member")


class Membership(_Row):
    """Several organizations per user (``"scoping_memberships__organization"``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="scoping_memberships",
        db_constraint=False,
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)


class District(_Row):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "organization"


class Constituency(_Row):
    district = models.ForeignKey(District, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)


class Tag(_Row):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=50)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "organization"


class Campaign(_Row):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    district = models.ForeignKey(District, null=True, on_delete=models.SET_NULL)
    constituency = models.ForeignKey(Constituency, null=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "organization"
        select_related = ("created_by", "district", "constituency")
        prefetch_related = ("tags",)


class VoterInteraction(_Row):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="interactions")
    note = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "campaign__organization"
        select_related = ("campaign",)


class Notification(_Row):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    message = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        user = "recipient"


class CampaignWithInteractions(Campaign):
    """A proxy declaring a ``Prefetch`` of scoped rows, with ``to_attr``."""

    class Meta:
        proxy = True

    class Scoping:
        organization = "organization"

        @staticmethod
        def prefetch_related() -> tuple[Prefetch, ...]:
            return (
                Prefetch(
                    "interactions",
                    queryset=VoterInteraction.objects.order_by("id"),
                    to_attr="interaction_list",
                ),
                Prefetch("tags"),
                "constituency",  # not scoped: prefetched as declared
            )


# --- counters ---


class Counted(models.Model):
    """A row with counters of several integer types, and fields that are not counters."""

    hits = models.IntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    stock = models.PositiveIntegerField(default=0)
    # A column name that only works quoted.
    score = models.SmallIntegerField(default=0, db_column="Score Value")
    label = models.CharField(max_length=20, default="")
    ratio = models.FloatField(default=0.0)
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"Counted {self.pk}"


class CountedChild(Counted):
    """Multi-table inheritance: ``hits`` lives in the parent's table, ``extra`` in its own."""

    extra = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"CountedChild {self.pk}"


class CountedShard(CounterShardBase):
    counted = models.ForeignKey(Counted, on_delete=models.CASCADE, related_name="shards")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["counted", "slot"], name="testapp_countedshard_slot")
        ]


# --- realtime ---
from django_supahybrid.realtime.models import RealtimeModel  # noqa: E402


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


# --- authentication ---
from django.contrib.auth.base_user import AbstractBaseUser  # noqa: E402


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


class _ListedUsers(models.Manager["ListedUser"]):
    """A default manager of its own: it hides the users taken off the list."""

    def get_queryset(self) -> models.QuerySet[ListedUser]:
        return super().get_queryset().filter(listed=True)


class ListedUser(AbstractBaseUser):
    """A custom user model whose default manager filters, with a field read by a converter."""

    supabase_id = models.UUIDField(unique=True)
    handle = models.CharField(max_length=64, unique=True)
    listed = models.BooleanField(default=True)
    preferences = models.JSONField(default=dict)  # JSONField.from_db_value: a converter

    objects = _ListedUsers()

    USERNAME_FIELD = "handle"


class SupabaseProfile(models.Model):
    """A profile row holding the Supabase user id (``"supabase_profile__supabase_uid"``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="supabase_profile",
        db_constraint=False,
    )
    supabase_uid = models.UUIDField(unique=True, null=True)

    def __str__(self) -> str:
        return str(self.supabase_uid)
