"""Connection pooling: the health endpoint under gunicorn, per engine, direct and pooled.

Each configuration runs the example project under gunicorn (2 processes x 4 threads)
with the pooling choice set through ``SUPAHYBRID_DB_POOL``, loaded by wrk on loopback,
either straight against PostgreSQL or through a PgBouncer in transaction mode
(``SUPAHYBRID_DB_MODE=transaction``). While wrk runs, a sampler counts the server's
backends on the benchmark database every 20 ms: the peak is what the configuration
costs in ``max_connections``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks import common

TITLE = "Connection pooling: engines, direct and through PgBouncer"

WORKERS = 2
THREADS = 4
CONNECTIONS = 16
POOL_SIZE = 2
BOUNCER_POOL_SIZE = 4
NAME = "pooling"
IMAGE = "pooling.png"

ENGINES = {
    "none": "no pooling (`CONN_MAX_AGE = 0`)",
    "persistent": "persistent (`CONN_MAX_AGE = 60`)",
    "dj_db_conn_pool": f"dj_db_conn_pool (size {POOL_SIZE})",
    "django": f"Django native pool (max {POOL_SIZE})",
}


def _database(suffix: str) -> str:
    """``DATABASE_URL`` with a database of its own, created if missing.

    The direct and the PgBouncer runs get one each, so PgBouncer's idle server
    connections are not counted against the direct runs, and concurrent runs elsewhere
    on the same server are not counted at all.
    """
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"{parts.path.lstrip('/') or 'postgres'}_{suffix}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def _peak_backends(admin_url: str, dbname: str) -> Iterator[list[int]]:
    """Sample the backends connected to ``dbname``; the list holds the peak afterwards."""
    import psycopg

    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            while not stop.is_set():
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND backend_type = 'client backend'",
                    [dbname],
                ).fetchone() or (0,)
                peak[0] = max(peak[0], int(count))
                time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(timeout=5)


def plot(data: dict[str, Any]) -> None:
    """Requests/s and peak server connections per pooling choice, direct and via PgBouncer."""
    plt = common.pyplot()
    engines = [label.replace("`", "") for label in data["engines"]]
    paths = {
        "direct": "straight to PostgreSQL",
        "PgBouncer": "through PgBouncer (transaction mode)",
    }
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(common.FIGURE_WIDTH, 4.4), sharey=True, layout="constrained"
    )
    height = 0.38
    for offset, (path, label) in zip((-height / 2, height / 2), paths.items(), strict=True):
        values = data["paths"][path]
        ticks = [i + offset for i in range(len(engines))]
        bars = left.barh(ticks, values["requests_per_second"], height, label=label)
        left.bar_label(bars, fmt="%.0f", padding=2, fontsize=8)
        bars = right.barh(ticks, values["peak_connections"], height, label=label)
        right.bar_label(bars, fmt="%d", padding=2, fontsize=8)
    left.set_yticks(range(len(engines)), [e.replace(" (", "\n(") for e in engines])
    left.invert_yaxis()
    left.set_xlabel("requests per second\n(higher is better)")
    right.set_xlabel("peak server connections\n(lower is better)")
    for axis in (left, right):
        axis.grid(axis="x", alpha=0.3)
        axis.margins(x=0.15)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    common.save_figure(fig, IMAGE)


def run(quick: bool) -> str:
    from scripts import devservices

    seconds = 2 if quick else 4
    direct_url = _database("pooling")
    parts = urlsplit(direct_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    bouncer_db = _database("pooling_bouncer")
    rows: list[tuple[str, str, float, float, int]] = []
    floor = 0.0
    with devservices.pgbouncer(bouncer_db, pool_size=BOUNCER_POOL_SIZE) as bouncer_port:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{bouncer_port}" if userinfo else f"127.0.0.1:{bouncer_port}"
        paths = {
            "direct": (direct_url, ""),
            "PgBouncer": (urlunsplit(urlsplit(bouncer_db)._replace(netloc=netloc)), "transaction"),
        }
        for engine in ENGINES:
            for path, (db_url, mode) in paths.items():
                env = {
                    "DATABASE_URL": db_url,
                    "SUPAHYBRID_DB_POOL": engine,
                    "SUPAHYBRID_DB_POOL_SIZE": str(POOL_SIZE),
                    "SUPAHYBRID_DB_MODE": mode,
                }
                dbname = urlsplit(db_url).path.lstrip("/")
                with common.gunicorn(workers=WORKERS, threads=THREADS, env=env) as base:
                    if not floor:
                        floor = common.wrk(
                            base + "/bench/allowany/", seconds=seconds, connections=CONNECTIONS
                        ).requests_per_second
                    with _peak_backends(admin_url, dbname) as peak:
                        result = common.wrk(
                            base + "/api/health/", seconds=seconds, connections=CONNECTIONS
                        )
                if result.errors:
                    raise RuntimeError(f"{engine} / {path}: {result.errors} failed requests")
                rows.append((engine, path, result.requests_per_second, result.p95_ms, peak[0]))
    data = {
        "engines": list(ENGINES.values()),
        "paths": {
            path: {
                "requests_per_second": [r[2] for r in rows if r[1] == path],
                "peak_connections": [r[4] for r in rows if r[1] == path],
            }
            for path in ("direct", "PgBouncer")
        },
    }
    common.save_data(NAME, data)
    plot(data)
    table = common.table(
        ["pooling", "path", "requests/s", "ratio to floor", "p95 ms", "peak server connections"],
        [
            [ENGINES[e], p, f"{rps:,.0f}", f"{rps / floor:.2f}", f"{p95:.1f}", peak]
            for e, p, rps, p95, peak in rows
        ],
    )
    return "\n".join(
        [
            f"`GET /api/health/` (one `SELECT 1`, three Redis commands) under gunicorn with "
            f"{WORKERS} processes x {THREADS} threads, wrk with {CONNECTIONS} connections for "
            f"{seconds} s per row, on loopback. Pools hold at most {POOL_SIZE} connections per "
            f"process; PgBouncer (transaction mode) at most {BOUNCER_POOL_SIZE} server "
            "connections. The floor is the bare `AllowAny` view under the same server "
            f"({floor:,.0f} requests/s); peak server connections were sampled from "
            "`pg_stat_activity` every 20 ms during the run.",
            "",
            table,
            "",
            "Wrk, gunicorn, PostgreSQL and PgBouncer share two cores here, so throughput and "
            "above all p95 move from run to run; what repeats is the order of magnitude: no "
            "pooling is several times slower than any other choice straight against the "
            "server, and the peak server connections follow the configuration (one per "
            "thread when persistent, the pool size with a pool, PgBouncer's pool size "
            "behind it).",
            "",
            common.figure(
                IMAGE,
                "Requests per second and peak server connections per pooling choice",
                common.caption(
                    NAME,
                    f"`GET /api/health/` under gunicorn ({WORKERS} processes x {THREADS} "
                    f"threads) loaded by wrk ({CONNECTIONS} connections, loopback) for each "
                    "pooling choice, straight to PostgreSQL and through PgBouncer in "
                    "transaction mode: requests per second (left) and the most server "
                    "connections seen in `pg_stat_activity` during the run (right).",
                ),
            ),
        ]
    )
