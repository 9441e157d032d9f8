"""Fixtures for the example project's API tests: two organizations with every role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from accounts.models import Organization, Role, UserProfile
from campaigns.models import Campaign, Constituency, District
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from django_supahybrid.models import SupabaseIdentity
from django_supahybrid.testing import make_claims, mint_token

JWT_SECRET = "example-tests-jwt-secret-with-at-least-32-characters"


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
    SupabaseIdentity.objects.create(user=user, sub=uuid.uuid4())
    return user


def token_for(user: Any, secret: str = JWT_SECRET) -> str:
    """A Supabase-shaped access token for ``user``, signed as Supabase Auth would."""
    claims = make_claims(user.supabase_identity.sub, email=user.email)
    return mint_token(claims, secret=secret)


def token_client_for(user: Any) -> APIClient:
    """A client that authenticates like a browser: with the user's access token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    return client


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


@pytest.fixture(autouse=True)
def _example_settings(settings: Any) -> None:
    """The library and DRF settings of ``config/settings.py`` that the API depends on."""
    settings.SUPAHYBRID = {
        **settings.SUPAHYBRID,
        "SUPABASE_URL": "http://127.0.0.1:54321",
        "JWT_SECRET": JWT_SECRET,
        "ORGANIZATION_LOOKUP": "profile__organization",
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "django_supahybrid.authentication.SupabaseJWTAuthentication"
        ],
    }


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
