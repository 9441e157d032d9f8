"""``GET /api/auth/profile/``: who the caller is, in which organization, with which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.api import APIMixin
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import profile_of
from accounts.serializers import ProfileSerializer
from django_supahybrid.authentication import SupabaseClaims, subs_of_user

if TYPE_CHECKING:
    from rest_framework.request import Request


class ProfileView(APIMixin, APIView):
    """The caller's profile; ``organization`` and ``role`` are null without a profile."""

    @extend_schema(responses=ProfileSerializer, tags=["auth"])
    def get(self, request: Request) -> Response:
        user: Any = request.user
        profile = profile_of(user)
        # The verified token's sub; else (a forced or session login) the identity row.
        subs = (
            [request.auth.sub] if isinstance(request.auth, SupabaseClaims) else subs_of_user(user)
        )
        data = {
            "id": user.pk,
            "email": user.email,
            "supabase_uid": subs[0] if subs else None,
            "organization": profile.organization if profile else None,
            "role": profile.role if profile else None,
        }
        return Response(ProfileSerializer(data).data)
