"""Writes cannot point a row at another tenant's rows, whatever serializer field carries them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from django_supahybrid.tenancy.relations import FoundRows, scope_related_fields
from django_supahybrid.testing.queries import count_queries
from tests.support.scoping_views import GeneratedCampaignViewSet
from tests.support.tenancy import PROFILE, World, client_for
from tests.testapp.models import Campaign, District, Tag

GENERATED = "/scoping/generated-campaigns/"
RAW_IDS = "/scoping/raw-id-campaigns/"
DISTRICTS = "/scoping/districts/"

# The answer for a row of another tenant is the answer for a row that does not exist.
MISSING = 'Invalid pk "{}" - object does not exist.'


def _unchanged(world: World) -> None:
    """Nothing was written: no new campaign, campaign A still points at A's rows."""
    assert Campaign.objects.count() == 2
    world.campaign_a.refresh_from_db()
    assert world.campaign_a.district == world.district_a
    assert list(world.campaign_a.tags.all()) == [world.tag_a]


@pytest.mark.parametrize("verb", ["create", "update"])
def test_generated_fields_refuse_another_tenants_rows(world: World, verb: str) -> None:
    client = client_for(world.alice)
    body = {"name": "sneaky", "district": world.district_b.pk, "tags": [world.tag_b.pk]}
    if verb == "create":
        response = client.post(GENERATED, body, format="json")
    else:
        response = client.patch(f"{GENERATED}{world.campaign_a.pk}/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "district": [MISSING.format(world.district_b.pk)],
        "tags": [MISSING.format(world.tag_b.pk)],
    }
    _unchanged(world)


