"""``/api/auth/profile/`` and the read-only reference data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from accounts.models import UserProfile
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from django_supahybrid.models import SupabaseIdentity
from tests.support import client_for

if TYPE_CHECKING:
    from tests.support import World

pytestmark = pytest.mark.django_db


def test_profile(world: World) -> None:
    uid = SupabaseIdentity.objects.get(user=world.a.manager).sub  # the library's row
    response = client_for(world.a.manager).get("/api/auth/profile/")
    assert response.status_code == 200
    assert response.json() == {
        "id": world.a.manager.pk,
        "email": "manager@orga.test",
        "supabase_uid": str(uid),
        "organization": {"id": str(world.a.organization.pk), "name": "Org A"},
        "role": "manager",
    }


def test_profile_without_organization_or_profile(world: World) -> None:
    body = client_for(world.loner).get("/api/auth/profile/").json()
    assert body["organization"] is None
    assert body["role"] == "volunteer"
    bare = get_user_model().objects.create(username="bare", email="bare@x.test")
    body = client_for(bare).get("/api/auth/profile/").json()
    assert body == {
        "id": bare.pk,
        "email": "bare@x.test",
        "supabase_uid": None,
        "organization": None,
        "role": None,
    }


def test_profile_reflects_a_role_change_between_requests(world: World) -> None:
    client = client_for(world.a.volunteer)
    assert client.get("/api/auth/profile/").json()["role"] == "volunteer"
    UserProfile.objects.filter(user=world.a.volunteer).update(role="admin")
    # Same user object (force_authenticate), new request: the new role.
    assert client.get("/api/auth/profile/").json()["role"] == "admin"


def test_profile_is_read_only(world: World) -> None:
    client = client_for(world.a.admin)
    assert client.post("/api/auth/profile/", {"role": "admin"}, format="json").status_code == 405
    assert APIClient().get("/api/auth/profile/").status_code in (401, 403)


def test_districts_and_constituencies(world: World) -> None:
    client = client_for(world.loner)  # reference data needs no organization
    districts = client.get("/api/districts/").json()
    assert [d["name"] for d in districts["results"]] == ["North", "South"]
    assert client.get(f"/api/districts/{world.district.pk}/").json()["code"] == "N"
    everything = client.get("/api/constituencies/").json()
    assert everything["count"] == 2
    north = client.get(f"/api/constituencies/?district={world.district.pk}").json()
    assert [c["name"] for c in north["results"]] == ["Harbour"]
    one = client.get(f"/api/constituencies/{world.constituency.pk}/").json()
    assert one == {"id": world.constituency.pk, "name": "Harbour", "district": world.district.pk}


@pytest.mark.parametrize("pk", ["999999", "abc", str(2**70)])
def test_unknown_reference_ids_are_404(world: World, pk: str) -> None:
    client = client_for(world.a.volunteer)
    for url in (f"/api/districts/{pk}/", f"/api/constituencies/{pk}/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_reference_data_is_read_only(world: World) -> None:
    client = client_for(world.a.admin)
    assert (
        client.post("/api/districts/", {"name": "X", "code": "X"}, format="json").status_code == 405
    )
    url = f"/api/constituencies/{world.constituency.pk}/"
    assert client.delete(url).status_code == 405
    assert client.get("/api/constituencies/?district=x").status_code == 400
