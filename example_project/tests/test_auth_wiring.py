"""The example authenticates with the library's class, configured from the environment."""

from __future__ import annotations

import importlib
import uuid
from io import StringIO
from typing import Any

import pytest
from accounts.models import UserProfile
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from django_supahybrid.models import SupabaseIdentity

example = importlib.import_module("config.settings")


def test_example_lists_supabase_authentication_first() -> None:
    classes = example.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes[0] == "django_supahybrid.authentication.SupabaseJWTAuthentication"
    assert example.SUPAHYBRID["JWT_SECRET"] == example.SUPABASE_JWT_SECRET
    assert example.SUPAHYBRID["SUPABASE_URL"] == example.SUPABASE_URL


@pytest.mark.django_db
def test_a_dev_token_authenticates_an_example_user(settings: Any) -> None:
    settings.DEBUG = True  # supahybrid_token mints development tokens in debug mode only
    sub = uuid.uuid4()
    user = User.objects.create(username="ada", email="ada@example.com")
    UserProfile.objects.create(user=user)
    SupabaseIdentity.objects.create(user=user, sub=sub)
    out = StringIO()
    call_command("supahybrid_token", "--email", "ada@example.com", stdout=out)
    client = APIClient()
    response = client.get("/api/auth/profile/", HTTP_AUTHORIZATION=f"Bearer {out.getvalue()}")
    assert response.status_code == 200, response.content
    assert response.json()["supabase_uid"] == str(sub)
    assert response.json()["id"] == user.pk
    assert client.get("/api/auth/profile/").status_code == 401