def test_generated_fields_accept_the_users_own_rows(world: World) -> None:
    body = {"name": "own", "district": world.district_a.pk, "tags": [world.tag_a.pk]}
    response = client_for(world.alice).post(GENERATED, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["district_name"] == "dA"
    assert response.json()["tag_names"] == ["tA"]
    created = Campaign.objects.get(name="own")
    assert created.organization == world.org_a
    assert created.district == world.district_a


def test_member_of_both_may_combine_their_rows(world: World) -> None:
    body = {
        "name": "both", "organization": world.org_a.pk, "district": world.district_b.pk,
        "tags": [world.tag_a.pk, world.tag_b.pk],
    }  # fmt: skip
    response = client_for(world.carol).post(GENERATED, body, format="json")
    assert response.status_code == 201, response.json()
    assert sorted(response.json()["tag_names"]) == ["tA", "tB"]


def test_superuser_reaches_every_tenant_only_with_the_opt_in(
    world: World, settings: SettingsWrapper
) -> None:
    client = client_for(world.root)
    body = {"name": "root's", "organization": world.org_b.pk, "district": world.district_b.pk}
    refused = client.post(GENERATED, body, format="json")
    assert refused.status_code == 400
    assert set(refused.json()) == {"organization", "district"}
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": PROFILE, "ORGANIZATION_SUPERUSER_SEES_ALL": True}
    assert client.post(GENERATED, body, format="json").status_code == 201


def test_unscoped_related_models_are_not_checked(world: World) -> None:
    # Constituency has no Scoping: it is the project's to guard (here, through District).
    constituency = world.campaign_b.constituency
    assert constituency is not None
    body = {"name": "c", "constituency": constituency.pk}
    response = client_for(world.alice).post(GENERATED, body, format="json")
    assert response.status_code == 201


def test_form_choices_are_the_users_rows(world: World) -> None:
    # The browsable API lists a related field's choices in its HTML form.
    view = GeneratedCampaignViewSet(action="create", format_kwarg=None)
    view.request = APIRequestFactory().get("/")
    view.request.user = world.alice  # type: ignore[attr-defined]
    fields = view.get_serializer().fields
    assert list(fields["district"].choices) == [world.district_a.pk]
    assert list(fields["tags"].choices) == [world.tag_a.pk]
    assert list(fields["organization"].choices) == [world.org_a.pk]
    # Choices of a model that is not scoped are left alone.
    assert len(fields["constituency"].choices) == 2


def test_a_page_being_read_is_not_limited(world: World) -> None:
    # A list serializer without data only renders rows: nothing to look up, nothing to limit.
    view = GeneratedCampaignViewSet(action="list", format_kwarg=None)
    view.request = APIRequestFactory().get("/")
    view.request.user = world.alice  # type: ignore[attr-defined]
    child = view.get_serializer([], many=True).child
    assert len(child.fields["district"].choices) == 2  # DRF's own, unscoped queryset
    written = view.get_serializer(data=[{"name": "x"}], many=True).child
    assert list(written.fields["district"].choices) == [world.district_a.pk]


def test_serializer_without_a_request_offers_no_rows(world: World) -> None:
    # As schema generators build it: the view has no request.
    view = GeneratedCampaignViewSet(action="create", format_kwarg=None, request=None)
    assert list(view.get_serializer().fields["district"].choices) == []


@pytest.mark.parametrize("verb", ["create", "update"])
def test_bare_ids_of_another_tenant_are_refused(world: World, verb: str) -> None:
    client = client_for(world.alice)
    body = {
        "name": "raw", "district_id": world.district_b.pk,
        "tags": [str(world.tag_a.pk), str(world.tag_b.pk)],
    }  # fmt: skip
    if verb == "create":
        response = client.post(RAW_IDS, body, format="json")
    else:
        response = client.patch(f"{RAW_IDS}{world.campaign_a.pk}/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json() == {
        "district_id": [MISSING.format(world.district_b.pk)],
        "tags": [MISSING.format(world.tag_b.pk)],
    }
    _unchanged(world)


def test_bare_ids_that_are_not_ids_are_refused(world: World) -> None:
    body = {"name": "raw", "tags": ["not-a-number"]}
    response = client_for(world.alice).post(RAW_IDS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"tags": [MISSING.format("not-a-number")]}
    _unchanged(world)


def test_bare_ids_of_the_users_own_rows_are_written(world: World) -> None:
    body = {
        "name": "raw", "district_id": world.district_a.pk, "tags": [str(world.tag_a.pk)],
    }  # fmt: skip
    client = client_for(world.alice)
    response = client.post(RAW_IDS, body, format="json")
    assert response.status_code == 201, response.json()
    created = Campaign.objects.get(name="raw")
    assert created.district == world.district_a
    assert list(created.tags.all()) == [world.tag_a]
    cleared = client.patch(f"{RAW_IDS}{created.pk}/", {"district_id": None}, format="json")
    assert cleared.status_code == 200
    created.refresh_from_db()
    assert created.district is None


def test_reverse_relation_cannot_take_another_tenants_rows(world: World) -> None:
    # A field with its own unscoped lookup: setting campaign_set would move B's campaign.
    client = client_for(world.alice)
    body = {"name": "grab", "campaign_set": [world.campaign_a.pk, world.campaign_b.pk]}
    response = client.post(DISTRICTS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"campaign_set": [MISSING.format(world.campaign_b.pk)]}
    assert not District.objects.filter(name="grab").exists()
    world.campaign_b.refresh_from_db()
    assert world.campaign_b.district == world.district_b
    own = client.post(DISTRICTS, {"name": "mine", "campaign_set": [world.campaign_a.pk]})
    assert own.status_code == 201
    world.campaign_a.refresh_from_db()
    assert world.campaign_a.district == District.objects.get(name="mine")


def _selects_from(table: str, statements: list[str]) -> int:
    return sum(1 for sql in statements if sql.startswith("SELECT") and f'FROM "{table}"' in sql)


def test_bare_ids_are_checked_with_one_query_per_model(world: World) -> None:
    tags = Tag.objects.bulk_create(Tag(organization=world.org_a, name=f"t{i}") for i in range(100))
    client = client_for(world.alice)

    def tag_and_district_selects(count: int) -> tuple[int, int]:
        body = {
            "name": f"n{count}", "district_id": world.district_a.pk,
            "tags": [str(t.pk) for t in tags[:count]],
        }  # fmt: skip
        responses: list[Any] = []
        sql = count_queries(lambda: responses.append(client.post(RAW_IDS, body, format="json")))
        assert responses[0].status_code == 201, responses[0].json()
        assert Campaign.objects.get(name=f"n{count}").tags.count() == count
        return _selects_from("testapp_tag", sql), _selects_from("testapp_district", sql)

    # One check per related model (plus the tags set() reads), whatever the number of ids.
    assert tag_and_district_selects(1) == tag_and_district_selects(100) == (1 + 1, 1)


def test_rows_looked_up_in_scope_are_not_checked_again(world: World) -> None:
    tags = Tag.objects.bulk_create(Tag(organization=world.org_a, name=f"t{i}") for i in range(5))
    body = {"name": "five", "district": world.district_a.pk, "tags": [t.pk for t in tags]}
    client = client_for(world.alice)
    responses: list[Any] = []
    sql = count_queries(lambda: responses.append(client.post(GENERATED, body, format="json")))
    assert responses[0].status_code == 201
    # DRF's lookup of each id (already scoped), set()'s read and the response's two
    # lists: as many as without any check.
    assert _selects_from("testapp_tag", sql) == 5 + 1 + 2
    assert _selects_from("testapp_district", sql) == 1


def test_generated_relations_still_reject_ids_that_do_not_exist(world: World) -> None:
    response = client_for(world.alice).post(
        GENERATED, {"name": "x", "district": 999999, "tags": ["x"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["district"] == [MISSING.format(999999)]
    assert "Incorrect type" in response.json()["tags"][0]


class _Nested(serializers.Serializer[Any]):
    tag = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all())


class _Outer(serializers.Serializer[Any]):
    # A plain queryset of a scoped model, as from a second manager without scoping.
    tag = serializers.PrimaryKeyRelatedField(queryset=models.QuerySet(Tag))
    one = _Nested()
    several = _Nested(many=True)
    shown = serializers.PrimaryKeyRelatedField(read_only=True)


def test_nested_serializers_and_plain_querysets_are_limited(world: World) -> None:
    outer = _Outer()
    found: FoundRows = set()
    scope_related_fields(outer, world.alice, found)
    fields: Any = outer.fields
    assert list(fields["tag"].choices) == [world.tag_a.pk]
    assert list(fields["one"].fields["tag"].choices) == [world.tag_a.pk]
    assert list(fields["several"].child.fields["tag"].choices) == [world.tag_a.pk]
    body = {"tag": world.tag_b.pk, "one": {"tag": world.tag_a.pk}, "several": []}
    refused = _Outer(data=body)
    scope_related_fields(refused, world.alice, found)
    assert not refused.is_valid()
    assert refused.errors == {"tag": [MISSING.format(world.tag_b.pk)]}
    assert found == {(Tag, world.tag_a.pk)}


def test_serializers_without_fields_are_left_alone(world: World) -> None:
    class Bare(serializers.BaseSerializer[Any]):
        def to_internal_value(self, data: Any) -> Any:
            return data

    bare = Bare(data={"district": world.district_b.pk})
    scope_related_fields(bare, world.alice)
    assert bare.is_valid()
