"""Fixtures for the example project's API tests: two organizations with every role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from accounts.models import Organization, Role, UserProfile
from campaigns.models import Campaign, Constituency, District
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@dataclass
class Tenant:
    organization: Organization
    admin: Any
    manager: Any
    volunteer: Any
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def members(self) -> list[Any]:
        return [self.admin, self.manager, self.volunteer]


@dataclass
class World:
    a: Tenant
    b: Tenant
    loner: Any
    district: District
    constituency: Constituency
    other_district: District
    other_constituency: Constituency


def make_user(email: str, organization: Organization | None, role: str = Role.VOLUNTEER) -> Any:
    user = get_user_model().objects.create(username=email, email=email)
    UserProfile.objects.create(user=user, organization=organization, role=role)
    return user


def make_campaign(tenant: Tenant, **fields: Any) -> Campaign:
    fields.setdefault("name", f"Campaign {len(tenant.campaigns) + 1}")
    fields.setdefault("created_by", tenant.admin)
    campaign = Campaign.objects.create(organization=tenant.organization, **fields)
    tenant.campaigns.append(campaign)
    return campaign


def _tenant(name: str) -> Tenant:
    organization = Organization.objects.create(name=name)
    slug = name.lower().replace(" ", "")
    return Tenant(
        organization,
        admin=make_user(f"admin@{slug}.test", organization, Role.ADMIN),
        manager=make_user(f"manager@{slug}.test", organization, Role.MANAGER),
        volunteer=make_user(f"volunteer@{slug}.test", organization, Role.VOLUNTEER),
    )


@pytest.fixture
def world(db: None) -> World:
    district = District.objects.create(name="North", code="N")
    other_district = District.objects.create(name="South", code="S")
    constituency = Constituency.objects.create(district=district, name="Harbour")
    other_constituency = Constituency.objects.create(district=other_district, name="Meadow")
    a, b = _tenant("Org A"), _tenant("Org B")
    for tenant in (a, b):
        make_campaign(tenant, status="active", target_district=district)
        make_campaign(tenant, status="draft", target_district=other_district)
    return World(
        a=a,
        b=b,
        loner=make_user("loner@nowhere.test", None),
        district=district,
        constituency=constituency,
        other_district=other_district,
        other_constituency=other_constituency,
    )


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client
