"""One scoped campaign list, with and without the tenant wall, in autocommit and under
``ATOMIC_REQUESTS``."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import include, path
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from benchmarks.urls import AllowAnyView
from django_supahybrid.authentication import SupabaseJWTAuthentication
from django_supahybrid.mixins import OrganizationScopedMixin
from django_supahybrid.pagination import StandardPagination
from django_supahybrid.tenancy.wall import TenantWallMixin
from tests.testapp.models import Campaign


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "name", "organization"]


class Campaigns(OrganizationScopedMixin, ListAPIView[Campaign]):
    authentication_classes = [SupabaseJWTAuthentication]
    queryset = Campaign.objects.order_by("id")
    serializer_class = CampaignSerializer
    pagination_class = StandardPagination


class WalledCampaigns(TenantWallMixin, Campaigns):
    pass


def _autocommit(view: Any) -> Any:
    """The view exempt from ``ATOMIC_REQUESTS``: each query commits on its own."""
    return transaction.non_atomic_requests(view)


urlpatterns = [
    path("bench/allowany/", _autocommit(AllowAnyView.as_view())),  # touches no database
    path("bench/wall/campaigns/", _autocommit(Campaigns.as_view())),
    path("bench/wall/campaigns-walled/", _autocommit(WalledCampaigns.as_view())),
    path("bench/wall/atomic/campaigns/", Campaigns.as_view()),
    path("bench/wall/atomic/campaigns-walled/", WalledCampaigns.as_view()),
    path("", include("benchmarks.urls")),
]
