"""Locust at 200 concurrent users against the example under gunicorn, per endpoint."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from benchmarks import common

TITLE = "Load test (locust, 200 users)"

#: gunicorn's processes and threads per process, as ``tests/load/harness.py`` starts it.
WORKERS = 2
THREADS = 4


def run(quick: bool) -> str:
    harness = common.example_load_module("harness")
    example_env, run_load = harness.example_env, harness.run_load
    env = example_env(os.environ["DATABASE_URL"])
    os.environ["SUPABASE_JWT_SECRET"] = env["SUPABASE_JWT_SECRET"]
    common.django_setup()
    from django.core.management import call_command

    users, seconds = (50, 10) if quick else (200, 30)
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo.json"
        call_command(
            "seed_demo", "--reset", "--organizations", "4", "--users-per-org", "10",
            "--campaigns", "50", "--json", str(demo), stdout=io.StringIO(),
        )  # fmt: skip
        seeded = sum(len(o["users"]) for o in json.loads(demo.read_text())["organizations"])
        report = run_load(
            env, demo, Path(tmp), users=users, seconds=seconds, workers=WORKERS, threads=THREADS
        )
    rows: list[list[object]] = [
        [row.name, row.requests, row.failures, f"{row.requests_per_second:,.1f}",
         f"{row.p50_ms:.0f}", f"{row.p95_ms:.0f}"]
        for row in [*report.endpoints, report.total]
    ]  # fmt: skip
    too_many = report.server_log.lower().count("too many connections")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    served = report.total.requests_per_second
    return "\n".join([
        f"{users} locust users (spawned at 100/s), each signed in as one of {seeded} seeded "
        f"demo users and pausing 0.5 to 1.5 s between calls, for {seconds} s against "
        f"gunicorn ({WORKERS} workers x {THREADS} threads) on loopback, with PostgreSQL and "
        "Redis; locust runs on the same 2-core machine, shared with other work (load "
        f"average {load} at the end).",
        "",
        f"Failed requests: **{report.total.failures}**"
        + (f" ({'; '.join(report.failures)})" if report.failures else "")
        + f". `too many connections` in the server log: **{too_many}**.",
        "",
        f"Answered at once, the {users} users would send about {users} requests/s (one "
        f"call a second each); the server completed {served:,.1f}. So requests waited in "
        f"line for one of the {WORKERS * THREADS} worker threads, and the "
        "latencies below are mostly that wait, not the time to serve a request (the "
        "example API table above measures that). On average a request took about "
        f"{users / served - 1:.1f} s: {users} users / {served:,.1f} requests/s, less the "
        "1 s pause (Little's law). Latencies in ms, as locust measures them.",
        "",
        common.table(
            ["endpoint", "requests", "failed", "requests/s", "p50 ms", "p95 ms"], rows
        ),
    ])  # fmt: skip
