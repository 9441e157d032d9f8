"""The example's URLs plus ``/bench/allowany/``: the floor every endpoint is compared to."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class AllowAnyView(APIView):
    """A bare DRF view: no authentication, no permission, no query."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


urlpatterns = [
    path("bench/allowany/", AllowAnyView.as_view()),
    path("bench/auth/", include("benchmarks.auth_urls")),
    path("", include("config.urls")),
]
