"""Benchmark-only views: one endpoint body behind each authentication being compared."""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication

from django_supahybrid.authentication import SupabaseJWTAuthentication


class NaiveAuthentication(BaseAuthentication):
    """A common starting point: decode with the secret, then look the user up by email."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        try:
            payload = jwt.decode(
                parts[1], settings.SUPAHYBRID["JWT_SECRET"], algorithms=["HS256"],
                audience="authenticated",
            )  # fmt: skip
            return get_user_model().objects.get(email=payload["email"]), None
        except (jwt.PyJWTError, get_user_model().DoesNotExist):
            raise AuthenticationFailed("invalid token") from None


class _Base(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class FloorView(_Base):
    """No authentication: the floor, at the same URL depth as the cases."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class SupabaseView(_Base):
    authentication_classes = [SupabaseJWTAuthentication]


class SimpleJWTView(_Base):
    authentication_classes = [JWTAuthentication]


class NaiveView(_Base):
    authentication_classes = [NaiveAuthentication]
