"""``manage.py seed_demo``: organizations, every role, campaigns, JSON for minting tokens."""

from __future__ import annotations

import io
import json
import uuid
from typing import TYPE_CHECKING

import pytest
from accounts.models import Organization, UserProfile
from campaigns.models import Campaign, Constituency, District
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from notifications.models import Notification

from django_supahybrid.models import SupabaseIdentity
from tests.support import client_for

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_defaults_give_three_organizations_with_every_role(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    output = _seed("--json", str(out))
    assert "Demo Organization 3: 3 users, 10 new campaigns" in output
    data = json.loads(out.read_text())
    assert len(data["organizations"]) == 3
    for org in data["organizations"]:
        organization = Organization.objects.get(pk=org["id"])
        assert organization.name == org["name"]
        assert {u["role"] for u in org["users"]} == {"admin", "manager", "volunteer"}
        assert Campaign.objects.filter(organization=organization).count() == 10
        for user in org["users"]:
            identity = SupabaseIdentity.objects.get(sub=uuid.UUID(user["supabase_uid"]))
            profile = UserProfile.objects.get(user=identity.user)
            assert profile.user.email == user["email"]
            assert profile.organization == organization
            assert profile.role == user["role"]
            assert not profile.user.has_usable_password()
    assert District.objects.exists()
    assert Constituency.objects.exists()
    assert Notification.objects.count() == 9
    every_campaign = Campaign.objects.select_related("target_constituency")
    assert all(c.target_constituency.district_id == c.target_district_id for c in every_campaign)


def test_running_again_adds_nothing_and_keeps_the_uids(tmp_path: Path) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    _seed("--json", str(first))
    counts = (Organization.objects.count(), Campaign.objects.count(), UserProfile.objects.count())
    _seed("--json", str(second))
    again = (Organization.objects.count(), Campaign.objects.count(), UserProfile.objects.count())
    assert again == counts
    assert json.loads(first.read_text()) == json.loads(second.read_text())


def test_options_and_reset(tmp_path: Path) -> None:
    _seed("--organizations", "2", "--users-per-org", "5", "--campaigns", "2500")
    assert Organization.objects.count() == 2
    assert get_user_model().objects.count() == 10
    assert Campaign.objects.count() == 5000
    # Every seeded campaign has an assigned member of its organization.
    assert Campaign.assigned_users.through.objects.count() == 5000
    roles = sorted(UserProfile.objects.values_list("role", flat=True))
    assert roles == ["admin"] * 2 + ["manager"] * 2 + ["volunteer"] * 6
    _seed("--reset", "--organizations", "1", "--campaigns", "0")
    assert Organization.objects.count() == 1
    assert get_user_model().objects.count() == 3
    assert not Campaign.objects.exists()


def test_reset_leaves_other_data_alone() -> None:
    mine = Organization.objects.create(name="Real customer")
    _seed("--organizations", "1")
    _seed("--reset", "--organizations", "1")
    assert Organization.objects.filter(pk=mine.pk).exists()


def test_seeded_users_can_use_the_api() -> None:
    _seed()
    admin = UserProfile.objects.filter(role="admin").select_related("user").first()
    assert admin is not None
    body = client_for(admin.user).get("/api/campaigns/").json()
    assert body["count"] == 10
    assert all(row["created_by_name"] for row in body["results"])


@pytest.mark.parametrize(
    "args",
    [("--organizations", "0"), ("--users-per-org", "-1"), ("--campaigns", "-5")],
)
def test_bad_options_are_refused(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        _seed(*args)
