"""Campaign list endpoints, naive and scoped, and a notification list paged two ways."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import FeedCursorPagination, StandardPagination
from tests.support.scoping_views import NotificationSerializer
from tests.testapp.models import Campaign, Notification


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    created_by_name = serializers.CharField(source="created_by.username")
    district_name = serializers.CharField(source="district.name")
    constituency_name = serializers.CharField(source="constituency.name")

    class Meta:
        model = Campaign
        fields = ["id", "name", "created_by_name", "district_name", "constituency_name"]


class LargePages(StandardPagination):
    max_page_size = 1000


class NaiveCampaignList(ListAPIView[Campaign]):
    """A typical first version: filtered by hand, relations loaded row by row."""

    serializer_class = CampaignSerializer
    pagination_class = LargePages

    def get_queryset(self) -> Any:
        organization = self.request.user.scoping_profile.organization  # type: ignore[union-attr]
        return Campaign.objects.filter(organization=organization).order_by("id")


class ScopedCampaignList(OrganizationScopedMixin, ListAPIView[Campaign]):
    queryset = Campaign.objects.order_by("id")
    serializer_class = CampaignSerializer
    pagination_class = LargePages


class ExactCount(StandardPagination):
    exact_count_limit = 10**9


class NotificationPages(OrganizationScopedMixin, ListAPIView[Notification]):
    queryset = Notification.objects.order_by("-id")
    serializer_class = NotificationSerializer
    pagination_class = StandardPagination


class NotificationPagesExact(NotificationPages):
    pagination_class = ExactCount


class PlainOffset(StandardPagination):
    deferred_join = False


class NotificationPagesPlain(NotificationPages):
    pagination_class = PlainOffset


class IdCursor(FeedCursorPagination):
    ordering = "-id"


class NotificationFeed(NotificationPages):
    queryset = Notification.objects.all()
    pagination_class = IdCursor


urlpatterns = [
    path("bench/campaigns/naive/", NaiveCampaignList.as_view()),
    path("bench/campaigns/scoped/", ScopedCampaignList.as_view()),
    path("bench/notifications/pages/", NotificationPages.as_view()),
    path("bench/notifications/pages-exact/", NotificationPagesExact.as_view()),
    path("bench/notifications/pages-plain/", NotificationPagesPlain.as_view()),
    path("bench/notifications/feed/", NotificationFeed.as_view()),
    path("", include("benchmarks.urls")),
]
