"""Run the locustfile headless against the example under gunicorn; read back the stats.

Used by the load test (``tests/test_load.py``); the repository's load benchmark uses it too.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

EXAMPLE = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass
class EndpointStats:
    name: str
    requests: int
    failures: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float


@dataclass
class LoadReport:
    users: int
    seconds: int
    endpoints: list[EndpointStats]
    total: EndpointStats
    failures: list[str] = field(default_factory=list)
    server_log: str = ""
    #: CPU seconds (user + system) the gunicorn workers spent while locust ran; ``None``
    #: where ``/proc`` cannot tell.
    worker_cpu_seconds: float | None = None


def _stats(row: dict[str, str]) -> EndpointStats:
    return EndpointStats(
        name=row["Name"],
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        requests_per_second=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
    )


def _locust_command(
    base: str,
    prefix: Path,
    users: int,
    seconds: int,
    spawn_rate: int,
    user_classes: Sequence[str] = ("ApiUser",),
) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s",
        "--host", base, "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--stop-timeout", "10", *user_classes,
    ]  # fmt: skip


def children_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by the processes whose parent is ``pid``.

    Read from Linux's ``/proc``; ``None`` elsewhere.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue  # gone since the listing
        # Fields after the command name: state, ppid, ..., utime (12th), stime (13th).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], *, workers: int, threads: int, log: IO[bytes]
) -> Iterator[tuple[str, int]]:
    """The example under gunicorn on a free loopback port; yield its base URL and pid."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
        "-w", str(workers), "--threads", str(threads),
        "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=EXAMPLE, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}")
            try:
                urllib.request.urlopen(f"{base}/api/health/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_load(
    env: dict[str, str],
    demo_json: Path,
    workdir: Path,
    *,
    users: int = 200,
    seconds: int = 30,
    spawn_rate: int = 100,
    workers: int = 2,
    threads: int = 4,
    user_classes: Sequence[str] = ("ApiUser",),
) -> LoadReport:
    """Serve the example with ``env``; run ``users`` locust users for ``seconds``.

    ``user_classes`` names the locustfile's users to run: ``ApiUser`` (the API mix) or
    ``HealthUser`` (the health endpoint alone, at the same pace).
    """
    log_path = workdir / "gunicorn.log"
    prefix = workdir / "locust"
    with (
        log_path.open("wb") as log,
        gunicorn(
            # Idle keep-alive connections outlive a user's longest pause (1.5 s), so the
            # server never closes one just as the client sends its next request on it.
            {**env, "GUNICORN_CMD_ARGS": "--keep-alive 10"},
            workers=workers,
            threads=threads,
            log=log,
        ) as (base, pid),
    ):
        cpu_before = children_cpu_seconds(pid)
        done = subprocess.run(
            _locust_command(base, prefix, users, seconds, spawn_rate, user_classes),
            env={**env, "SUPAHYBRID_DEMO_JSON": str(demo_json)},
            # The locustfile imports ``tests.load``: the example's, not another ``tests``
            # that the caller's working directory would put first on the path.
            cwd=EXAMPLE,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        cpu_after = children_cpu_seconds(pid)
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no statistics ({done.returncode}): {done.stderr[-2000:]}")
    with Path(f"{prefix}_stats.csv").open() as file:
        rows = [_stats(row) for row in csv.DictReader(file)]
    with Path(f"{prefix}_failures.csv").open() as file:
        failures = [
            f"{row['Method']} {row['Name']}: {row['Error']} x{row['Occurrences']}"
            for row in csv.DictReader(file)
        ]
    if done.returncode not in (0, 1):  # 1: some requests failed, reported above
        raise RuntimeError(f"locust exited with {done.returncode}: {done.stderr[-2000:]}")
    return LoadReport(
        users=users,
        seconds=seconds,
        endpoints=[row for row in rows if row.name != "Aggregated"],
        total=next(row for row in rows if row.name == "Aggregated"),
        failures=failures,
        server_log=log_path.read_text(errors="replace"),
        worker_cpu_seconds=(
            None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        ),
    )


def example_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of the example in production mode on ``database_url``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "load-test-secret-key-that-is-long-enough-for-django-checks",
        "SUPABASE_JWT_SECRET": "load-test-jwt-secret-with-at-least-32-characters",
        "ALLOWED_HOSTS": "127.0.0.1",
        # locust imports tests.load.tokens: this project's tests, whatever the directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE), os.environ.get("PYTHONPATH")])),
        **extra,
    }
