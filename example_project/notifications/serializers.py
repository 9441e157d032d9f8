"""Serializers of the notification API."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "is_read", "created_at", "updated_at"]
        read_only_fields = fields


class ReadAllSerializer(serializers.Serializer[dict[str, int]]):
    updated = serializers.IntegerField(read_only=True)
