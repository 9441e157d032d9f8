"""Views under the tenant wall, mounted under ``/wall/`` by ``tests.urls``."""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction
from django.urls import path
from rest_framework import generics, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from django_supahybrid.authentication import SupabaseJWTAuthentication
from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import StandardPagination
from django_supahybrid.tenancy.wall import TenantWallMixin
from tests.support.scoping_views import CampaignSerializer, NotificationSerializer
from tests.testapp.models import Campaign, Constituency, Notification, VoterInteraction

AUTH = [SupabaseJWTAuthentication]


class UnwalledCampaignViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    """The scoped view."""

    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = CampaignSerializer
    pagination_class = StandardPagination

    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer, created_by=self.request.user)


class WalledCampaignViewSet(TenantWallMixin, UnwalledCampaignViewSet):
    """The scoped view, under the wall too."""


class PlainCampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "name", "organization"]


class ForgetfulCampaigns(TenantWallMixin, viewsets.ModelViewSet[Campaign]):
    """Forgot for_user() and the scoped mixin: the wall alone keeps tenants apart."""

    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = PlainCampaignSerializer


class RawCampaignSerializer(serializers.ModelSerializer[Campaign]):
    """The organization as a bare id: nothing checks it before the database does."""

    organization_id = serializers.IntegerField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "organization_id"]


class UnwalledRawCampaigns(viewsets.ModelViewSet[Campaign]):
    authentication_classes = AUTH
    queryset = Campaign.objects.order_by("id")
    serializer_class = RawCampaignSerializer


class RawCampaigns(TenantWallMixin, UnwalledRawCampaigns):
    pass


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


class UnwalledConstituencies(generics.ListAPIView[Constituency]):
    authentication_classes = AUTH
    queryset = Constituency.objects.order_by("id")
    serializer_class = ConstituencySerializer


class WhoAmI(TenantWallMixin, APIView):
    """Who the database thinks the request is, on the wall's database."""

    authentication_classes = AUTH

    def get(self, request: Request) -> Response:
        with connections[self.tenant_wall_database or "default"].cursor() as cursor:
            cursor.execute(
                "SELECT current_user, current_setting('request.jwt.claim.sub', true), "
                "current_setting('request.jwt.claim.role', true), "
                "current_setting('request.jwt.claims', true)"
            )
            user, sub, role, claims = cursor.fetchone()
        return Response({"user": user, "sub": sub, "role": role, "claims": claims})


class WhoAmIOnOther(WhoAmI):
    tenant_wall_database = "other"


class UnwalledWriteThenFail(APIView):
    """Writes a row, then refuses the request: the row must not stay (with the middleware)."""

    authentication_classes = AUTH

    def post(self, request: Request) -> Response:
        Campaign.objects.create(organization_id=request.data["organization"], name="doomed")
        if request.data.get("fail"):
            raise ValidationError({"detail": "refused after writing"})
        return Response(status=201)


class WriteThenFail(TenantWallMixin, UnwalledWriteThenFail):
    """The same under the wall."""


router = SimpleRouter()
router.register("campaigns", WalledCampaignViewSet, basename="wall-campaign")
router.register("unwalled-campaigns", UnwalledCampaignViewSet, basename="wall-unwalled-campaign")
router.register("forgetful", ForgetfulCampaigns, basename="wall-forgetful")
router.register("unwalled", UnwalledForgetfulCampaigns, basename="wall-unwalled")
router.register("raw", RawCampaigns, basename="wall-raw")
router.register("unwalled-raw", UnwalledRawCampaigns, basename="wall-unwalled-raw")

urlpatterns = [
    *router.urls,
    path("interactions/", ForgetfulInteractions.as_view()),
    path("notifications/", ForgetfulNotifications.as_view()),
    path("constituencies/", Constituencies.as_view()),
    path("unwalled-constituencies/", UnwalledConstituencies.as_view()),
    path("whoami/", WhoAmI.as_view()),
    path("whoami-non-atomic/", transaction.non_atomic_requests(WhoAmI.as_view())),
    path("whoami-other/", WhoAmIOnOther.as_view()),
    path("write-then-fail/", WriteThenFail.as_view()),
    path("unwalled-write-then-fail/", UnwalledWriteThenFail.as_view()),
]
