"""The Bearer scheme appears in drf-spectacular's schema for views using the library's class."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_supahybrid.authentication import (
    SupabaseJWTAuthentication,
    SupabaseSessionAuthentication,
)


class _Ping(APIView):
    authentication_classes = [SupabaseJWTAuthentication]
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"pong": True})


class _SessionChecked(_Ping):
    authentication_classes = [SupabaseSessionAuthentication]  # a subclass


@pytest.fixture
def spectacular(settings: Any) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "drf_spectacular"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }


@pytest.mark.usefixtures("spectacular")
def test_bearer_scheme_for_the_class_and_its_subclasses() -> None:
    from django.urls import path

    patterns = [path("ping/", _Ping.as_view()), path("checked/", _SessionChecked.as_view())]
    schema = SchemaGenerator(patterns=patterns).get_schema(public=True)
    scheme = schema["components"]["securitySchemes"]["supabaseAccessToken"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Supabase Auth access token (the session's access_token).",
    }
    for route in ("/ping/", "/checked/"):
        assert {"supabaseAccessToken": []} in schema["paths"][route]["get"]["security"]
