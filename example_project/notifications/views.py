"""The caller's notifications: a newest-first feed, marked read one by one or all at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.api import APIMixin
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import FeedCursorPagination
from notifications.models import Notification
from notifications.serializers import NotificationSerializer, ReadAllSerializer

if TYPE_CHECKING:
    from rest_framework.request import Request


class NotificationFeedPagination(FeedCursorPagination):
    """Newest first, opaque ``?cursor=``: stable while new notifications arrive."""

    ordering = ("-created_at", "-id")


@extend_schema(tags=["notifications"])
class NotificationViewSet(
    APIMixin,
    OrganizationScopedMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet[Notification],
):
    """Only the caller's own notifications (``Scoping.user``), newest first."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    pagination_class = NotificationFeedPagination

    @extend_schema(
        request=None,
        responses=NotificationSerializer,
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        """Mark one notification read; answers it."""
        notification = self.get_object()
        if not notification.is_read:
            notification.is_read = True
            notification.save(update_fields=["is_read", "updated_at"])
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=ReadAllSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request, *args: Any) -> Response:
        """Mark every unread notification of the caller read; answers how many changed."""
        updated = (
            self.get_queryset()
            .filter(is_read=False)
            .update(is_read=True, updated_at=timezone.now())
        )
        return Response({"updated": updated})
