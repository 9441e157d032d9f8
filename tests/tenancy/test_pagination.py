"""Page sizes, page numbers, counts on large tables and the feed cursor."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import UnorderedObjectListWarning
from django.db import connection
from django.db.models import Count, F, Func, IntegerField, OuterRef, Value, Window
from django.db.models.functions import Lower, RowNumber
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from django_supahybrid.pagination import StandardPagination
from django_supahybrid.testing.queries import count_queries
from tests.support.scoping_views import SmallCountPagination
from tests.support.tenancy import MEMBERSHIPS, World, client_for
from tests.testapp.models import Campaign, District, Notification, Organization, Tag


@pytest.fixture
def tags(db: None) -> list[Tag]:
    org = Organization.objects.create(name="O")
    return Tag.objects.bulk_create(Tag(organization=org, name=f"t{i:02}") for i in range(45))


def _get(url: str) -> Any:
    return APIClient().get(url)


def _query(link: str | None) -> dict[str, list[str]]:
    assert link is not None
    return parse_qs(urlsplit(link).query)


def test_default_page(tags: list[Tag]) -> None:
    body = _get("/scoping/tags/").json()
    assert body["count"] == 45
    assert body["count_is_estimate"] is False
    assert (body["page"], body["page_size"]) == (1, 20)
    assert [t["name"] for t in body["results"]] == [f"t{i:02}" for i in range(20)]
    assert _query(body["next"]) == {"page": ["2"]}
    assert body["previous"] is None


def test_links_through_the_pages(tags: list[Tag]) -> None:
    second = _get("/scoping/tags/?page=2&page_size=20").json()
    assert _query(second["previous"]) == {"page_size": ["20"]}
    assert _query(second["next"]) == {"page": ["3"], "page_size": ["20"]}
    third = _get(second["next"]).json()
    assert len(third["results"]) == 5
    assert third["next"] is None
    assert _query(third["previous"]) == {"page": ["2"], "page_size": ["20"]}


def test_exactly_full_last_page_has_no_next(tags: list[Tag]) -> None:
    body = _get("/scoping/tags/?page=3&page_size=15").json()
    assert len(body["results"]) == 15
    assert body["next"] is None


@pytest.mark.parametrize("page", ["4", "1000", str(10**30)])
def test_page_past_the_end_is_404(tags: list[Tag], page: str) -> None:
    response = _get(f"/scoping/tags/?page={page}")
    assert response.status_code == 404
    assert "past the end" in response.json()["detail"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "last"])
def test_invalid_page_is_400(tags: list[Tag], page: str) -> None:
    response = _get(f"/scoping/tags/?page={page}")
    assert response.status_code == 400
    assert "whole number" in response.json()["page"][0]


@pytest.mark.parametrize("size", ["0", "-5", "abc", "2.0"])
def test_invalid_page_size_is_400(tags: list[Tag], size: str) -> None:
    response = _get(f"/scoping/tags/?page_size={size}")
    assert response.status_code == 400
    assert response.json() == {"page_size": ["Expected a whole number from 1 to 100."]}


def test_page_size_above_the_maximum_is_lowered(tags: list[Tag]) -> None:
    Tag.objects.bulk_create(
        Tag(organization=tags[0].organization, name=f"u{i}") for i in range(100)
    )
    body = _get("/scoping/tags/?page_size=1000").json()
    assert body["page_size"] == 100
    assert len(body["results"]) == 100


def test_blank_parameters_mean_the_defaults(tags: list[Tag]) -> None:
    body = _get("/scoping/tags/?page=&page_size=").json()
    assert (body["page"], body["page_size"]) == (1, 20)


def test_empty_result_is_an_empty_first_page(db: None) -> None:
    body = _get("/scoping/tags/").json()
    assert body == {
        "count": 0, "count_is_estimate": False, "page": 1, "page_size": 20,
        "next": None, "previous": None, "results": [],
    }  # fmt: skip
    assert _get("/scoping/tags/?page=2").status_code == 404


def test_sizes_come_from_settings_lazily(tags: list[Tag], settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"PAGINATION_PAGE_SIZE": 7, "PAGINATION_MAX_PAGE_SIZE": 9}
    assert _get("/scoping/tags/").json()["page_size"] == 7
    assert _get("/scoping/tags/?page_size=50").json()["page_size"] == 9


def test_per_view_sizes_override_settings(tags: list[Tag], settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"PAGINATION_PAGE_SIZE": 7}
    assert _get("/scoping/small-tags/").json()["page_size"] == 5
    assert _get("/scoping/small-tags/?page_size=50").json()["page_size"] == 8


def test_above_the_exact_limit_the_count_is_an_estimate(tags: list[Tag]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tag._meta.db_table}")
    body = _get("/scoping/small-tags/").json()
    assert body["count_is_estimate"] is True
    assert body["count"] > 10
    # The planner, after ANALYZE, knows the table's size.
    assert body["count"] == 45


def test_estimate_is_never_below_the_exact_limit(tags: list[Tag]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tag._meta.db_table}")
    # Rows the statistics have never seen: the planner guesses about one.
    Tag.objects.bulk_create(
        Tag(organization=tags[0].organization, name=f"zz{i}") for i in range(30)
    )
    paginator = SmallCountPagination()
    request = Request(APIRequestFactory().get("/"))
    paginator.paginate_queryset(Tag.objects.filter(name__startswith="zz").order_by("id"), request)
    response = paginator.get_paginated_response([]).data
    assert response["count_is_estimate"] is True
    assert response["count"] == 11


def test_capped_count(tags: list[Tag], settings: SettingsWrapper) -> None:
    body = _get("/scoping/capped-tags/").json()
    assert (body["count"], body["count_is_estimate"]) == (10, True)
    settings.SUPAHYBRID = {"PAGINATION_EXACT_COUNT_LIMIT": 30, "PAGINATION_LARGE_COUNT": "capped"}
    body = _get("/scoping/tags/").json()
    assert (body["count"], body["count_is_estimate"]) == (30, True)


def test_exact_at_the_limit(tags: list[Tag], settings: SettingsWrapper) -> None:
    settings.SUPAHYBRID = {"PAGINATION_EXACT_COUNT_LIMIT": 45}
    body = _get("/scoping/tags/").json()
    assert (body["count"], body["count_is_estimate"]) == (45, False)


def test_a_list_is_counted_by_its_length(tags: list[Tag]) -> None:
    body = _get("/scoping/list-tags/?page=3").json()
    assert (body["count"], body["count_is_estimate"], len(body["results"])) == (45, False, 5)


def test_two_queries_per_page_whatever_the_depth(tags: list[Tag]) -> None:
    client = APIClient()
    for page in (1, 2, 3):
        assert len(count_queries(lambda p=page: client.get(f"/scoping/tags/?page={p}"))) == 2


def test_past_the_exact_limit_the_page_skips_the_count_query(tags: list[Tag]) -> None:
    # Page 3 of 5 rows, fetched with one row more, shows that 16 rows exist: more than
    # the limit of 10 already, so the estimate's EXPLAIN alone follows the page's query.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tag._meta.db_table}")
    client = APIClient()
    for url, sql in (
        ("/scoping/small-tags/?page=3", "EXPLAIN"),
        ("/scoping/capped-tags/?page=3", None),
    ):
        queries = count_queries(lambda u=url: client.get(u))
        assert [q for q in queries if "COUNT(" in q.upper()] == [], queries
        assert len(queries) == (2 if sql else 1), queries
        assert sql is None or queries[-1].startswith(sql)
    assert _get("/scoping/small-tags/?page=3").json()["count"] == 45
    assert _get("/scoping/capped-tags/?page=3").json()["count"] == 10
    # Page 1 shows 6 rows: the count up to the limit runs, then the estimate.
    assert len(count_queries(lambda: client.get("/scoping/small-tags/"))) == 3


def test_the_estimate_is_never_below_the_rows_seen(tags: list[Tag]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tag._meta.db_table}")
    # Rows the statistics have never seen: the planner guesses about one.
    Tag.objects.bulk_create(
        Tag(organization=tags[0].organization, name=f"zz{i}") for i in range(30)
    )
    paginator = SmallCountPagination()
    request = Request(APIRequestFactory().get("/", {"page": 4}))
    rows = paginator.paginate_queryset(
        Tag.objects.filter(name__startswith="zz").order_by("id"), request
    )
    assert rows is not None
    assert len(rows) == 5
    response = paginator.get_paginated_response([]).data
    assert (response["count"], response["count_is_estimate"]) == (21, True)


def test_response_schema_lists_every_key() -> None:
    schema = StandardPagination().get_paginated_response_schema({"type": "array"})
    assert set(schema["properties"]) == {
        "count", "count_is_estimate", "page", "page_size", "next", "previous", "results",
    }  # fmt: skip
    assert schema["properties"]["results"] == {"type": "array"}
    assert schema["properties"]["count_is_estimate"]["type"] == "boolean"
    assert "count_is_estimate" in schema["required"]


def test_cursor_walks_a_feed_without_repeats(world: World) -> None:
    Notification.objects.bulk_create(
        Notification(recipient=world.alice, message=f"m{i}") for i in range(11)
    )
    client = client_for(world.alice)
    seen: list[str] = []
    url: str | None = "/scoping/notifications/?page_size=5"
    costs = []
    while url:
        costs.append(len(count_queries(lambda u=url: client.get(u))))
        body = client.get(url).json()
        seen += [n["message"] for n in body["results"]]
        url = body["next"]
    assert seen == [f"m{i}" for i in reversed(range(11))] + ["for alice"]
    assert costs == [1, 1, 1]


def test_cursor_page_size_rules(world: World, settings: SettingsWrapper) -> None:
    client = client_for(world.alice)
    assert client.get("/scoping/notifications/?page_size=0").status_code == 400
    settings.SUPAHYBRID = {"ORGANIZATION_LOOKUP": MEMBERSHIPS, "PAGINATION_PAGE_SIZE": 1}
    Notification.objects.create(recipient=world.alice, message="second")
    assert len(client.get("/scoping/notifications/").json()["results"]) == 1
    assert client.get("/scoping/notifications/?cursor=garbage").status_code == 404


def test_drf_spectacular_shows_the_paginated_schemas(settings: SettingsWrapper) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }
    schema = SchemaGenerator(urlconf="tests.support.scoping_views").get_schema(public=True)
    components = schema["components"]["schemas"]
    page = components["PaginatedTagList"]["properties"]
    assert {"count", "count_is_estimate", "page", "page_size", "results"} <= set(page)
    feed = components["PaginatedNotificationList"]["properties"]
    assert set(feed) == {"next", "previous", "results"}
    parameters = {p["name"] for p in schema["paths"]["/tags/"]["get"]["parameters"]}
    assert parameters == {"page", "page_size"}


def test_unordered_queryset_warns_like_djangos_paginator(tags: list[Tag]) -> None:
    request = Request(APIRequestFactory().get("/"))
    with pytest.warns(UnorderedObjectListWarning, match="unordered Tag queryset"):
        page = StandardPagination().paginate_queryset(Tag.objects.all(), request)
    assert page is not None
    assert {tag.pk for tag in page} <= {tag.pk for tag in tags}
    assert len(page) == min(len(tags), 20)


# --- deep pages: the deferred join ---

# The page's keys as a subquery (Django names its tables U0, V0, ... by nesting depth, and
# quotes those aliases from 6.1 on).
_DEFERRED = re.compile(r'"id" IN \(SELECT "?[A-Z]0"?\."id" AS "pk" FROM')


@pytest.fixture
def campaigns(db: None) -> list[Campaign]:
    """45 campaigns over 3 districts (some none), 4 creators, 0 to 2 tags each."""
    org = Organization.objects.create(name="O")
    users = [User.objects.create_user(f"u{i}") for i in range(4)]
    districts = District.objects.bulk_create(
        District(organization=org, name=f"d{i}") for i in range(3)
    )
    tags = Tag.objects.bulk_create(Tag(organization=org, name=f"t{i}") for i in range(3))
    rows = Campaign.objects.bulk_create(
        Campaign(
            organization=org, name=f"c{(i * 7) % 45:02}", created_by=users[i % 4],
            district=None if i % 5 == 0 else districts[i % 3],
        )
        for i in range(45)
    )  # fmt: skip
    for i, row in enumerate(rows):
        row.tags.set(tags[: i % 3])
    return rows


def _tag_names() -> ArraySubquery:
    tags = Campaign.tags.through.objects.filter(campaign_id=OuterRef("pk"))
    return ArraySubquery(tags.order_by("tag__name").values("tag__name"))


class _Plain(StandardPagination):
    deferred_join = False


def _page(
    queryset: Any, page: int, paginator: StandardPagination | None = None, size: int = 7
) -> tuple[list[Any], list[str]]:
    """A page of ``queryset``, its related rows read, and the SQL that it took."""
    paginator = paginator or StandardPagination()
    request = Request(APIRequestFactory().get("/", {"page": page, "page_size": size}))
    with CaptureQueriesContext(connection) as queries:
        rows = paginator.paginate_queryset(queryset, request)
        assert rows is not None
        seen = [_read(row) for row in rows]
    return seen, [q["sql"] for q in queries.captured_queries]


def _read(row: Any) -> Any:
    if isinstance(row, Campaign):
        return (
            row.pk, row.name, row.district.name if row.district else None,
            row.created_by.username if row.created_by else None,
            [t.name for t in row.tags.all()],
        )  # fmt: skip
    return row if isinstance(row, dict) else row.pk


def _assert_same_pages(queryset: Any, pages: range, deferred: bool, size: int = 7) -> None:
    """Every page equals the plain ``OFFSET`` page, in as many queries; deferred or not."""
    for number in pages:
        rows, sql = _page(queryset, number, size=size)
        plain_rows, plain_sql = _page(queryset, number, _Plain(), size=size)
        assert rows == plain_rows, number
        assert len(sql) == len(plain_sql), number
        assert bool(_DEFERRED.search(sql[0])) is (deferred and number > 1), sql[0]
        assert not _DEFERRED.search(plain_sql[0])


@pytest.mark.parametrize(
    "ordering",
    [
        ("id",),
        ("-id",),
        ("name",),
        ("-district__name", "id"),
        ("created_by__username", "-name"),
        (F("district__name").desc(nulls_last=True), "-id"),
        (Lower("name").desc(),),
    ],
    ids=str,
)
def test_deferred_join_gives_the_plain_rows_in_as_many_queries(
    campaigns: list[Campaign], settings: SettingsWrapper, ordering: tuple[Any, ...]
) -> None:
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": 0}
    queryset = (
        Campaign.objects.select_related("district", "created_by")
        .prefetch_related("tags")
        .order_by(*ordering)
    )
    _assert_same_pages(queryset, range(1, 8), deferred=True)


def test_deferred_join_keeps_annotations_only_and_values(
    campaigns: list[Campaign], settings: SettingsWrapper
) -> None:
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": 0}
    annotated = Campaign.objects.annotate(lowered=Lower("name")).order_by("-lowered")
    _assert_same_pages(annotated.only("name", "organization"), range(1, 8), deferred=True)
    rows, _ = _page(annotated, 3)
    assert [r[0] for r in rows] == list(annotated.values_list("pk", flat=True)[14:21])
    _assert_same_pages(Campaign.objects.order_by("id").values("id", "name"), range(2, 4), True)
    users = User.objects.order_by("-scoping_profile__role", "id")
    _assert_same_pages(users, range(2, 3), deferred=True, size=2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Campaign.objects.filter(tags__name__in=["t0", "t1"]).order_by("id"),
        lambda: Campaign.objects.order_by("tags__name", "id"),
        lambda: Campaign.objects.filter(tags__name__in=["t0", "t1"]).order_by("id").distinct(),
        lambda: Campaign.objects.annotate(n=Count("tags")).order_by("-n", "id"),
        lambda: (
            Campaign.objects.filter(name__lt="c20")
            .union(Campaign.objects.filter(name__gte="c30"))
            .order_by("id")
        ),
        lambda: Campaign.objects.extra(tables=["testapp_district"]).order_by("id"),
    ],
    ids=["to-many filter", "to-many ordering", "distinct", "aggregate", "union", "extra tables"],
)
def test_deferred_join_is_not_used_where_rows_could_repeat(
    campaigns: list[Campaign], settings: SettingsWrapper, make: Any
) -> None:
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": 0}
    _assert_same_pages(make(), range(2, 4), deferred=False)


def test_deferred_join_threshold(campaigns: list[Campaign], settings: SettingsWrapper) -> None:
    queryset = Campaign.objects.order_by("id")
    _assert_same_pages(queryset, range(1, 8), deferred=False)  # the default: from 10,000 rows deep
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": 14}
    assert not _DEFERRED.search(_page(queryset, 2)[1][0])  # 7 rows deep
    assert _DEFERRED.search(_page(queryset, 3)[1][0])  # 14 rows deep
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": None}
    _assert_same_pages(queryset, range(1, 8), deferred=False)


def test_deferred_join_skips_lists_and_unordered_querysets(
    campaigns: list[Campaign], settings: SettingsWrapper
) -> None:
    settings.SUPAHYBRID = {"PAGINATION_DEFERRED_JOIN_OFFSET": 0}
    listed = list(
        Campaign.objects.select_related("district", "created_by")
        .prefetch_related("tags")
        .order_by("id")
    )
    rows, sql = _page(listed, 3)
    assert [r[0] for r in rows] == [c.pk for c in listed[14:21]]
    assert sql == []
    with pytest.warns(UnorderedObjectListWarning):
        rows, sql = _page(Campaign.objects.all(), 2)
    assert len(rows) == 7
    assert not _DEFERRED.search(sql[0])


def test_scoped_views_page_deep_with_the_same_rows_and_queries(
    world: World, settings: SettingsWrapper
) -> None:
    Campaign.objects.bulk_create(
        Campaign(organization=org, name=f"{org.name}{i}", district=world.district_a)
        for org in (world.org_a, world.org_b)
        for i in range(6)
    )
    client = client_for(world.carol)  # two organizations, through memberships
    bodies, costs, deferred = {}, {}, {}
    for threshold in (None, 0):
        settings.SUPAHYBRID = {
            "ORGANIZATION_LOOKUP": MEMBERSHIPS, "PAGINATION_DEFERRED_JOIN_OFFSET": threshold,
        }  # fmt: skip
        bodies[threshold] = [
            client.get(f"/scoping/campaigns/?page={page}&page_size=4").json()
            for page in (1, 2, 3, 4)
        ]
        with CaptureQueriesContext(connection) as queries:
            client.get("/scoping/campaigns/?page=3&page_size=4")
        costs[threshold] = len(queries)
        deferred[threshold] = any(_DEFERRED.search(q["sql"]) for q in queries.captured_queries)
    assert bodies[0] == bodies[None]
    assert {c["organization"] for b in bodies[0] for c in b["results"]} == {
        world.org_a.pk, world.org_b.pk
    }  # fmt: skip
    assert costs[0] == costs[None]
    assert deferred == {None: False, 0: True}


class _Series(Func):
    """``generate_series(1, 2)``: a set-returning annotation, two rows per campaign."""

    function = "generate_series"
    set_returning = True
    output_field = IntegerField()


@pytest.mark.parametrize(
    ("make", "by_key"),
    [
        (lambda: Campaign.objects.order_by("id"), True),
        (lambda: Campaign.objects.annotate(n=_tag_names()).order_by("id"), True),
        (lambda: Campaign.objects.filter(tags__name__in=["t0", "t1"]).order_by("id"), True),
        (lambda: Campaign.objects.annotate(t=F("tags__name")).order_by("id"), True),
        (lambda: Campaign.objects.annotate(t=F("tags__name")).order_by("id").distinct(), False),
        (lambda: Campaign.objects.annotate(n=Count("tags")).order_by("id"), False),
        (lambda: Campaign.objects.annotate(s=_Series(Value(1), Value(2))).order_by("id"), False),
        (
            lambda: Campaign.objects.annotate(r=Window(RowNumber(), partition_by="district"))
            .filter(r__lte=2)
            .order_by("id"),
            False,
        ),
    ],
    ids=[
        "plain", "correlated subquery", "to-many filter", "to-many annotation", "distinct",
        "aggregate", "set-returning", "window filter",
    ],
)  # fmt: skip
def test_counts_stay_exact_and_leave_out_what_does_not_decide_the_rows(
    campaigns: list[Campaign], make: Any, by_key: bool
) -> None:
    queryset = make()
    total = len(list(queryset))
    rows, sql = _page(queryset, 1, size=5)
    assert len(rows) == 5
    paginator = StandardPagination()
    paginator.paginate_queryset(queryset, Request(APIRequestFactory().get("/", {"page_size": 5})))
    assert paginator.get_paginated_response([]).data["count"] == total
    [count] = [q for q in sql if q.startswith("SELECT COUNT(")]
    # Counted by key, the count selects the key alone: no annotation, no joined columns.
    assert ('"pk" FROM' in count and "ARRAY" not in count) is by_key, count
