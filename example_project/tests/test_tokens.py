"""Smoke test of every endpoint with real Supabase-shaped access tokens, as a browser calls."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from campaigns.models import Campaign
from django.contrib.auth import get_user_model
from notifications.models import Notification
from rest_framework.test import APIClient

from django_supahybrid.testing import JWKSServer, SigningKey, make_claims, mint_token
from tests.support import token_client_for, token_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


def test_every_endpoint_answers_a_token_holder(world: World) -> None:
    admin = token_client_for(world.a.admin)
    campaign = world.a.campaigns[0]
    note = Notification.objects.create(
        recipient=world.a.admin, organization=world.a.organization, kind="system", title="Hi"
    )
    detail = f"/api/campaigns/{campaign.pk}/"
    calls: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("get", "/api/auth/profile/", None, 200),
        ("get", "/api/campaigns/", None, 200),
        ("post", "/api/campaigns/", {"name": "Tokened"}, 201),
        ("get", detail, None, 200),
        ("patch", detail, {"description": "x"}, 200),
        ("put", detail, {"name": "Whole"}, 200),
        ("post", f"{detail}vote/", None, 200),
        ("get", f"{detail}interactions/", None, 200),
        ("post", f"{detail}interactions/", {"kind": "event"}, 201),
        ("get", "/api/districts/", None, 200),
        ("get", f"/api/districts/{world.district.pk}/", None, 200),
        ("get", "/api/constituencies/", None, 200),
        ("get", f"/api/constituencies/{world.constituency.pk}/", None, 200),
        ("get", "/api/notifications/", None, 200),
        ("post", f"/api/notifications/{note.pk}/read/", None, 200),
        ("post", "/api/notifications/read-all/", None, 200),
        ("delete", detail, None, 204),
    ]
    for method, url, body, status in calls:
        response = getattr(admin, method)(url, body, format="json")
        assert response.status_code == status, (method, url, response.content)
    profile = admin.get("/api/auth/profile/").json()
    assert profile["supabase_uid"] == str(world.a.admin.supabase_identity.sub)
    assert profile["role"] == "admin"
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer not-a-jwt",
        "Bearer " + mint_token(make_claims(uuid.uuid4()), secret="x" * 40),  # wrong secret
    ],
)
def test_no_or_bad_token_is_a_401_with_a_message(world: World, header: str | None) -> None:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    for url in ("/api/auth/profile/", "/api/campaigns/", "/api/notifications/stream/"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["detail"]


def test_a_new_supabase_user_has_no_organization(world: World) -> None:
    """First sight of a Supabase user: the library creates the Django user, no profile."""
    sub = uuid.uuid4()
    client = APIClient()
    token = mint_token(make_claims(sub, email="new@x.test"))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    profile = client.get("/api/auth/profile/").json()
    assert profile["supabase_uid"] == str(sub)
    assert (profile["organization"], profile["role"]) == (None, None)
    assert get_user_model().objects.get(pk=profile["id"]).supabase_identity.sub == sub
    assert client.get("/api/campaigns/").status_code == 403


def test_a_warm_token_costs_one_query_for_the_profile(
    world: World, django_assert_num_queries: Any
) -> None:
    client = token_client_for(world.a.volunteer)
    assert client.get("/api/auth/profile/").status_code == 200  # verifies and caches
    with django_assert_num_queries(1):  # the profile; the user comes from the cache
        assert client.get("/api/auth/profile/").status_code == 200


def test_a_token_signed_with_a_signing_key_from_the_jwks(world: World, settings: Any) -> None:
    """Signing keys instead of the legacy secret: the keys come from SUPABASE_JWKS_URL."""
    key = SigningKey.generate("ES256")
    with JWKSServer([key]) as jwks:
        settings.SUPAHYBRID = {**settings.SUPAHYBRID, "JWT_SECRET": None, "JWKS_URL": jwks.url}
        client = APIClient()
        claims = make_claims(world.a.manager.supabase_identity.sub, email=world.a.manager.email)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_token(claims, key=key)}")
        profile = client.get("/api/auth/profile/").json()
        assert (profile["id"], profile["role"]) == (world.a.manager.pk, "manager")
        # The legacy secret is no longer trusted.
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world.a.manager)}")
        assert client.get("/api/auth/profile/").status_code == 401
