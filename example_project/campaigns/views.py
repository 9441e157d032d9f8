"""The campaign API: campaigns, their votes and voter interactions, reference data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.permissions import CampaignRolePermission, IsOrganizationMember
from core.api import APIMixin
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from notifications.services import notify_campaign_created, notify_status_changed
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse

from campaigns.models import Campaign, CampaignStatus, Constituency, District, VoterInteraction
from campaigns.serializers import (
    CampaignSerializer,
    ConstituencySerializer,
    DistrictSerializer,
    VoterInteractionSerializer,
    VoteSerializer,
)
from django_supahybrid.counters import increment
from django_supahybrid.mixins import OrganizationScopedMixin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.serializers import BaseSerializer

ORDERING_FIELDS = ("name", "status", "vote_count", "created_at", "updated_at")
_DEFAULT_ORDERING = "-created_at"


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({name: ["Must be an integer id."]}) from None


def filter_campaigns(
    campaigns: QuerySet[Campaign], params: Mapping[str, str]
) -> QuerySet[Campaign]:
    """Apply ``?status=``, ``?district=``, ``?constituency=`` and ``?ordering=``."""
    status_value = params.get("status")
    if status_value is not None:
        if status_value not in CampaignStatus.values:
            choices = ", ".join(CampaignStatus.values)
            raise ValidationError({"status": [f"Must be one of: {choices}."]})
        campaigns = campaigns.filter(status=status_value)
    district = _int_param(params, "district")
    if district is not None:
        campaigns = campaigns.filter(target_district_id=district)
    constituency = _int_param(params, "constituency")
    if constituency is not None:
        campaigns = campaigns.filter(target_constituency_id=constituency)
    ordering = params.get("ordering", _DEFAULT_ORDERING)
    if ordering.removeprefix("-") not in ORDERING_FIELDS:
        choices = ", ".join(ORDERING_FIELDS)
        raise ValidationError({"ordering": [f"Must be one of: {choices} (prefix - to reverse)."]})
    # The primary key breaks ties, so pages never overlap or skip rows.
    return campaigns.order_by(ordering, "-pk" if ordering.startswith("-") else "pk")


_LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=CampaignStatus.values),
    OpenApiParameter("district", int, description="Target district id."),
    OpenApiParameter("constituency", int, description="Target constituency id."),
    OpenApiParameter(
        "ordering",
        str,
        enum=[*ORDERING_FIELDS, *(f"-{f}" for f in ORDERING_FIELDS)],
        description=f"Default {_DEFAULT_ORDERING}.",
    ),
]


@extend_schema(tags=["campaigns"])
class CampaignViewSet(APIMixin, OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    """Campaigns of the caller's organization. Role rules: ``accounts.permissions``.

    ``OrganizationScopedMixin`` scopes every verb to ``for_user(request.user)`` (another
    organization's id is a 404) and sets the organization on create.
    """

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    permission_classes = [IsAuthenticated, IsOrganizationMember, CampaignRolePermission]

    def get_queryset(self) -> QuerySet[Campaign]:
        campaigns = super().get_queryset()
        if self.action in ("vote", "interactions", "destroy"):
            # Only the row itself is needed: no joins, no prefetch.
            return campaigns.select_related(None).prefetch_related(None)
        if self.action == "list":
            return filter_campaigns(campaigns.for_reading(), self.request.query_params)
        if self.action == "retrieve":
            return campaigns.for_reading()
        return campaigns

    @extend_schema(parameters=_LIST_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses={201: CampaignSerializer},
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[201],
                description="The new campaign's URL.",
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def get_success_headers(self, data: Any) -> dict[str, str]:
        # 201 Created says where the new campaign lives.
        return {"Location": reverse("campaign-detail", args=[data["id"]], request=self.request)}

    def perform_create(self, serializer: BaseSerializer[Campaign], **extra: Any) -> None:
        with transaction.atomic():
            super().perform_create(serializer, created_by=self.request.user, **extra)
            assert serializer.instance is not None
            notify_campaign_created(serializer.instance, self.request.user)

    def perform_update(self, serializer: BaseSerializer[Campaign], **extra: Any) -> None:
        assert serializer.instance is not None
        previous = serializer.instance.status
        with transaction.atomic():
            super().perform_update(serializer, **extra)
            campaign = serializer.instance
            if campaign.status != previous:
                notify_status_changed(campaign, self.request.user, previous)

    @extend_schema(request=None, responses=VoteSerializer)
    @action(detail=True, methods=["post"])
    def vote(self, request: Request, pk: str) -> Response:
        """Add one vote, atomically; answers the new ``vote_count``."""
        campaign = self.get_object()
        try:
            count = increment(campaign, "vote_count")
        except Campaign.DoesNotExist:
            raise NotFound() from None  # deleted since get_object()
        return Response({"vote_count": count})

    @extend_schema(methods=["GET"], request=None, responses=VoterInteractionSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=VoterInteractionSerializer,
        responses={201: VoterInteractionSerializer},
    )
    @action(detail=True, methods=["get", "post"], serializer_class=VoterInteractionSerializer)
    def interactions(self, request: Request, pk: str) -> Response:
        """The campaign's voter interactions, newest first; POST records one."""
        campaign = self.get_object()
        if request.method == "POST":
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            serializer.save(campaign=campaign, volunteer=request.user)
            return Response(serializer.data, status=status.HTTP_201_CREATED)
        interactions = (
            VoterInteraction.objects.for_user(request.user)
            .with_relations()
            .filter(campaign=campaign)
            .order_by("-created_at", "-pk")
        )
        page = self.paginate_queryset(interactions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["reference"])
class DistrictViewSet(APIMixin, viewsets.ReadOnlyModelViewSet[District]):
    """Electoral districts (reference data, readable by every signed-in user)."""

    serializer_class = DistrictSerializer
    queryset = District.objects.order_by("name", "pk")
    pk_type = int


@extend_schema(tags=["reference"])
class ConstituencyViewSet(APIMixin, viewsets.ReadOnlyModelViewSet[Constituency]):
    """Constituencies; ``?district=<id>`` keeps one district's."""

    serializer_class = ConstituencySerializer
    pk_type = int

    def get_queryset(self) -> QuerySet[Constituency]:
        constituencies = Constituency.objects.order_by("name", "pk")
        district = _int_param(self.request.query_params, "district")
        if district is not None:
            constituencies = constituencies.filter(district_id=district)
        return constituencies

    @extend_schema(parameters=[OpenApiParameter("district", int)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
