"""Locust at 200 users against the example under gunicorn: the API mix against the health
endpoint at the same pace, measured in the same run."""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import common

TITLE = "Load test (locust, 200 users)"

#: gunicorn's processes and threads per process, as ``tests/load/harness.py`` starts it.
WORKERS = 2
THREADS = 4
#: The locustfile's users: the floor (the health endpoint alone) and the API mix.
FLOOR, MIX = "HealthUser", "ApiUser"
#: Which endpoint, as locust names it, a line of the server's request log is.
_ENDPOINTS = [
    ("GET", re.compile(r"/api/health/"), "health"),
    ("GET", re.compile(r"/api/auth/profile/"), "profile"),
    ("GET", re.compile(r"/api/campaigns/"), "campaign list"),
    ("POST", re.compile(r"/api/campaigns/"), "campaign create"),
    ("POST", re.compile(r"/api/campaigns/[^/]+/vote/"), "campaign vote"),
    ("GET", re.compile(r"/api/notifications/"), "notifications"),
]
#: The order of the per-endpoint table: the floor, then the mix by share of its calls.
_ORDER = [
    "profile", "campaign list", "notifications", "campaign vote", "campaign create",
    "first call (sign-in)",
]  # fmt: skip
_LOG_LINE = re.compile(r"method=(\S+) path=(\S+) status=\d+ duration_ms=([\d.]+) queries=(\d+)")


def _server_times(logs: list[str], first_calls: int = 0) -> dict[str, list[tuple[float, int]]]:
    """Each endpoint's (duration in ms, SQL queries) from ``RequestMetricsMiddleware``'s log.

    The first ``first_calls`` campaign lists of each log are the users' first calls (a
    token new to the server, all sent at the start), which locust reports apart; they
    are left out here too.
    """
    found: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for log in logs:
        skip = first_calls
        for method, path, duration, queries in _LOG_LINE.findall(log):
            name = next(
                (name for want, pattern, name in _ENDPOINTS
                 if method == want and pattern.fullmatch(path)),
                None,
            )  # fmt: skip
            if name == "campaign list" and skip:
                skip -= 1
            elif name is not None:
                found[name].append((float(duration), int(queries)))
    return found


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _cpu_ms(report: Any) -> float:
    """Worker CPU per completed request, in ms."""
    return float(report.worker_cpu_seconds) * 1000 / max(report.total.requests, 1)


def _rounds(quick: bool) -> list[tuple[str, ...]]:
    """The phases of each round: the order is reversed in the second, so a machine that
    gets busier or quieter during the run does not favour one side."""
    return [(FLOOR, MIX)] if quick else [(FLOOR, MIX), (MIX, FLOOR)]


def run(quick: bool) -> str:
    harness = common.example_load_module("harness")
    example_env, run_load = harness.example_env, harness.run_load
    env = example_env(os.environ["DATABASE_URL"])
    os.environ["SUPABASE_JWT_SECRET"] = env["SUPABASE_JWT_SECRET"]
    common.django_setup()
    from django.core.management import call_command

    users, seconds = (50, 10) if quick else (200, 30)
    load_before = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    phases: dict[str, list[Any]] = {FLOOR: [], MIX: []}
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo.json"
        call_command(
            "seed_demo", "--reset", "--organizations", "4", "--users-per-org", "10",
            "--campaigns", "50", "--json", str(demo), stdout=io.StringIO(),
        )  # fmt: skip
        # Statistics, as autovacuum gathers them within a minute of a bulk load: without
        # them the planner guesses one row per table for the first minute of the run.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        seeded = sum(len(o["users"]) for o in json.loads(demo.read_text())["organizations"])
        for number, order in enumerate(_rounds(quick)):
            for user_class in order:
                workdir = Path(tmp) / f"{number}-{user_class}"
                workdir.mkdir()
                report = run_load(
                    env, demo, workdir, users=users, seconds=seconds, workers=WORKERS,
                    threads=THREADS, user_classes=(user_class,),
                )  # fmt: skip
                phases[user_class].append(report)
    load_after = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return _report(phases, users, seconds, seeded, load_before, load_after)


