"""Reference geography, campaigns and the voter interactions recorded on them."""

from __future__ import annotations

import uuid
from typing import Self

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import models

from django_supahybrid.querysets import OrganizationQuerySet


class District(models.Model):
    """Reference data: an electoral district."""

    name = models.CharField(max_length=120, unique=True)
    code = models.CharField(max_length=16, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Constituency(models.Model):
    """Reference data: a constituency within a district."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="constituencies")
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["district__name", "name"]
        verbose_name_plural = "constituencies"
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="constituency_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


class CampaignQuerySet(OrganizationQuerySet["Campaign"]):
    """Campaigns, scoped as ``Scoping`` declares, plus the shape a read answers with."""

    def for_reading(self) -> Self:
        """What a campaign's representation reads, in one query.

        In place of ``with_relations()`` for list and retrieve: the creator joined (for
        ``created_by_name``), the assigned users' ids as an array (no prefetch query, and
        no related manager per row), and no join for the district and constituency, whose
        ids are on the row. Writes keep ``Scoping``'s relations, which validation reads.
        """
        assigned = Campaign.assigned_users.through.objects.filter(campaign_id=models.OuterRef("pk"))
        return (
            self.select_related(None)
            .prefetch_related(None)
            .select_related("created_by")
            .annotate(
                assigned_user_ids=ArraySubquery(assigned.order_by("user_id").values("user_id"))
            )
        )


class Campaign(models.Model):
    """A campaign run by one organization."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="campaigns"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_campaigns",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    target_district = models.ForeignKey(
        District, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_constituency = models.ForeignKey(
        Constituency, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_campaigns"
    )
    vote_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CampaignQuerySet.as_manager()

    class Scoping:
        organization = "organization"
        select_related = ("created_by", "target_district", "target_constituency")
        prefetch_related = ("assigned_users",)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "status"], name="campaign_org_status"),
            models.Index(fields=["organization", "-created_at"], name="campaign_org_created"),
        ]

    def __str__(self) -> str:
        return self.name


class InteractionKind(models.TextChoices):
    DOOR_KNOCK = "door_knock", "Door knock"
    PHONE_CALL = "phone_call", "Phone call"
    TEXT_MESSAGE = "text_message", "Text message"
    EVENT = "event", "Event"


class VoterInteraction(models.Model):
    """One contact a volunteer made with a voter for a campaign."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="interactions")
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="voter_interactions",
    )
    kind = models.CharField(max_length=16, choices=InteractionKind.choices)
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Scoping:
        organization = "campaign__organization"
        select_related = ("volunteer",)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="interaction_campaign_created")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.campaign_id}"
