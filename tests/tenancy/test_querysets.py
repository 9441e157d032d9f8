from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Prefetch
from django.test.utils import isolate_apps
from pytest_django.fixtures import Settings as SettingsWrapper

from django_supahybrid.querysets import OrganizationQuerySet
from django_supahybrid.tenancy.querysets import scoped_prefetches
from tests.support.tenancy import PROFILE, World
from tests.testapp.models import (
    Campaign,
    CampaignWithInteractions,
    Constituency,
    Notification,
    Organization,
    Tag,
    VoterInteraction,
)


def names(queryset: object) -> list[str]:
    return sorted(row.name for row in queryset)  # type: ignore[attr-defined]


def test_each_user_sees_only_their_organizations(world: World) -> None:
    assert names(Campaign.objects.for_user(world.alice)) == ["ca"]
    assert names(Campaign.objects.for_user(world.bob)) == ["cb"]
    assert names(Campaign.objects.for_user(world.carol)) == ["ca", "cb"]
    assert names(Campaign.objects.for_user(world.nobody)) == []


@pytest.mark.parametrize("who", ["anonymous", "none", "inactive"])
def test_fails_closed_for_anonymous_missing_and_inactive_users(world: World, who: str) -> None:
    user = {"anonymous": AnonymousUser(), "none": None, "inactive": world.alice}[who]
    if who == "inactive":
        world.alice.is_active = False
    assert list(Campaign.objects.for_user(user)) == []
    assert list(Notification.objects.for_user(user)) == []


