"""Views the authentication tests call: DRF (required and optional auth) and plain Django."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_supahybrid.authentication import SupabaseJWTAuthentication, get_claims


def _describe(request: Any) -> dict[str, Any]:
    user = request.user
    claims = request.auth
    return {
        "user": user.get_username() if user and user.is_authenticated else None,
        "sub": str(claims.sub) if claims else None,
    }


class PrivateView(APIView):
    authentication_classes = [SupabaseJWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(_describe(request))


class OptionalView(APIView):
    authentication_classes = [SupabaseJWTAuthentication]
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(_describe(request))


def plain_view(request: HttpRequest) -> JsonResponse:
    claims = get_claims(request)
    return JsonResponse(
        {
            "authenticated": request.user.is_authenticated,
            "sub": str(claims.sub) if claims else None,
        }
    )


urlpatterns = [
    path("private/", PrivateView.as_view()),
    path("optional/", OptionalView.as_view()),
    path("plain/", plain_view),
]
