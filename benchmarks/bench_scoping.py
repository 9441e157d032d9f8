"""Scoped campaign lists (naive vs ``with_relations()``) and pagination on large tables."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks import common

TITLE = "Scoping and pagination"

NAME = "scoping"
PLOT = "scoping.png"
RELATION_SIZES = (10, 100, 1000)
PAGES = {
    "page 1, exact count": "/bench/notifications/pages-exact/",
    "page 1, estimated count": "/bench/notifications/pages/",
    "deep page, plain `OFFSET`": "/bench/notifications/pages-plain/?page={deep}",
    "deep page, deferred join (the default)": "/bench/notifications/pages/?page={deep}",
    "cursor at the same depth": "/bench/notifications/feed/?cursor={cursor}",
}


def _own_database() -> None:
    """Use a database of this benchmark's own, ``<database>_scoping`` (created if missing)."""
    import psycopg

    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    database = f"{name}_scoping"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{base}/{database}"


def _setup() -> None:
    _own_database()
    common.django_setup("benchmarks.settings_scoping")
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)


def _sql(statement: str, params: list[Any] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _campaign_data(per_org: int) -> Any:
    """Two organizations with ``per_org`` campaigns each; return a reader in the first."""
    from django.contrib.auth.models import User

    from tests.testapp import models as m

    _sql(
        "TRUNCATE testapp_campaign_tags, testapp_voterinteraction, testapp_campaign, "
        "testapp_constituency, testapp_district, testapp_tag, testapp_membership, "
        "testapp_profile, testapp_notification, testapp_organization RESTART IDENTITY"
    )
    User.objects.filter(username__startswith="bench-").delete()
    reader = None
    for org_name in ("A", "B"):
        org = m.Organization.objects.create(name=org_name)
        users = User.objects.bulk_create(User(username=f"bench-{org_name}-{i}") for i in range(20))
        m.Profile.objects.bulk_create(m.Profile(user=u, organization=org) for u in users)
        reader = reader or users[0]
        districts = m.District.objects.bulk_create(
            m.District(organization=org, name=f"{org_name}-d{i}") for i in range(10)
        )
        constituencies = m.Constituency.objects.bulk_create(
            m.Constituency(district=d, name=f"{d.name}-c{i}") for d in districts for i in range(5)
        )
        m.Campaign.objects.bulk_create(
            m.Campaign(
                organization=org, name=f"{org_name}-{i}", created_by=users[i % 20],
                district=constituencies[i % 50].district, constituency=constituencies[i % 50],
            )
            for i in range(per_org)
        )  # fmt: skip
    return reader


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _queries(call: Callable[[], Any]) -> int:
    from django_supahybrid.testing.queries import count_queries

    return len(count_queries(call))


def _get(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")
    return response


def _relations(quick: bool) -> tuple[list[list[object]], dict[str, list[float]]]:
    reader = _campaign_data(per_org=1000)
    client = _client(reader)
    seconds = 0.5 if quick else 1.0
    floor = common.rate(lambda: client.get("/bench/allowany/"), seconds=seconds)
    rows: list[list[object]] = [["bare `AllowAny` view (floor)", "-", 0, f"{floor:,.0f}", "1.00"]]
    series: dict[str, list[float]] = {"naive": [], "with_relations()": []}
    for size in RELATION_SIZES:
        for label, kind in (("naive", "naive"), ("with_relations()", "scoped")):
            url = f"/bench/campaigns/{kind}/?page_size={size}"
            counts: list[int] = []

            def call(u: str = url, counts: list[int] = counts) -> None:
                counts.append(len(_get(client, u).json()["results"]))

            queries = _queries(call)
            assert counts == [size], counts
            per_second = _rate(lambda u=url: _get(client, u), seconds=seconds)
            series[label].append(queries)
            rows.append([
                label, size, queries, f"{per_second:,.1f}", f"{per_second / floor:.4f}",
            ])  # fmt: skip
    return rows, series


def _rate(call: Callable[[], Any], *, seconds: float) -> float:
    """Calls per second over at least ``seconds``, or one call when a call takes longer.

    The call counting the queries came first and served as the warm-up; a single timed
    call keeps the naive 1,000-row list (3,000 queries) bounded in time.
    """
    count = 0
    start = time.perf_counter()
    while True:
        call()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def _median_ms(client: Any, urls: dict[str, str], repeats: int) -> dict[str, float]:
    """Median milliseconds per URL; the URLs take turns, in reverse order every other turn.

    So a change of load on a shared machine falls on all of them alike.
    """
    for url in urls.values():
        _get(client, url)  # warm-up: plans and pages cached, as in service
    timings: dict[str, list[float]] = {label: [] for label in urls}
    order = list(urls.items())
    for turn in range(repeats):
        for label, url in order if turn % 2 == 0 else reversed(order):
            start = time.perf_counter()
            _get(client, url).json()
            timings[label].append((time.perf_counter() - start) * 1000)
    return {label: statistics.median(values) for label, values in timings.items()}


def _cursor(position: int) -> str:
    # DRF's cursor: base64 of a query string; "p" is the position (an id, "-id" order).
    import base64
    from urllib.parse import quote

    return quote(base64.b64encode(f"p={position}".encode()).decode())


def _pagination(quick: bool) -> tuple[list[list[object]], dict[str, list[float]]]:
    from django.contrib.auth.models import User

    reader = User.objects.get(username="bench-A-0")
    client = _client(reader)
    _sql("TRUNCATE testapp_notification RESTART IDENTITY")
    # The index a feed of one recipient's rows, newest first, wants: the filter's column,
    # then the ordering's (docs/pagination.md). With it the deferred join steps over the
    # skipped rows in the index alone, reading it backward. Ascending on purpose: new rows
    # take ever larger ids, which a descending index receives at its left end, where
    # each page split leaves two half-full pages (larger here, and the planner then
    # preferred the primary key and the table).
    _sql("DROP INDEX IF EXISTS bench_notification_feed")
    _sql("CREATE INDEX bench_notification_feed ON testapp_notification (recipient_id, id)")
    sizes = (10**4, 10**5) if quick else (10**4, 10**5, 10**6)
    repeats = 3 if quick else 11
    rows: list[list[object]] = []
    series: dict[str, list[float]] = {label: [] for label in PAGES}
    current = 0
    for size in sizes:
        _sql(
            "INSERT INTO testapp_notification (recipient_id, message, created_at) "
            "SELECT %s, 'notification ' || g, now() FROM generate_series(%s, %s) AS g",
            [reader.pk, current + 1, size],
        )
        current = size
        # What autovacuum would have done to a table of this age: without it the visibility
        # map is empty and an index-only scan reads the table for every row it skips.
        _sql("VACUUM ANALYZE testapp_notification")
        deep = size // 100  # 20% into the table at 20 rows a page
        depth = (deep - 1) * 20
        urls = {
            label: url.format(deep=deep, cursor=_cursor(size - depth + 1))
            for label, url in PAGES.items()
        }
        medians = _median_ms(client, urls, repeats)
        page1 = medians["page 1, estimated count"]
        for label, url in urls.items():
            ms = medians[label]
            series[label].append(ms)
            body = _get(client, url).json()
            first = body["results"][0]["id"]
            count = body.get("count")
            estimate = body.get("count_is_estimate")
            count_text = (
                "-" if count is None else f"{count:,}" + (" (estimate)" if estimate else "")
            )
            rows.append([
                f"{size:,}", label, _queries(lambda u=url: _get(client, u)), f"{ms:.1f}",
                f"{ms / page1:.2f}", count_text, f"{first:,}",
            ])  # fmt: skip
    return rows, {"sizes": list(sizes), **series}


def plot(data: dict[str, Any]) -> None:
    """Queries per campaign page (top) and milliseconds per notification page (bottom)."""
    plt = common.pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(common.FIGURE_WIDTH, 6.8), layout="constrained"
    )
    sizes = data["relation_sizes"]
    for label, values in data["relations"].items():
        top.plot(sizes, values, marker="o", label=label)
    top.set(xscale="log", yscale="log", xlabel="campaigns per page")
    top.set_ylabel("SQL queries per request")
    common.plain_log_ticks(top.xaxis, sizes)
    common.plain_log_ticks(top.yaxis, [3, 10, 30, 100, 300, 1000, 3000])
    top.set_title("Campaign list: SQL queries per request")
    top.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    sizes = data["table_sizes"]
    for label, values in data["pages"].items():
        bottom.plot(sizes, values, marker="o", label=label)
    bottom.set(xscale="log", yscale="log", xlabel="notifications in the table")
    bottom.set_ylabel("ms per request (median)")
    common.plain_log_ticks(bottom.xaxis, sizes)
    common.plain_log_ticks(bottom.yaxis, [5, 10, 20, 50, 100, 200, 500])
    bottom.set_title("Notification pages: time per request")
    bottom.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
    common.save_figure(fig, PLOT)


def run(quick: bool) -> str:
    _setup()
    relation_rows, relation_series = _relations(quick)
    page_rows, page_series = _pagination(quick)
    data = {
        "relation_sizes": list(RELATION_SIZES),
        "relations": relation_series,
        "table_sizes": page_series.pop("sizes"),
        "pages": page_series,
    }
    common.save_data(NAME, data)
    plot(data)
    return "\n".join([
        "Campaign list (campaign + creator + district + constituency; two organizations",
        "with 1,000 campaigns each), in process (Django test client, one thread). *naive*",
        "filters by `request.user.profile.organization` and lets the serializer load each",
        "relation row by row; *with_relations()* is `OrganizationScopedMixin` (the third",
        "query prefetches the campaigns' tags, scoped).",
        "",
        common.table(
            ["queryset", "rows per page", "queries per request", "requests/s", "ratio to floor"],
            relation_rows,
        ),
        "",
        "Pagination of one user's notifications (20 rows a page, newest first, an index on",
        "recipient and id; `VACUUM ANALYZE` after each bulk load, as autovacuum would have",
        "run on a table of that age) as the table grows; the deep page is 20%",
        "into the table (page 10,000 of 1,000,000 rows). The exact count is",
        "`StandardPagination` with no limit; the estimate is the default (exact up to",
        "10,000 rows, then the planner's estimate; a page that already shows more rows than",
        "that skips the count up to the limit). The deep page is fetched with a plain",
        "`OFFSET` (`deferred_join = False`) and with the deferred join; both count by",
        "estimate. Milliseconds per request, median of requests that take turns with the",
        "other rows of the same table size; the ratio is to page 1 with the estimated count.",
        "",
        common.table(
            ["rows", "page", "queries", "ms", "x page 1", "count returned",
             "first id on the page"],
            page_rows,
        ),
        "",
        common.figure(
            PLOT,
            "SQL queries per campaign page, and time per notification page",
            common.caption(
                NAME,
                "Top: SQL queries per request of the campaign list, naive and with "
                "`with_relations()`, against the page size. Bottom: median milliseconds per "
                "request of a notification page against the size of the table, per "
                "pagination choice. In process (Django test client, one thread), "
                "PostgreSQL on loopback; log scales.",
            ),
        ),
    ])  # fmt: skip
