from __future__ import annotations

import pytest

from django_supahybrid.testing.queries import QueryCountGrew, assert_queries_do_not_grow
from tests.support.tenancy import World
from tests.testapp.models import Campaign, Tag

pytestmark = pytest.mark.usefixtures("membership_lookup")


def _grow(world: World):  # type: ignore[no-untyped-def]
    def grow(size: int) -> None:
        missing = size - Campaign.objects.count()
        Campaign.objects.bulk_create(
            Campaign(organization=world.org_a, name=f"g{i}", created_by=world.alice)
            for i in range(missing)
        )

    return grow


def test_passes_and_returns_the_count_when_constant(world: World) -> None:
    def call() -> None:
        list(Campaign.objects.select_related("created_by"))

    assert assert_queries_do_not_grow(call, setup=_grow(world), sizes=(2, 10)) == 1


def test_names_the_repeated_statement_of_an_n_plus_one(world: World) -> None:
    def call() -> None:
        for campaign in Campaign.objects.all():
            _ = campaign.created_by

    with pytest.raises(QueryCountGrew) as caught:
        assert_queries_do_not_grow(call, setup=_grow(world), sizes=(2, 5))
    message = str(caught.value)
    assert "2 rows: 3, 5 rows: 6" in message
    assert "5 x SELECT" in message
    assert '"auth_user"."id" = ? LIMIT ?' in message


def test_growth_without_repeated_statements(world: World) -> None:
    def call() -> None:
        if Campaign.objects.count() > 2:
            Tag.objects.exists()

    with pytest.raises(QueryCountGrew) as caught:
        assert_queries_do_not_grow(call, setup=_grow(world), sizes=(2, 3))
    assert "more than once" not in str(caught.value)


def test_needs_two_sizes() -> None:
    with pytest.raises(ValueError, match="at least two sizes"):
        assert_queries_do_not_grow(lambda: None, setup=lambda n: None, sizes=(5,))
