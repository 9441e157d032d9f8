"""The campaign API: campaigns, their votes and voter interactions, reference data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts.models import profile_of
from accounts.permissions import CampaignRolePermission, IsOrganizationMember
from core.api import APIMixin, check_pk, document
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from notifications.services import notify_campaign_created, notify_status_changed
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from campaigns.counters import increment_votes
from campaigns.models import Campaign, CampaignStatus, Constituency, District
from campaigns.serializers import (
    CampaignSerializer,
    ConstituencySerializer,
    DistrictSerializer,
    VoterInteractionSerializer,
    VoteSerializer,
)

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


@document(tags=["campaigns"])
class CampaignViewSet(APIMixin, viewsets.ModelViewSet[Campaign]):
    """Campaigns of the caller's organization. Role rules: ``accounts.permissions``."""

    serializer_class = CampaignSerializer
    permission_classes = [IsAuthenticated, IsOrganizationMember, CampaignRolePermission]

    def get_queryset(self) -> QuerySet[Campaign]:
        scoped = Campaign.objects.for_user(self.request.user)
        if self.action in ("vote", "interactions", "destroy"):
            return scoped
        campaigns: QuerySet[Campaign] = scoped.with_relations()
        if self.action == "list":
            campaigns = filter_campaigns(campaigns, self.request.query_params)
        return campaigns

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        profile = profile_of(self.request.user)
        context["organization_id"] = profile.organization_id if profile else None
        return context

    @document(parameters=_LIST_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Campaign]) -> None:
        profile = profile_of(self.request.user)
        assert profile is not None  # IsOrganizationMember
        with transaction.atomic():
            campaign = serializer.save(
                organization_id=profile.organization_id, created_by=self.request.user
            )
            notify_campaign_created(campaign, self.request.user)

    def perform_update(self, serializer: BaseSerializer[Campaign]) -> None:
        assert serializer.instance is not None
        previous = serializer.instance.status
        with transaction.atomic():
            campaign = serializer.save()
            if campaign.status != previous:
                notify_status_changed(campaign, self.request.user, previous)

    @document(request=None, responses=VoteSerializer)
    @action(detail=True, methods=["post"])
    def vote(self, request: Request, pk: str) -> Response:
        """Add one vote, atomically; answers the new ``vote_count``."""
        check_pk(pk)
        count = increment_votes(self.get_queryset(), pk)
        if count is None:
            raise NotFound()
        return Response({"vote_count": count})

    @document(methods=["GET"], request=None, responses=VoterInteractionSerializer(many=True))
    @document(
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
        interactions = campaign.interactions.select_related("volunteer").order_by(
            "-created_at", "-pk"
        )
        page = self.paginate_queryset(interactions)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@document(tags=["reference"])
class DistrictViewSet(APIMixin, viewsets.ReadOnlyModelViewSet[District]):
    """Electoral districts (reference data, readable by every signed-in user)."""

    serializer_class = DistrictSerializer
    queryset = District.objects.order_by("name", "pk")
    pk_type = int


@document(tags=["reference"])
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

    @document(parameters=[OpenApiParameter("district", int)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
