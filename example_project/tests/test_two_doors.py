"""Two doors, one wall: the example's API and Supabase's Data API return the same rows.

On a database shaped like a new Supabase project, the example's migrations put its
organization-scoped tables behind row level security (``*_tenant_wall.py``) and its
settings run every request with a Supabase access token under that wall
(``TenantWallMiddleware``). For the same user, each organization-scoped list of the API
must then be exactly what ``authenticated`` reads with that user's claims, set the way
PostgREST sets them; and ``authenticated`` must not be able to write a single row.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from accounts.models import Role
from campaigns.models import Campaign, Constituency, District, VoterInteraction
from django.db import DatabaseError, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from notifications.models import Notification
from notifications.services import notify_campaign_created

from django_supahybrid.testing import assert_data_api_closed, make_claims, supabase_test_database
from django_supahybrid.testing.supabase import as_supabase_user
from tests.support import Tenant, make_campaign, make_tenant, make_user, token_client_for

pytestmark = pytest.mark.django_db

#: The tables behind the tenant wall: what a member reads through the Data API.
WALLED = {
    "accounts_organization": "organization",
    "campaigns_campaign": "campaign",
    "campaigns_voterinteraction": "interaction",
    "notifications_notification": "notification",
}
#: Tables Django's requests read under the wall that the Data API still cannot.
SHARED = [
    "auth_user",
    "accounts_userprofile",
    "campaigns_district",
    "campaigns_constituency",
    "campaigns_campaign_assigned_users",
    "django_supahybrid_supabaseidentity",
]


class _Everything:
    """Route every model to the Supabase-shaped database, as if it were the only one."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True


@dataclasses.dataclass
class Doors:
    alias: str
    a: Tenant
    b: Tenant
    loner: Any

    @property
    def users(self) -> list[Any]:
        return [*self.a.members, *self.b.members, self.loner]


def _fill(doors: Doors) -> None:
    """Campaigns with assigned users and interactions, and notifications, in both tenants."""
    district = District.objects.create(name="North", code="N")
    constituency = Constituency.objects.create(district=district, name="Harbour")
    for tenant, count in ((doors.a, 3), (doors.b, 2)):
        for number in range(count):
            campaign = make_campaign(
                tenant, status="active", target_district=district,
                target_constituency=constituency, created_by=tenant.members[number],
            )  # fmt: skip
            campaign.assigned_users.set(tenant.members[: number + 1])
            for member in tenant.members[: number + 1]:
                VoterInteraction.objects.create(campaign=campaign, volunteer=member, kind="event")
            notify_campaign_created(campaign, tenant.members[number])


def _there(alias: str) -> override_settings:
    """Every model on ``alias``, and the tenant wall too."""
    from django.conf import settings

    wall = {**settings.SUPAHYBRID, "TENANT_WALL_DATABASE": alias}
    return override_settings(DATABASE_ROUTERS=[_Everything(alias)], SUPAHYBRID=wall)


@pytest.fixture(scope="module")
def filled(django_db_setup: None, django_db_blocker: Any) -> Iterator[Doors]:
    """A database shaped like a new Supabase project, migrated and filled, for the module."""
    with django_db_blocker.unblock(), supabase_test_database() as alias:
        with _there(alias):
            result = Doors(
                alias, make_tenant("Org A"), make_tenant("Org B"),
                make_user("loner@nowhere.test", None, Role.ADMIN),
            )  # fmt: skip
            _fill(result)
        yield result


@pytest.fixture
def doors(filled: Doors) -> Iterator[Doors]:
    """That database, where every request and query of the test goes."""
    with _there(filled.alias):
        yield filled


def _claims(user: Any) -> dict[str, Any]:
    return make_claims(user.supabase_identity.sub, email=user.email)


def _data_api(doors: Doors, user: Any, table: str) -> set[str]:
    """The ids of ``table`` that Supabase's Data API returns for ``user``'s token."""
    with (
        as_supabase_user(_claims(user), using=doors.alias),
        connections[doors.alias].cursor() as cursor,
    ):
        cursor.execute(f"SELECT id FROM {table}")
        return {str(row[0]) for row in cursor.fetchall()}


def _pages(client: Any, url: str) -> list[dict[str, Any]] | None:
    """Every row of a paginated list, following ``next``; ``None`` when refused (403)."""
    rows: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        if response.status_code == 403:
            return None
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
    return rows


def _api(doors: Doors, user: Any) -> dict[str, set[str]]:
    """What the example's API lists for ``user``, by table behind the wall."""
    client = token_client_for(user)
    campaigns = _pages(client, "/api/campaigns/?page_size=100") or []
    interactions = set()
    for campaign in campaigns:
        rows = _pages(client, f"/api/campaigns/{campaign['id']}/interactions/?page_size=100")
        interactions |= {row["id"] for row in rows or []}
    notifications = _pages(client, "/api/notifications/") or []
    organization = client.get("/api/auth/profile/").json()["organization"]
    return {
        "accounts_organization": {organization["id"]} if organization else set(),
        "campaigns_campaign": {row["id"] for row in campaigns},
        "campaigns_voterinteraction": interactions,
        "notifications_notification": {row["id"] for row in notifications},
    }


