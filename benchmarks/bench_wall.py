"""The tenant wall's cost: one scoped list with and without it, over HTTP.

(a) no authentication (the floor); (b) the scoped campaign list, authenticated with a
Supabase token, in autocommit; (c) the same under the tenant wall; (d) (b) inside a
transaction, ``ATOMIC_REQUESTS``; (e) (c) in that transaction, which the wall joins.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from benchmarks import common

TITLE = "Tenant wall: the same list with and without row level security for Django"

DATABASE = "supahybrid_bench_wall"
_CASES = [
    ("(a) `AllowAny`, no authentication", "/bench/allowany/"),
    ("(b) scoped list", "/bench/wall/campaigns/"),
    ("(c) scoped list, under the wall", "/bench/wall/campaigns-walled/"),
    ("(d) scoped list, `ATOMIC_REQUESTS`", "/bench/wall/atomic/campaigns/"),
    ("(e) scoped list, `ATOMIC_REQUESTS`, under the wall", "/bench/wall/atomic/campaigns-walled/"),
]


def _own_database() -> None:
    import psycopg

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = f"{base}/{DATABASE}"


def _setup() -> str:
    """Two organizations of 20 users and 200 campaigns each; the wall on; a reader's token."""
    _own_database()
    common.django_setup("benchmarks.wall_settings")
    from django.apps import apps
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.state import ProjectState

    from django_supahybrid.models import SupabaseIdentity
    from django_supahybrid.tenancy.operations import EnableTenantRLS, GrantRequestRole
    from django_supahybrid.testing import make_claims, mint_token
    from django_supahybrid.testing.supabase import install_supabase_test_schema
    from tests.testapp import models as m

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    install_supabase_test_schema()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE testapp_campaign_tags, testapp_voterinteraction, testapp_campaign, "
            "testapp_membership, testapp_organization RESTART IDENTITY CASCADE"
        )
    User.objects.filter(username__startswith="bench-wall-").delete()
    reader = None
    for name in ("A", "B"):
        org = m.Organization.objects.create(name=name)
        users = User.objects.bulk_create(User(username=f"bench-wall-{name}-{i}") for i in range(20))
        m.Membership.objects.bulk_create(m.Membership(user=u, organization=org) for u in users)
        m.Campaign.objects.bulk_create(
            m.Campaign(organization=org, name=f"{name}-{i}") for i in range(200)
        )
        reader = reader or users[0]
    assert reader is not None
    sub = uuid.uuid4()
    SupabaseIdentity.objects.create(user=reader, sub=sub)
    state = ProjectState.from_apps(apps)
    # The list joins and prefetches what the campaign's Scoping declares.
    operations = [
        EnableTenantRLS("campaign"), EnableTenantRLS("district"), EnableTenantRLS("tag"),
        GrantRequestRole("auth.User"), GrantRequestRole("constituency"),
    ]  # fmt: skip
    with connection.schema_editor() as editor:
        for operation in operations:
            operation.database_forwards("testapp", editor, state, state)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return mint_token(make_claims(sub, lifetime=3600))


def _in_process(token: str, seconds: float) -> dict[str, float]:
    """Requests/s of each case with the test client, interleaved in batches, best batch.

    Interleaving lets load from other processes on the machine affect every case alike.
    """
    import time

    from django.test import Client

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    best = {label: float("inf") for label, _ in _CASES}
    deadline = time.perf_counter() + seconds * len(_CASES)
    while time.perf_counter() < deadline:
        for label, path in _CASES:
            client.get(path, **headers)
            started = time.perf_counter()
            for _ in range(10):
                client.get(path, **headers)
            best[label] = min(best[label], (time.perf_counter() - started) / 10)
    return {label: 1 / seconds_per_request for label, seconds_per_request in best.items()}


