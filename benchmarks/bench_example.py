"""The example API under gunicorn + PostgreSQL + Redis, against its latency targets."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from benchmarks import common

TITLE = "Example API"

#: Targets for the 95th percentile, in milliseconds: what a browser calling the API on
#: each page view can wait without the page feeling slow.
TARGETS = {"profile": 50.0, "campaign list": 200.0, "campaign create": 200.0}
#: One connection per gunicorn worker: latency is the service time, not time in a queue.
CONNECTIONS = 2
JWT_SECRET = "bench-jwt-secret-with-at-least-32-characters-long"  # noqa: S105 (loopback only)


def _demo_admin() -> dict[str, str]:
    """Seed the demo data and return an organization admin from its JSON."""
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.json"
        call_command(
            "seed_demo", "--reset", "--campaigns", "50", "--json", str(path), stdout=io.StringIO()
        )
        demo = json.loads(path.read_text())
    return next(u for u in demo["organizations"][0]["users"] if u["role"] == "admin")


def _first_campaign_id(base: str, headers: dict[str, str]) -> str:
    import urllib.request

    request = urllib.request.Request(f"{base}/api/campaigns/?page_size=1", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["results"][0]["id"])


def run(quick: bool) -> str:
    os.environ["SUPABASE_JWT_SECRET"] = JWT_SECRET  # the server and the tokens agree
    common.django_setup()
    mint = common.example_load_module("tokens").mint

    admin = _demo_admin()
    auth = {"Authorization": f"Bearer {mint(admin)}", "Content-Type": "application/json"}
    seconds = 2 if quick else 6
    rows: list[list[object]] = []
    with common.gunicorn(workers=2) as base:
        vote = f"/api/campaigns/{_first_campaign_id(base, auth)}/vote/"
        cases = [
            ("`GET /api/health/` (floor)", "/api/health/", None, None, {}),
            ("profile", "/api/auth/profile/", None, None, auth),
            ("campaign list", "/api/campaigns/", None, None, auth),
            ("campaign create", "/api/campaigns/", "POST", '{"name": "Benchmark"}', auth),
            ("campaign vote", vote, "POST", "", auth),
        ]
        floor = None
        for label, path, method, body, headers in cases:
            # Warm up first: the workers' first requests open connections and import code.
            common.wrk(base + path, seconds=1, connections=CONNECTIONS, headers=headers,
                       method=method, body=body)  # fmt: skip
            result = common.wrk(
                base + path,
                seconds=seconds,
                connections=CONNECTIONS,
                headers=headers,
                method=method,
                body=body,
            )
            floor = floor or result.requests_per_second
            target = TARGETS.get(label)
            verdict = (
                ""
                if target is None
                else (f"< {target:.0f} ms: {'met' if result.p95_ms < target else 'missed'}")
            )
            rows.append([
                label,
                f"{result.requests_per_second:,.0f}",
                f"{result.requests_per_second / floor:.2f}",
                f"{result.p50_ms:.1f}",
                f"{result.p95_ms:.1f}",
                f"{result.p99_ms:.1f}",
                verdict,
                result.errors,
            ])  # fmt: skip
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return "\n".join([
        f"gunicorn with 2 sync workers, PostgreSQL and Redis on loopback; wrk with "
        f"{CONNECTIONS} connections (one per worker, so latency is service time, not "
        f"queueing) for {seconds} s per endpoint, signed in as an "
        "organization admin with a Supabase-style HS256 access token; the vote hits one "
        "campaign (a hot row). The targets bound the 95th percentile: what a browser calling "
        "the API on each page view can wait without the page feeling slow. "
        "Each run follows a 1 s warm-up. "
        "Errors count non-2xx answers and socket errors. The machine is shared: its load "
        f"average (1, 5, 15 min) was {load} at the end of the run.",
        "",
        common.table(
            ["endpoint", "requests/s", "ratio to health", "p50 ms", "p95 ms", "p99 ms",
             "target (p95)", "errors"],
            rows,
        ),
    ])  # fmt: skip
