"""Views over the scoping test models, mounted under ``/scoping/`` by ``tests.urls``."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.generics import ListAPIView
from rest_framework.routers import SimpleRouter

from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import FeedCursorPagination, StandardPagination
from django_supahybrid.tenancy.relations import ScopedPrimaryKeyRelatedField, UserOrganizationField
from tests.testapp.models import (
    Campaign,
    CampaignWithInteractions,
    District,
    Notification,
    Organization,
    Tag,
    VoterInteraction,
)


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    organization = UserOrganizationField(queryset=Organization.objects.all(), required=False)
    created_by_name = serializers.CharField(
        source="created_by.username", read_only=True, default=None
    )
    district = ScopedPrimaryKeyRelatedField(
        queryset=District.objects.all(), required=False, allow_null=True
    )
    district_name = serializers.CharField(source="district.name", read_only=True, default=None)
    constituency_name = serializers.CharField(
        source="constituency.name", read_only=True, default=None
    )
    tags = ScopedPrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "organization", "created_by_name", "district", "district_name",
            "constituency_name", "tags",
        ]  # fmt: skip


class CampaignViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    queryset = Campaign.objects.order_by("id")
    serializer_class = CampaignSerializer
    pagination_class = StandardPagination

    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer, created_by=self.request.user)

    def perform_update(self, serializer: Any) -> None:
        # Extra keyword arguments reach save(): mark renamed campaigns.
        name = serializer.validated_data.get("name")
        super().perform_update(serializer, **({"name": f"{name}!"} if name else {}))


class ReadOnlyOrganizationSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "name", "organization"]
        read_only_fields = ["organization"]


class ReadOnlyOrganizationViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    """The organization is read-only: a client-supplied one is refused, not ignored."""

    queryset = Campaign.objects.order_by("id")
    serializer_class = ReadOnlyOrganizationSerializer


class PlainOrganizationSerializer(serializers.ModelSerializer[Campaign]):
    """A plain (unscoped) organization field: the mixin must still refuse other tenants."""

    class Meta:
        model = Campaign
        fields = ["id", "name", "organization"]


class PlainOrganizationViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    organization_field = "organization"  # the default, named explicitly
    queryset = Campaign.objects.order_by("id")
    serializer_class = PlainOrganizationSerializer


class InteractionSerializer(serializers.ModelSerializer[VoterInteraction]):
    campaign = ScopedPrimaryKeyRelatedField(queryset=Campaign.objects.all())
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)

    class Meta:
        model = VoterInteraction
        fields = ["id", "campaign", "campaign_name", "note"]


class InteractionViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[VoterInteraction]):
    queryset = VoterInteraction.objects.order_by("id")
    serializer_class = InteractionSerializer
    pagination_class = StandardPagination


class UnsafeInteractionSerializer(serializers.ModelSerializer[VoterInteraction]):
    """A plain campaign field: the write check inside the transaction must catch it."""

    class Meta:
        model = VoterInteraction
        fields = ["id", "campaign", "note"]


class UnsafeInteractionViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[VoterInteraction]):
    queryset = VoterInteraction.objects.order_by("id")
    serializer_class = UnsafeInteractionSerializer


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "message", "created_at"]


class NotificationPagination(FeedCursorPagination):
    ordering = "-id"


class NotificationViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Notification]):
    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination


class CampaignInteractionsSerializer(serializers.ModelSerializer[CampaignWithInteractions]):
    interactions = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = CampaignWithInteractions
        fields = ["id", "interactions", "tags"]

    def get_interactions(self, obj: Any) -> list[str]:
        return [i.note for i in obj.interaction_list]

    def get_tags(self, obj: Any) -> list[str]:
        return [t.name for t in obj.tags.all()]


class CampaignInteractionsView(OrganizationScopedMixin, ListAPIView[CampaignWithInteractions]):
    queryset = CampaignWithInteractions.objects.order_by("id")
    serializer_class = CampaignInteractionsSerializer
    pagination_class = StandardPagination


class TagSerializer(serializers.ModelSerializer[Tag]):
    class Meta:
        model = Tag
        fields = ["id", "name"]


class SmallCountPagination(StandardPagination):
    page_size = 5
    max_page_size = 8
    exact_count_limit = 10


class CappedCountPagination(SmallCountPagination):
    large_count = "capped"


class TagPages(ListAPIView[Tag]):
    """Unscoped on purpose: pagination alone, over every tag."""

    queryset = Tag.objects.order_by("id")
    serializer_class = TagSerializer
    pagination_class = StandardPagination


class SmallTagPages(TagPages):
    pagination_class = SmallCountPagination


class CappedTagPages(TagPages):
    pagination_class = CappedCountPagination


class ListTagPages(TagPages):
    """Paginates a list rather than a queryset."""

    def get_queryset(self) -> Any:
        return list(super().get_queryset())


router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("readonly-org-campaigns", ReadOnlyOrganizationViewSet, basename="ro-campaign")
router.register("plain-org-campaigns", PlainOrganizationViewSet, basename="plain-campaign")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("unsafe-interactions", UnsafeInteractionViewSet, basename="unsafe-interaction")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("", include(router.urls)),
    path("campaign-interactions/", CampaignInteractionsView.as_view()),
    path("tags/", TagPages.as_view()),
    path("small-tags/", SmallTagPages.as_view()),
    path("capped-tags/", CappedTagPages.as_view()),
    path("list-tags/", ListTagPages.as_view()),
]
