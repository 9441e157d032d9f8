"""In-app notifications, one row per recipient."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    CAMPAIGN_CREATED = "campaign_created", "Campaign created"
    CAMPAIGN_STATUS_CHANGED = "campaign_status_changed", "Campaign status changed"
    SYSTEM = "system", "System"


class Notification(models.Model):
    """A message for one user, within one organization."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_new"),
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=models.Q(is_read=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title
