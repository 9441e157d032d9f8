"""Views under the tenant wall, mounted under ``/wall/`` by ``tests.urls``."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import generics, serializers, viewsets
from rest_framework.routers import SimpleRouter

from django_supahybrid.authentication import SupabaseJWTAuthentication
from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import StandardPagination
from django_supahybrid.tenancy.wall import TenantWallMixin
from tests.support.scoping_views import CampaignSerializer, NotificationSerializer
from tests.testapp.models import Campaign, Constituency, Notification, VoterInteraction

AUTH = [SupabaseJWTAuthentication]


class WalledCampaignViewSet(TenantWallMixin, OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    """The scoped view, under the wall too."""

    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = CampaignSerializer
    pagination_class = StandardPagination

    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer, created_by=self.request.user)


class PlainCampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "name", "organization"]


class ForgetfulCampaigns(TenantWallMixin, viewsets.ModelViewSet[Campaign]):
    """Forgot for_user() and the scoped mixin: the wall alone keeps tenants apart."""

    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = PlainCampaignSerializer


class UnwalledForgetfulCampaigns(viewsets.ModelViewSet[Campaign]):
    """The same mistake without the wall: every tenant's rows."""

    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = PlainCampaignSerializer


class InteractionSerializer(serializers.ModelSerializer[VoterInteraction]):
    class Meta:
        model = VoterInteraction
        fields = ["id", "note", "campaign"]


class ForgetfulInteractions(TenantWallMixin, generics.ListCreateAPIView[VoterInteraction]):
    authentication_classes = AUTH
    queryset = VoterInteraction.objects.order_by("id")
    serializer_class = InteractionSerializer


class ForgetfulNotifications(TenantWallMixin, generics.ListAPIView[Notification]):
    authentication_classes = AUTH
    queryset = Notification.objects.order_by("id")
    serializer_class = NotificationSerializer


class ConstituencySerializer(serializers.ModelSerializer[Constituency]):
    class Meta:
        model = Constituency
        fields = ["id", "name"]


class Constituencies(TenantWallMixin, generics.ListAPIView[Constituency]):
    authentication_classes = AUTH
    queryset = Constituency.objects.order_by("id")
    serializer_class = ConstituencySerializer


class OtherDatabaseCampaigns(ForgetfulCampaigns):
    tenant_wall_database = "other"


router = SimpleRouter()
router.register("campaigns", WalledCampaignViewSet, basename="wall-campaign")
router.register("forgetful", ForgetfulCampaigns, basename="wall-forgetful")
router.register("unwalled", UnwalledForgetfulCampaigns, basename="wall-unwalled")

urlpatterns = [
    *router.urls,
    path("interactions/", ForgetfulInteractions.as_view()),
    path("notifications/", ForgetfulNotifications.as_view()),
    path("constituencies/", Constituencies.as_view()),
    path("other-database/", OtherDatabaseCampaigns.as_view({"get": "list"})),
]
