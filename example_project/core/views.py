"""Health endpoint: answers 200 when the database and the cache both answer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

if TYPE_CHECKING:
    from rest_framework.request import Request


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _cache_ok() -> bool:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception:  # any client error means the cache is down
        return False
    return ok


_HEALTH_SCHEMA = inline_serializer(
    "Health",
    {
        "status": serializers.CharField(),
        "checks": serializers.DictField(child=serializers.CharField()),
        "failed": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


class HealthView(APIView):
    """``GET /api/health/``: ``{"status": "ok"}``, or 503 naming what failed."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["health"], responses={200: _HEALTH_SCHEMA, 503: _HEALTH_SCHEMA})
    def get(self, request: Request) -> Response:
        checks = {"database": _database_ok(), "cache": _cache_ok()}
        failed = [name for name, ok in checks.items() if not ok]
        body: dict[str, Any] = {
            "status": "ok" if not failed else "unavailable",
            "checks": {name: "ok" if ok else "failed" for name, ok in checks.items()},
        }
        if failed:
            body["failed"] = failed
            return Response(body, status=503)
        return Response(body)
