"""Serializers of the campaign API."""

from __future__ import annotations

from typing import Any

from core.api import StrictSerializerMixin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.relations import PKOnlyObject

from campaigns.models import Campaign, Constituency, District, VoterInteraction
from django_supahybrid.tenancy import user_organizations


def display_name(user: Any) -> str | None:
    """A user's full name, else their email, else their username."""
    if user is None:
        return None
    return str(user.get_full_name() or user.email or user.get_username())


class DistrictSerializer(serializers.ModelSerializer[District]):
    class Meta:
        model = District
        fields = ["id", "name", "code"]


class ConstituencySerializer(serializers.ModelSerializer[Constituency]):
    class Meta:
        model = Constituency
        fields = ["id", "name", "district"]


class MemberField(serializers.PrimaryKeyRelatedField[Any]):
    """A user id, looked up among the members of the requesting user's organizations.

    Another organization's user gets the same 400 as an id that does not exist.
    """

    def get_queryset(self) -> QuerySet[Any]:
        organizations = user_organizations(self.context["request"].user)
        return super().get_queryset().filter(profile__organization__in=organizations)


class MembersField(serializers.ManyRelatedField):
    """Several ``MemberField`` ids; read from an id array the query annotated, if any.

    ``ids_from`` names that annotation (``CampaignQuerySet.for_reading`` adds
    ``assigned_user_ids``); without it the relation is read as usual.
    """

    def __init__(self, *args: Any, ids_from: str, **kwargs: Any) -> None:
        self.ids_from = ids_from
        super().__init__(*args, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        ids = getattr(instance, self.ids_from, None)
        if ids is None:
            return super().get_attribute(instance)
        return [PKOnlyObject(pk) for pk in ids]


class CampaignSerializer(StrictSerializerMixin, serializers.ModelSerializer[Campaign]):
    """A campaign. ``assigned_users`` accepts members of the caller's organization only."""

    created_by_name = serializers.SerializerMethodField()
    assigned_users = MembersField(
        child_relation=MemberField(queryset=get_user_model().objects.all()),
        ids_from="assigned_user_ids",
        required=False,
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "organization",
            "name",
            "description",
            "status",
            "vote_count",
            "created_by",
            "created_by_name",
            "target_district",
            "target_constituency",
            "assigned_users",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "organization",
            "vote_count",
            "created_by",
            "created_at",
            "updated_at",
        ]

    def get_created_by_name(self, campaign: Campaign) -> str | None:
        return display_name(campaign.created_by)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        district = attrs.get("target_district", getattr(self.instance, "target_district", None))
        constituency = attrs.get(
            "target_constituency", getattr(self.instance, "target_constituency", None)
        )
        if constituency is not None:
            if district is None:
                attrs["target_district"] = constituency.district
            elif constituency.district_id != district.pk:
                raise serializers.ValidationError(
                    {"target_constituency": ["This constituency is not in the target district."]}
                )
        return attrs


class VoteSerializer(serializers.Serializer[Any]):
    vote_count = serializers.IntegerField(read_only=True)


class VoterInteractionSerializer(
    StrictSerializerMixin, serializers.ModelSerializer[VoterInteraction]
):
    volunteer_name = serializers.SerializerMethodField()

    class Meta:
        model = VoterInteraction
        fields = ["id", "campaign", "volunteer", "volunteer_name", "kind", "notes", "created_at"]
        read_only_fields = ["id", "campaign", "volunteer", "created_at"]

    def get_volunteer_name(self, interaction: VoterInteraction) -> str | None:
        return display_name(interaction.volunteer)
