"""The floor: a bare DRF ``AllowAny`` view and the example's health endpoint."""

from __future__ import annotations

from benchmarks import common

TITLE = "Floor: bare AllowAny view and the health endpoint"

PATHS = {
    "bare DRF `AllowAny` view": "/bench/allowany/",
    "`GET /api/health/` (1 SQL query + 3 Redis commands)": "/api/health/",
}


def run(quick: bool) -> str:
    common.django_setup()
    from django.test import Client

    client = Client()
    seconds = 1.0 if quick else 3.0
    in_process = {label: common.rate(lambda p=p: client.get(p), seconds=seconds)
                  for label, p in PATHS.items()}  # fmt: skip
    floor = in_process[next(iter(PATHS))]
    rows: list[list[object]] = [
        [label, f"{value:,.0f}", f"{value / floor:.2f}"] for label, value in in_process.items()
    ]
    body = [
        "### In process (Django test client, one thread)",
        "",
        common.table(["endpoint", "requests/s", "ratio to floor"], rows),
        "",
    ]
    http_rows: list[list[object]] = []
    with common.gunicorn(workers=2) as base:
        http_floor = None
        for label, path in PATHS.items():
            result = common.wrk(base + path, seconds=2 if quick else 8, connections=8)
            http_floor = http_floor or result.requests_per_second
            http_rows.append([
                label,
                f"{result.requests_per_second:,.0f}",
                f"{result.requests_per_second / http_floor:.2f}",
                f"{result.p50_ms:.2f}",
                f"{result.p95_ms:.2f}",
                f"{result.p99_ms:.2f}",
                result.errors,
            ])  # fmt: skip
    body += [
        "### Over HTTP (gunicorn, 2 sync workers, wrk with 8 connections on loopback)",
        "",
        common.table(
            ["endpoint", "requests/s", "ratio to floor", "p50 ms", "p95 ms", "p99 ms", "errors"],
            http_rows,
        ),
    ]
    return "\n".join(body)