def _statements(token: str) -> dict[str, float]:
    """Round trips to the database per request of each case, ``BEGIN`` and ``COMMIT`` too."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    result = {}
    for label, path in _CASES:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        if path != "/bench/allowany/":
            body = response.json()
            assert body["count"] == 200, (path, body["count"])  # the reader's organization only
        # Django logs BEGIN, COMMIT and savepoints with the queries it runs.
        with CaptureQueriesContext(connection) as captured:
            for _ in range(20):
                client.get(path, **headers)
        result[label] = len(captured.captured_queries) / 20
    return result


def _over_http(token: str, seconds: int, rounds: int) -> list[tuple[str, common.LoadResult]]:
    best: dict[str, common.LoadResult] = {}
    with contextlib.ExitStack() as stack:
        # The repository's src/ first: the library measured is this checkout's.
        path = os.pathsep.join(str(p) for p in (common.ROOT / "src", common.ROOT, common.EXAMPLE))
        base = stack.enter_context(
            common.gunicorn(
                settings_module="benchmarks.wall_settings",
                workers=2,
                env={"PYTHONPATH": path},
                cwd=common.ROOT,
            )
        )
        for round_number in range(rounds + 1):
            for label, path in _CASES:
                result = common.wrk(
                    base + path, seconds=seconds, connections=8,
                    headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
                assert result.errors == 0, (label, result.errors)
                if round_number == 0:
                    continue  # the warm-up round
                previous = best.get(label)
                if previous is None or result.requests_per_second > previous.requests_per_second:
                    best[label] = result
    return [(label, best[label]) for label, _ in _CASES]


def run(quick: bool) -> str:
    token = _setup()
    statements = _statements(token)
    local = _in_process(token, seconds=1.0 if quick else 4.0)
    http = _over_http(token, seconds=1 if quick else 3, rounds=2 if quick else 4)
    floor = http[0][1].requests_per_second
    local_floor = local[_CASES[0][0]]
    rows: list[list[object]] = [
        [
            label,
            f"{statements[label]:g}",
            f"{local[label]:,.0f}",
            f"{local[label] / local_floor:.2f}",
            f"{r.requests_per_second:,.0f}",
            f"{r.requests_per_second / floor:.2f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
        ]
        for label, r in http
    ]
    by_label = {label: r.requests_per_second for label, r in http}
    names = [label for label, _ in _CASES]

    def ratio(rates: dict[str, float], walled: int, plain: int) -> str:
        return f"{rates[names[walled]] / rates[names[plain]]:.2f}"

    return "\n".join(
        [
            "The reader belongs to one of two organizations of 200 campaigns each; every list",
            "returns its 20-row first page and the count (200). Authentication is served from",
            "the token cache. The statements column counts every round trip to the database,",
            "`BEGIN` and `COMMIT` included. Under `ATOMIC_REQUESTS` (e) the wall joins the",
            "request's transaction: its one `set_config()` statement is all it adds to (d).",
            "In autocommit (c) it opens a transaction of its own, so `BEGIN` and `COMMIT` come",
            "with the statement.",
            "",
            common.table(
                [
                    "case",
                    "round trips/request",
                    "in process: requests/s",
                    "ratio to (a)",
                    "HTTP: requests/s",
                    "ratio to (a)",
                    "HTTP p50 ms",
                    "HTTP p99 ms",
                ],
                rows,
            ),
            "",
            "Under the wall against without it, in process: "
            f"**{ratio(local, 2, 1)}** in autocommit ((c) / (b)), "
            f"**{ratio(local, 4, 3)}** under `ATOMIC_REQUESTS` ((e) / (d)); over HTTP: "
            f"**{ratio(by_label, 2, 1)}** and **{ratio(by_label, 4, 3)}**.",
            "",
            "In process: the Django test client, one thread, cases interleaved in batches of",
            "10, best batch. Over HTTP: gunicorn with 2 sync workers, wrk with 8 connections",
            "on loopback, cases interleaved in rounds, best round. On a 2-core machine shared",
            "with other work the HTTP ratios move by 0.2 or more between runs; rerun before",
            "relying on a single figure.",
        ]
    )