def test_each_list_is_what_the_data_api_returns_for_the_same_token(doors: Doors) -> None:
    for user in doors.users:
        with CaptureQueriesContext(connections[doors.alias]) as captured:
            through_django = _api(doors, user)
        # Django's door ran under the wall: the request role with the user's claims.
        walls = [q["sql"] for q in captured.captured_queries if "set_config('role'" in q["sql"]]
        assert walls, user
        assert all("supahybrid_request" in sql for sql in walls)
        for table in WALLED:
            assert through_django[table] == _data_api(doors, user, table), (user, table)
    # And the rows are each user's own, not everyone's nor no one's, with their relations
    # (the assigned users come from a many-to-many table that follows the campaigns).
    admin_a, volunteer_b = doors.a.admin, doors.b.volunteer
    listed = token_client_for(admin_a).get("/api/campaigns/").json()["results"]
    assert {row["id"]: set(row["assigned_users"]) for row in listed} == {
        str(c.pk): set(c.assigned_users.values_list("pk", flat=True)) for c in doors.a.campaigns
    }
    assert all(row["created_by_name"] for row in listed)
    assert _data_api(doors, admin_a, "campaigns_campaign") == {str(c.pk) for c in doors.a.campaigns}
    assert len(_data_api(doors, volunteer_b, "campaigns_voterinteraction")) == 3
    assert _data_api(doors, admin_a, "notifications_notification") == {
        str(pk)
        for pk in Notification.objects.filter(recipient=admin_a).values_list("pk", flat=True)
    }
    assert len(_data_api(doors, admin_a, "notifications_notification")) >= 2
    assert not any(_data_api(doors, doors.loner, table) for table in WALLED)


def _refused(doors: Doors, user: Any, sql: str) -> bool:
    """Whether ``authenticated`` with ``user``'s claims is refused the statement."""
    try:
        with (
            as_supabase_user(_claims(user), using=doors.alias),
            connections[doors.alias].cursor() as cursor,
        ):
            cursor.execute(sql)
    except DatabaseError as exc:
        return getattr(exc.__cause__, "sqlstate", None) == "42501"  # insufficient_privilege
    return False


def test_the_data_api_writes_no_row(doors: Doors) -> None:
    for user in (doors.a.admin, doors.b.volunteer):
        for table in WALLED:
            own = sorted(_data_api(doors, user, table))
            assert own, (user, table)
            where = f"WHERE id = '{own[0]}'"
            # Even the caller's own rows, even a row inside the caller's organization.
            for sql in (
                f"INSERT INTO {table} SELECT * FROM {table} {where}",
                f"UPDATE {table} SET id = id {where}",
                f"DELETE FROM {table} {where}",
            ):
                assert _refused(doors, user, sql), (user, sql)
    # Anonymous callers and signed-in strangers reach no row of them; nobody reaches the
    # tables Django reads on everyone's behalf.
    assert_data_api_closed(list(WALLED), using=doors.alias)
    assert_data_api_closed(SHARED, using=doors.alias, claims=_claims(doors.a.admin))


def test_writes_through_the_api_stay_inside_the_tenant(doors: Doors) -> None:
    manager = token_client_for(doors.a.manager)
    created = manager.post("/api/campaigns/", {"name": "Spring drive"}, format="json")
    assert created.status_code == 201, created.content
    campaign = created.json()["id"]
    # The other members of the organization were notified (a write for other users).
    for member in (doors.a.admin, doors.a.volunteer):
        titles = Notification.objects.filter(recipient=member).values_list("title", flat=True)
        assert "New campaign: Spring drive" in titles
    volunteer = token_client_for(doors.a.volunteer)
    assert volunteer.post(f"/api/campaigns/{campaign}/vote/").json() == {"vote_count": 1}
    recorded = volunteer.post(
        f"/api/campaigns/{campaign}/interactions/", {"kind": "event"}, format="json"
    )
    assert recorded.status_code == 201, recorded.content
    assert volunteer.post("/api/notifications/read-all/").json()["updated"] >= 1
    assigned = manager.patch(
        f"/api/campaigns/{campaign}/",
        {"assigned_users": [doors.a.volunteer.pk], "status": "active"},
        format="json",
    )
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assigned_users"] == [doors.a.volunteer.pk]
    # Another organization's rows do not exist for the request role.
    other = str(doors.b.campaigns[0].pk)
    assert manager.get(f"/api/campaigns/{other}/").status_code == 404
    assert manager.post(f"/api/campaigns/{other}/vote/").status_code == 404
    foreign = {"assigned_users": [doors.b.volunteer.pk]}
    assert manager.patch(f"/api/campaigns/{campaign}/", foreign, format="json").status_code == 400
    # Both doors see the new campaign in organization A, and only there.
    assert campaign in _data_api(doors, doors.a.volunteer, "campaigns_campaign")
    assert campaign not in _data_api(doors, doors.b.admin, "campaigns_campaign")
    assert Campaign.objects.get(pk=campaign).vote_count == 1


def test_a_token_on_a_plain_postgresql_runs_as_before(world: Any) -> None:
    """The tests' own database has no Supabase roles: the wall stays down there."""
    client = token_client_for(world.a.volunteer)
    with CaptureQueriesContext(connections["default"]) as captured:
        response = client.get("/api/campaigns/")
    assert response.status_code == 200
    assert json.loads(response.content)["count"] == 2
    assert not [q for q in captured.captured_queries if "set_config" in q["sql"]]
    assert uuid.UUID(response.json()["results"][0]["id"])