def test_profile_foreign_key_lookup(world: World, settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": PROFILE}
    assert names(Campaign.objects.for_user(world.alice)) == ["ca"]
    # Carol's profile has no organization: nothing, not everything.
    assert names(Campaign.objects.for_user(world.carol)) == []


def test_lookup_is_a_subquery_not_an_extra_query(
    world: World, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        assert names(Campaign.objects.for_user(world.carol)) == ["ca", "cb"]


def test_dotted_path_resolver(world: World, settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"ORGANIZATION_RESOLVER": "tests.support.resolvers.membership_ids"}
    assert names(Campaign.objects.for_user(world.carol)) == ["ca", "cb"]
    assert names(Campaign.objects.for_user(world.bob)) == ["cb"]
    assert names(Campaign.objects.for_user(world.nobody)) == []


def test_no_resolution_configured_is_an_error(world: World, settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {}
    with pytest.raises(ImproperlyConfigured, match="ORGANIZATION_LOOKUP"):
        Campaign.objects.for_user(world.alice)


@isolate_apps("tests.testapp")
def test_missing_declaration_is_an_error() -> None:
    class Undeclared(models.Model):
        objects = OrganizationQuerySet.as_manager()

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "undeclared"

    with pytest.raises(ImproperlyConfigured, match=r"testapp\.Undeclared .*Scoping"):
        Undeclared.objects.for_user(None)


def test_superuser_is_scoped_unless_the_project_opts_in(
    world: World, settings: SettingsWrapper
) -> None:
    assert names(Campaign.objects.for_user(world.root)) == []
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": PROFILE, "ORGANIZATION_SUPERUSER_SEES_ALL": True}
    assert names(Campaign.objects.for_user(world.root)) == ["ca", "cb"]
    # Not a bypass of per-user rows: a superuser's inbox is still their own.
    assert list(Notification.objects.for_user(world.root)) == []
    # And a non-superuser is unaffected by the opt-in.
    assert names(Campaign.objects.for_user(world.alice)) == ["ca"]


def test_path_through_a_relation(world: World) -> None:
    assert list(VoterInteraction.objects.for_user(world.alice)) == [world.interaction_a]
    assert list(VoterInteraction.objects.for_user(world.bob)) == [world.interaction_b]


def test_user_owned_rows(world: World) -> None:
    assert [n.message for n in Notification.objects.for_user(world.alice)] == ["for alice"]
    assert list(Notification.objects.for_user(world.carol)) == []


def test_organization_model_scopes_itself(world: World) -> None:
    assert names(Organization.objects.for_user(world.alice)) == ["A"]
    assert names(Organization.objects.for_user(world.carol)) == ["A", "B"]


def test_chainable_and_terminal_methods(world: World) -> None:
    Campaign.objects.create(organization=world.org_a, name="ca2")
    before = Campaign.objects.filter(name__startswith="c").for_user(world.alice)
    after = Campaign.objects.for_user(world.alice).filter(name__startswith="c")
    for queryset in (before, after):
        ordered = queryset.order_by("-name").with_relations()
        assert [c.name for c in ordered] == ["ca2", "ca"]
        assert [c.name for c in ordered.iterator(chunk_size=1)] == ["ca2", "ca"]
        assert queryset.count() == 2
        assert queryset.exists()
        assert sorted(queryset.values_list("name", flat=True)) == ["ca", "ca2"]
    assert not Campaign.objects.for_user(world.nobody).exists()
    assert Campaign.objects.for_user(world.bob).filter(name="ca").count() == 0


@pytest.mark.parametrize("order", ["for_user first", "with_relations first"])
def test_prefetch_does_not_leak_other_tenants_rows(world: World, order: str) -> None:
    # Corrupt data on purpose: B's tag attached to A's campaign.
    world.campaign_a.tags.add(world.tag_b)
    base = Campaign.objects.all()
    if order == "for_user first":
        queryset = base.for_user(world.alice).with_relations()
    else:
        queryset = base.with_relations().for_user(world.alice)
    [campaign] = queryset
    assert [t.name for t in campaign.tags.all()] == ["tA"]
    assert campaign.created_by == world.alice
    assert campaign.district.name == "dA"


def test_scoped_prefetches_are_held_back_without_a_user(world: World) -> None:
    campaign = Campaign.objects.with_relations().get(pk=world.campaign_a.pk)
    # Selected relations are joined, the tenant-scoped prefetch was not run unscoped.
    assert "created_by" in campaign._state.fields_cache
    assert not hasattr(campaign, "_prefetched_objects_cache")


def test_declared_prefetch_objects_are_scoped(world: World) -> None:
    world.campaign_a.tags.add(world.tag_b)
    VoterInteraction.objects.create(campaign=world.campaign_a, note="ia2")
    rows = list(CampaignWithInteractions.objects.for_user(world.alice).with_relations())
    assert [[i.note for i in c.interaction_list] for c in rows] == [["ia", "ia2"]]
    assert [[t.name for t in c.tags.all()] for c in rows] == [["tA"]]
    assert "constituency" in rows[0]._state.fields_cache


def test_multi_hop_string_lookups_scope_every_scoped_hop(world: World) -> None:
    world.campaign_a.tags.add(world.tag_b)
    lookups = scoped_prefetches(
        Organization, ["campaign_set__tags", "campaign_set__tags"], world.alice
    )
    assert [getattr(x, "prefetch_to", x) for x in lookups] == [
        "campaign_set",
        "campaign_set__tags",
        "campaign_set__tags",
    ]
    org = Organization.objects.prefetch_related(*lookups).get(pk=world.org_a.pk)
    [campaign] = org.campaign_set.all()
    assert [t.name for t in campaign.tags.all()] == ["tA"]


def test_unscoped_hops_stay_plain(world: World) -> None:
    lookups = scoped_prefetches(
        Campaign,
        ["constituency", "constituency__district", Prefetch("district__constituency_set")],
        world.alice,
    )
    assert lookups[0] == "constituency"
    district = lookups[1]
    assert isinstance(district, Prefetch)
    assert district.prefetch_to == "constituency__district"
    assert district.queryset is not None
    assert district.queryset.model.__name__ == "District"
    intermediate, last = lookups[2], lookups[3]
    assert isinstance(intermediate, Prefetch)
    assert intermediate.prefetch_to == "district"
    assert isinstance(last, Prefetch)
    assert last.queryset is None


def test_declared_prefetch_with_a_plain_queryset_of_a_scoped_model_is_refused(
    world: World,
) -> None:
    # A plain QuerySet cannot be narrowed with for_user(): it would bring every tenant's tags.
    entry = Prefetch("tags", queryset=models.QuerySet(Tag))
    with pytest.raises(ImproperlyConfigured) as refused:
        scoped_prefetches(Campaign, [entry], world.alice)
    message = str(refused.value)
    assert "testapp.Campaign.Scoping.prefetch_related" in message
    assert "Prefetch('tags')" in message
    assert "plain QuerySet of testapp.Tag" in message
    assert "Tag.objects" in message


def test_a_model_declaring_a_plain_prefetch_fails_instead_of_leaking(world: World) -> None:
    world.campaign_a.tags.add(world.tag_b)
    with isolate_apps("tests.testapp"):

        class PlainPrefetchCampaign(Campaign):
            class Meta:
                proxy = True
                app_label = "testapp"

            class Scoping:
                organization = "organization"
                prefetch_related = (Prefetch("tags", queryset=models.QuerySet(Tag)),)

        queryset = PlainPrefetchCampaign.objects.with_relations()
        with pytest.raises(ImproperlyConfigured, match=r"PlainPrefetchCampaign\.Scoping"):
            queryset.for_user(world.alice)


def test_plain_querysets_of_unscoped_models_are_kept(world: World) -> None:
    constituencies = Constituency.objects.order_by("-id")
    [entry] = scoped_prefetches(
        Campaign, [Prefetch("constituency", queryset=constituencies)], world.alice
    )
    assert isinstance(entry, Prefetch)
    assert entry.queryset is not None
    assert entry.queryset.query.order_by == ("-id",)
