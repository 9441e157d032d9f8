"""Who is told what when a campaign changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from notifications.models import Notification, NotificationKind

if TYPE_CHECKING:
    from collections.abc import Iterable

    from campaigns.models import Campaign


def _notify(
    recipient_ids: Iterable[Any], campaign: Campaign, kind: str, title: str, body: str
) -> list[Notification]:
    return Notification.objects.bulk_create(
        Notification(
            recipient_id=recipient_id,
            organization_id=campaign.organization_id,
            kind=kind,
            title=title,
            body=body,
        )
        for recipient_id in recipient_ids
    )


def notify_campaign_created(campaign: Campaign, actor: Any) -> list[Notification]:
    """Tell every other member of the campaign's organization."""
    members = (
        get_user_model()
        .objects.filter(profile__organization_id=campaign.organization_id)
        .exclude(pk=actor.pk)
        .values_list("pk", flat=True)
    )
    return _notify(
        members,
        campaign,
        NotificationKind.CAMPAIGN_CREATED,
        f"New campaign: {campaign.name}",
        f"{campaign.name} was created.",
    )


def notify_status_changed(campaign: Campaign, actor: Any, previous: str) -> list[Notification]:
    """Tell the campaign's assigned users (except whoever made the change)."""
    assigned = campaign.assigned_users.exclude(pk=actor.pk).values_list("pk", flat=True)
    return _notify(
        assigned,
        campaign,
        NotificationKind.CAMPAIGN_STATUS_CHANGED,
        f"{campaign.name} is now {campaign.status}",
        f"The status of {campaign.name} changed from {previous} to {campaign.status}.",
    )
