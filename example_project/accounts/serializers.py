"""Serializers of the account endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Organization, Role


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ["id", "name"]


class ProfileSerializer(serializers.Serializer[Any]):
    """The caller, as ``GET /api/auth/profile/`` answers."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    supabase_uid = serializers.UUIDField(allow_null=True)
    organization = OrganizationSerializer(allow_null=True)
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)
