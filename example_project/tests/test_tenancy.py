"""Cross-tenant: another organization's ids are 404 on every endpoint, and nothing changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from campaigns.models import Campaign, VoterInteraction
from notifications.models import Notification

from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db

_CAMPAIGN_CALLS = [
    ("get", ""),
    ("patch", ""),
    ("put", ""),
    ("delete", ""),
    ("post", "vote/"),
    ("get", "interactions/"),
    ("post", "interactions/"),
]

_REFUSED = {
    ("volunteer", "patch", ""),
    ("volunteer", "put", ""),
    ("volunteer", "delete", ""),
    ("manager", "delete", ""),
}


def _snapshot() -> list[tuple[object, ...]]:
    return sorted(
        Campaign.objects.values_list("pk", "name", "status", "vote_count", "updated_at")
    ) + sorted(VoterInteraction.objects.values_list("pk", "campaign_id"))


@pytest.mark.parametrize("role", ["admin", "manager", "volunteer"])
@pytest.mark.parametrize(("method", "suffix"), _CAMPAIGN_CALLS)
def test_another_organizations_campaign_is_404(
    world: World, role: str, method: str, suffix: str
) -> None:
    foreign = world.b.campaigns[0]
    before = _snapshot()
    client = client_for(getattr(world.a, role))
    payload = {"name": "Hijacked", "kind": "event", "status": "completed"}
    response = getattr(client, method)(f"/api/campaigns/{foreign.pk}/{suffix}", payload, "json")
    # A role refused the action outright gets 403 before any lookup, which reveals nothing.
    assert response.status_code == (403 if (role, method, suffix) in _REFUSED else 404)
    assert "detail" in response.json()
    assert _snapshot() == before
    assert not Notification.objects.exists()


def test_lists_show_only_the_callers_organization(world: World) -> None:
    for tenant, other in ((world.a, world.b), (world.b, world.a)):
        rows = client_for(tenant.volunteer).get("/api/campaigns/?page_size=100").json()
        ids = {row["id"] for row in rows["results"]}
        assert ids == {str(c.pk) for c in tenant.campaigns}
        assert not ids & {str(c.pk) for c in other.campaigns}


def test_a_new_campaign_notifies_only_its_organization(world: World) -> None:
    client_for(world.a.admin).post("/api/campaigns/", {"name": "Private"}, format="json")
    recipients = set(Notification.objects.values_list("recipient_id", flat=True))
    assert recipients == {world.a.manager.pk, world.a.volunteer.pk}


def test_another_users_notification_is_404(world: World) -> None:
    theirs = Notification.objects.create(
        recipient=world.b.volunteer, organization=world.b.organization, kind="system", title="B"
    )
    mine = Notification.objects.create(
        recipient=world.a.volunteer, organization=world.a.organization, kind="system", title="A"
    )
    # Same organization, other member: still not yours.
    colleague = Notification.objects.create(
        recipient=world.a.admin, organization=world.a.organization, kind="system", title="A2"
    )
    client = client_for(world.a.volunteer)
    for foreign in (theirs, colleague):
        assert client.post(f"/api/notifications/{foreign.pk}/read/").status_code == 404
    listed = client.get("/api/notifications/").json()["results"]
    assert [row["id"] for row in listed] == [str(mine.pk)]
    assert client.post("/api/notifications/read-all/").json() == {"updated": 1}
    assert Notification.objects.filter(is_read=True).get() == mine


def test_assigned_users_from_another_organization_are_refused(world: World) -> None:
    response = client_for(world.a.admin).post(
        "/api/campaigns/", {"name": "Mixed", "assigned_users": [world.b.admin.pk]}, format="json"
    )
    assert response.status_code == 400
    assert not Campaign.objects.filter(name="Mixed").exists()
