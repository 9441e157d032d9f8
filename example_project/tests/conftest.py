"""Fixtures of the example's tests: two organizations with every role."""

from __future__ import annotations

import pytest
from campaigns.models import Constituency, District

from tests.support import World, make_campaign, make_tenant, make_user

# The library's fixtures, as any project adds them (assert_queries_do_not_grow).
pytest_plugins = ["django_supahybrid.testing.pytest_plugin"]


@pytest.fixture
def world(db: None) -> World:
    district = District.objects.create(name="North", code="N")
    other_district = District.objects.create(name="South", code="S")
    constituency = Constituency.objects.create(district=district, name="Harbour")
    other_constituency = Constituency.objects.create(district=other_district, name="Meadow")
    a, b = make_tenant("Org A"), make_tenant("Org B")
    for tenant in (a, b):
        make_campaign(tenant, status="active", target_district=district)
        make_campaign(tenant, status="draft", target_district=other_district)
    return World(
        a=a,
        b=b,
        loner=make_user("loner@nowhere.test", None),
        district=district,
        constituency=constituency,
        other_district=other_district,
        other_constituency=other_constituency,
    )
