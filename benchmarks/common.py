"""Shared plumbing for the benchmarks: servers, Django setup, gunicorn and wrk.

Every figure a benchmark reports is a ratio against a floor measured in the same run, on
the same machine; absolute numbers are shown for context only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
REPORTS = ROOT / "docs" / "benchmarks"
BENCH_DB = "supahybrid_bench"

for _path in (str(ROOT), str(EXAMPLE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def ensure_services() -> None:
    """Find or start PostgreSQL and Redis and export ``DATABASE_URL`` / ``REDIS_URL``.

    A server on the default local port gets a dedicated ``supahybrid_bench`` database; the
    database a ``DATABASE_URL`` names is created when it does not exist yet.
    """
    import psycopg
    from psycopg import sql

    from scripts import devservices

    url = devservices.postgres_url(probe=True, dbname=BENCH_DB)
    params = psycopg.conninfo.conninfo_to_dict(url)
    dbname = str(params.get("dbname") or "postgres")
    if dbname != "postgres":
        admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    devservices.redis_url(probe=True)


def example_load_module(name: str) -> ModuleType:
    """``example_project/tests/load/<name>.py``, the example's load test support, by path.

    The example's ``tests`` package cannot be imported beside the library's own ``tests``.
    """
    path = EXAMPLE / "tests" / "load" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_load_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def django_setup(settings_module: str = "benchmarks.settings") -> None:
    """Configure Django in this process with the benchmark settings and migrate."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(
    *,
    app: str = "config.wsgi",
    settings_module: str = "benchmarks.settings",
    workers: int = 2,
    threads: int = 1,
    env: dict[str, str] | None = None,
    log: IO[bytes] | None = None,
    cwd: Path | None = None,
) -> Iterator[str]:
    """Run gunicorn on a loopback port; yield its base URL; stop it afterwards.

    ``log``, when given, receives the server's output (its error log included). ``cwd``
    (default: the example project) comes first on the workers' import path: the
    repository's root for settings that install the library's test app, whose ``tests``
    package the example's own would hide.
    """
    port = free_port()
    # The caller's PYTHONPATH stays after ours: a checkout's src/ it names keeps winning
    # over an installed copy of the library.
    paths = [str(ROOT), str(EXAMPLE), *filter(None, [os.environ.get("PYTHONPATH")])]
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": os.pathsep.join(paths),
        **(env or {}),
    }
    cmd = [
        sys.executable, "-m", "gunicorn", app,
        "-b", f"127.0.0.1:{port}",
        "-w", str(workers),
        "--threads", str(threads),
        "--log-level", "warning", "--backlog", "2048",
    ]  # fmt: skip
    output = {"stdout": log, "stderr": subprocess.STDOUT} if log is not None else {}
    proc = subprocess.Popen(cmd, cwd=cwd or EXAMPLE, env=full_env, **output)  # type: ignore[call-overload]
    base = f"http://127.0.0.1:{port}"
    _masters[base] = proc.pid
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
        yield base
    finally:
        _masters.pop(base, None)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


_masters: dict[str, int] = {}


def worker_pids(base: str) -> list[int]:
    """The process ids of the workers of the gunicorn :func:`gunicorn` serves at ``base``."""
    master = _masters[base]
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes ``pids`` used so far, from ``/proc``."""
    ticks = 0
    for pid in pids:
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def resident_bytes(pid: int) -> int:
    """The resident set size of process ``pid``, from ``/proc``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages of the machine, as the reports quote them."""
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int


_WRK_LUA = ROOT / "benchmarks" / "wrk_report.lua"


def _ms(value: str) -> float:
    return float(value) / 1000.0


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 8,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    method: str | None = None,
    body: str | None = None,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> LoadResult:
    """Load ``url`` with wrk for ``seconds`` (bounded); return throughput and latency.

    ``method`` and ``body`` (for a POST) reach wrk's Lua script through the environment.
    ``script`` replaces that script (it must print the same summary: ``dofile`` the
    path in ``WRK_REPORT``), and ``env`` adds to the environment it sees.
    """
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the HTTP benchmarks: apt-get install wrk")
    cmd = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", "10s", "-s", str(script or _WRK_LUA),
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    full_env = {**os.environ, "WRK_REPORT": str(_WRK_LUA), **(env or {})}
    full_env.update({"WRK_METHOD": method} if method else {})
    full_env.update({"WRK_BODY": body} if body is not None else {})
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=seconds + 60, env=full_env
    )
    fields = dict(re.findall(r"^(\w+)=(\S+)$", out.stdout, flags=re.MULTILINE))
    return LoadResult(
        requests_per_second=float(fields["rps"]),
        p50_ms=_ms(fields["p50"]),
        p95_ms=_ms(fields["p95"]),
        p99_ms=_ms(fields["p99"]),
        requests=int(fields["requests"]),
        errors=int(fields["errors"]),
    )


def rate(call: Callable[[], object], *, seconds: float = 2.0, repeats: int = 3) -> float:
    """Calls per second of ``call`` in this process: the best of ``repeats`` timed runs."""
    call()  # warm up
    best = 0.0
    for _ in range(repeats):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / repeats
        while time.perf_counter() < deadline:
            call()
            count += 1
        best = max(best, count / (time.perf_counter() - start))
    return best


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """The interpreter and machine a run measured, as the reports and captions name them."""
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}"
    )


def rerun(name: str) -> str:
    """The command that reruns one benchmark."""
    return f"python3 scripts/dev.py bench {name}"


# --- plots ---------------------------------------------------------------------------
# A plot is drawn from a JSON document saved beside its report, so that
# ``python3 scripts/dev.py bench --replot`` redraws it without measuring again.

#: Width of every figure in inches, and its resolution: the docs show it at the text
#: width (about 720 px), where 10-point text then reads like the page's own text.
FIGURE_WIDTH = 7.2
DPI = 150


def data_path(name: str) -> Path:
    return REPORTS / f"{name}.json"


def save_data(name: str, data: dict[str, Any]) -> None:
    """Keep what the plot of benchmark ``name`` is drawn from, beside its report."""
    data_path(name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def load_data(name: str) -> dict[str, Any] | None:
    """The saved plot data of benchmark ``name``, or ``None`` when it has none."""
    path = data_path(name)
    return json.loads(path.read_text()) if path.exists() else None


def pyplot() -> Any:
    """matplotlib's pyplot, headless, with the text sizes every plot uses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })  # fmt: skip
    return plt


def save_figure(fig: Any, image: str) -> None:
    """Write ``fig`` to ``docs/benchmarks/<image>`` and free it."""
    import matplotlib.pyplot as plt

    fig.savefig(REPORTS / image, dpi=DPI)
    plt.close(fig)


def plain_log_ticks(axis: Any, values: list[float]) -> None:
    """Tick a log axis at ``values``, written as plain numbers (1,000 rather than 10^3)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_major_locator(FixedLocator(values))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def figure(image: str, alt: str, caption: str) -> str:
    """Markdown for a plot and its caption, as ``docs/benchmarks.md`` includes it."""
    return (
        "<figure markdown>\n"
        f"![{alt}](benchmarks/{image})\n\n"
        f'<figcaption markdown="span">{caption}</figcaption>\n'
        "</figure>"
    )


def caption(name: str, measured: str) -> str:
    """A plot caption: what was measured, on which machine, and how to measure it again."""
    return f"{measured} Measured on {machine()}; rerun with `{rerun(name)}`."
