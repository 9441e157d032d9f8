"""One scoped campaign list, with and without the tenant wall, in and out of a transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import include, path
from rest_framework import serializers
from rest_framework.generics import ListAPIView

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


def _atomic(view: Any) -> Any:
    """The view inside one transaction, as ``ATOMIC_REQUESTS = True`` runs it."""
    return transaction.atomic(view)


urlpatterns = [
    path("bench/wall/campaigns/", Campaigns.as_view()),
    path("bench/wall/campaigns-walled/", WalledCampaigns.as_view()),
    path("bench/wall/atomic/campaigns/", _atomic(Campaigns.as_view())),
    path("bench/wall/atomic/campaigns-walled/", _atomic(WalledCampaigns.as_view())),
    path("", include("benchmarks.urls")),
]