def _report(
    phases: dict[str, list[Any]],
    users: int,
    seconds: int,
    seeded: int,
    load_before: str,
    load_after: str,
) -> str:
    floors, mixes = phases[FLOOR], phases[MIX]
    rounds = len(mixes)
    by_name = [{row.name: row for row in mix.endpoints} for mix in mixes]

    def p95_ratio(report: dict[str, Any]) -> float:
        return float(report["campaign list"].p95_ms / report["profile"].p95_ms)

    summary = [
        [
            number + 1,
            f"{floor.total.requests_per_second:,.1f}",
            f"{mix.total.requests_per_second:,.1f}",
            f"**{mix.total.requests_per_second / floor.total.requests_per_second:.2f}**",
            f"{_cpu_ms(floor):.1f}",
            f"{_cpu_ms(mix):.1f}",
            f"{mix.total.p95_ms:,.0f}",
            f"**{p95_ratio(by_name[number]):.2f}**",
        ]
        for number, (floor, mix) in enumerate(zip(floors, mixes, strict=True))
    ]
    server = _server_times([mix.server_log for mix in mixes], first_calls=users)
    server_floor = _server_times([floor.server_log for floor in floors])
    rows: list[list[object]] = []
    seen = {name for report in by_name for name in report}
    names = ["health", *(n for n in _ORDER if n in seen), *sorted(seen - set(_ORDER))]
    for name in names:
        source = floors if name == "health" else mixes
        stats = [
            next(row for row in report.endpoints if row.name == name)
            for report in source
            if any(row.name == name for row in report.endpoints)
        ]
        timed = (server_floor if name == "health" else server).get(name, [])
        durations = [duration for duration, _ in timed]
        rows.append([
            f"{name} (floor run)" if name == "health" else name,
            sum(row.requests for row in stats),
            sum(row.failures for row in stats),
            f"{statistics.mean(row.requests_per_second for row in stats):,.1f}",
            f"{statistics.mean(row.p50_ms for row in stats):,.0f}",
            f"{statistics.mean(row.p95_ms for row in stats):,.0f}",
            f"{statistics.median(durations):.1f}" if durations else "",
            f"{_p95(durations):.1f}" if len(durations) > 1 else "",
            f"{statistics.median(queries for _, queries in timed):.0f}" if timed else "",
        ])  # fmt: skip
    served = {name: [d for d, _ in server[name]] for name in ("campaign list", "profile")}
    server_ratio = _p95(served["campaign list"]) / _p95(served["profile"])
    failures = sum(report.total.failures for report in [*floors, *mixes])
    failed = [line for report in [*floors, *mixes] for line in report.failures]
    too_many = sum(
        report.server_log.lower().count("too many connections") for report in [*floors, *mixes]
    )
    ratio = statistics.mean(
        mix.total.requests_per_second / floor.total.requests_per_second
        for floor, mix in zip(floors, mixes, strict=True)
    )
    offered = users / 1.0  # one call a second per user, at the mean pause of 1 s
    return "\n".join([
        f"{users} locust users (spawned at 100/s), each signed in as one of {seeded} seeded "
        "demo users (the database vacuumed and analyzed after seeding, as autovacuum would "
        "soon have done) and pausing 0.5 to 1.5 s between calls, against gunicorn "
        f"({WORKERS} workers x {THREADS} threads) on loopback, with PostgreSQL and Redis. "
        f"Each round runs the floor (`{FLOOR}`: the same users calling `GET /api/health/`, "
        f"one SQL query and three cache calls) and the API mix (`{MIX}`), "
        f"{seconds} s each on a freshly started server"
        + (", in reverse order in the second round" if rounds > 1 else "")
        + ". Locust, PostgreSQL and Redis run on the same 2-core machine, which is shared "
        f"with other work: load average {load_before} before the run, {load_after} after.",
        "",
        f"Failed requests: **{failures}**"
        + (f" ({'; '.join(failed)})" if failed else "")
        + f". `too many connections` in the server logs: **{too_many}**.",
        "",
        common.table(
            ["round", "health requests/s", "mix requests/s", "mix / health",
             "health CPU ms/request", "mix CPU ms/request", "mix p95 ms",
             "list p95 / profile p95"],
            summary,
        ),
        "",
        f"The mix completed **{ratio:.2f}** of the requests the same users got from the "
        f"health endpoint (mean of the rounds). At their pace {users} users ask for at most "
        f"about {offered:,.0f} requests/s; a ratio well below 1 means the server could not "
        "keep up with the mix, and its requests waited in line for one of the "
        f"{WORKERS * THREADS} worker threads. CPU is the gunicorn workers' user and system "
        "time (from `/proc`) while locust ran, divided by the requests completed.",
        "",
        "Per endpoint: requests and failures summed over the rounds, requests/s and the "
        "client's p50 and p95 (locust, latency including the wait in line) the mean of the "
        "rounds; the server's p50 and p95 are the time inside Django "
        "(`RequestMetricsMiddleware`'s `duration_ms`, all rounds pooled), with the SQL "
        "queries per request. Each user's first call, a campaign list with a token new to "
        "the server, all of them sent in the first second, is reported apart; inside the "
        "server it is left out of the campaign list's row.",
        "",
        common.table(
            ["endpoint", "requests", "failed", "requests/s", "p50 ms", "p95 ms",
             "server p50 ms", "server p95 ms", "queries"],
            rows,
        ),
        "",
        f"List p95 / profile p95 as the client sees it: "
        f"**{statistics.mean(p95_ratio(report) for report in by_name):.2f}** (target at most "
        f"2); inside the server: **{server_ratio:.2f}**.",
    ])  # fmt: skip
