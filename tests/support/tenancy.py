"""Two organizations and users in one, both and none of them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from tests.testapp.models import (
    Campaign,
    Constituency,
    District,
    Membership,
    Notification,
    Organization,
    Profile,
    Tag,
    VoterInteraction,
)

MEMBERSHIPS = "scoping_memberships__organization"
PROFILE = "scoping_profile__organization"


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    alice: User  # A only
    bob: User  # B only
    carol: User  # A and B (memberships; her profile has no organization)
    nobody: User  # no organization
    root: User  # a superuser in no organization
    campaign_a: Campaign
    campaign_b: Campaign
    district_a: District
    district_b: District
    tag_a: Tag
    tag_b: Tag
    interaction_a: VoterInteraction
    interaction_b: VoterInteraction


def _user(name: str, *orgs: Organization, profile_org: Organization | None = None) -> User:
    user = User.objects.create_user(name)
    Profile.objects.create(user=user, organization=profile_org)
    for org in orgs:
        Membership.objects.create(user=user, organization=org)
    return user


@pytest.fixture
def membership_lookup(settings: SettingsWrapper) -> None:
    """Organizations come from memberships (``SUPAHYBRID["ORGANIZATION_LOOKUP"]``)."""
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": MEMBERSHIPS}


@pytest.fixture
def world(db: None) -> World:
    org_a = Organization.objects.create(name="A")
    org_b = Organization.objects.create(name="B")
    alice = _user("alice", org_a, profile_org=org_a)
    bob = _user("bob", org_b, profile_org=org_b)
    carol = _user("carol", org_a, org_b)
    nobody = _user("nobody")
    root = User.objects.create_superuser("root")
    district_a = District.objects.create(organization=org_a, name="dA")
    district_b = District.objects.create(organization=org_b, name="dB")
    const_a = Constituency.objects.create(district=district_a, name="cA")
    const_b = Constituency.objects.create(district=district_b, name="cB")
    tag_a = Tag.objects.create(organization=org_a, name="tA")
    tag_b = Tag.objects.create(organization=org_b, name="tB")
    campaign_a = Campaign.objects.create(
        organization=org_a, name="ca", created_by=alice, district=district_a,
        constituency=const_a,
    )  # fmt: skip
    campaign_b = Campaign.objects.create(
        organization=org_b, name="cb", created_by=bob, district=district_b,
        constituency=const_b,
    )  # fmt: skip
    campaign_a.tags.add(tag_a)
    campaign_b.tags.add(tag_b)
    interaction_a = VoterInteraction.objects.create(campaign=campaign_a, note="ia")
    interaction_b = VoterInteraction.objects.create(campaign=campaign_b, note="ib")
    Notification.objects.create(recipient=alice, message="for alice")
    Notification.objects.create(recipient=bob, message="for bob")
    return World(
        org_a, org_b, alice, bob, carol, nobody, root, campaign_a, campaign_b,
        district_a, district_b, tag_a, tag_b, interaction_a, interaction_b,
    )  # fmt: skip


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
