"""Who is told what when a campaign changes.

Notifications are written with one ``bulk_create``, which sends no ``post_save``; the
rows are then handed to ``realtime.publish``, so each recipient's stream still gets its
event, once the surrounding transaction commits (never for a rolled-back change).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from django_supahybrid.realtime import publish
from notifications.models import Notification, NotificationKind

if TYPE_CHECKING:
    from collections.abc import Iterable

    from campaigns.models import Campaign


_TITLE_LENGTH = Notification._meta.get_field("title").max_length or 200


def fit(text: str, length: int = _TITLE_LENGTH) -> str:
    """``text`` cut to ``length`` characters, ending with an ellipsis when cut.

    Titles are made from campaign names, which may be as long as a title: every derived
    text must fit its column, or a valid request would fail on the insert.
    """
    return text if len(text) <= length else text[: length - 1].rstrip() + "\u2026"


def _notify(
    recipient_ids: Iterable[Any], campaign: Campaign, kind: str, title: str, body: str
) -> list[Notification]:
    created = Notification.objects.bulk_create(
        Notification(
            recipient_id=recipient_id,
            organization_id=campaign.organization_id,
            kind=kind,
            title=fit(title),
            body=body,
        )
        for recipient_id in recipient_ids
    )
    publish(created, "INSERT")
    return created


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
