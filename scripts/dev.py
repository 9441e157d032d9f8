#!/usr/bin/env python3
"""Set up a development environment and run the example project or the test suite.

    python3 scripts/dev.py serve [--port 8000]   # migrate, seed demo data, serve the API,
                                                 # print a curl line with a demo token
    python3 scripts/dev.py test [pytest args]    # run the whole test suite
    python3 scripts/dev.py bench [names]         # run benchmarks, write docs/benchmarks/

Needs nothing but a supported Python (3.11+): it creates ``.venv/`` in the repository,
installs the library and its development dependencies there (again only when
``pyproject.toml`` or this script changes), and finds or starts PostgreSQL and Redis (see
``example_project/devservices.py``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
EXAMPLE = ROOT / "example_project"


def _run(*args: str | Path, **kwargs: object) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)  # type: ignore[call-overload]


def ensure_venv() -> None:
    """Create ``.venv`` and install the project into it, unless already up to date."""
    stamp = VENV / ".supahybrid-installed"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + Path(__file__).read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV.relative_to(ROOT)}/ ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing django-supahybrid and its development dependencies ...", flush=True)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1")
    groups = ("test", "example", "lint", "type", "docs", "packaging", "dev", "bench", "load")
    group_args = [arg for group in groups for arg in ("--group", group)]
    package = ".[pool,metrics]"
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--editable", package, *group_args, cwd=ROOT)
    stamp.write_text(digest)


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _ensure_pgbouncer() -> None:
    """The pooler tests run a real PgBouncer: install Debian's package where we can."""
    if shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists():
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing PgBouncer (Debian package) for the pooler tests ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run("apt-get", "update", "-qq", env=env)
        _run("apt-get", "install", "-y", "-qq", "pgbouncer", env=env)
    else:
        print(
            "PgBouncer is not installed: the transaction-pooler tests will fail until it is "
            "(apt-get install pgbouncer, or your system's package).",
            flush=True,
        )


def test(args: list[str]) -> int:
    ensure_venv()
    _ensure_pgbouncer()
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


def serve(args: list[str]) -> int:
    ensure_venv()
    if not _in_venv():
        # Re-run inside the virtual environment, where the servers' packages live.
        return subprocess.call([str(PYTHON), __file__, "_serve", *args], cwd=ROOT)
    return _serve(args)


def _serve(args: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dev.py serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    opts = parser.parse_args(args)
    sys.path.insert(0, str(EXAMPLE))
    import devservices

    # Start (or find) the servers once here, so every process below shares them.
    devservices.postgres_url(probe=False, data_dir=EXAMPLE / ".data" / "postgres")
    devservices.redis_url(probe=False)
    manage = [str(PYTHON), "manage.py"]
    try:
        _run(*manage, "migrate", "--no-input", cwd=EXAMPLE)
        commands = subprocess.run(
            [*manage, "help", "--commands"],
            cwd=EXAMPLE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if "seed_demo" in commands:
            _run(*manage, "seed_demo", cwd=EXAMPLE)
        base = f"http://{opts.host}:{opts.port}/api"
        print(f"\nThe example API listens on {base}/", flush=True)
        print(f"  curl {base}/health/", flush=True)
        token = _demo_token(manage)
        if token:
            print(f"As {DEMO_ADMIN} (an organization admin), for the next hour:", flush=True)
            print(f'  curl -H "Authorization: Bearer {token}" {base}/auth/profile/', flush=True)
        print(flush=True)
        return subprocess.call(
            [*manage, "runserver", "--noreload", f"{opts.host}:{opts.port}"], cwd=EXAMPLE
        )
    except KeyboardInterrupt:
        return 0
    finally:
        devservices.stop_all()


DEMO_ADMIN = "org1-user1@demo.example.com"


def _demo_token(manage: list[str]) -> str | None:
    """A development access token for the first demo admin (debug mode only), or None."""
    minted = subprocess.run(
        [*manage, "supahybrid_token", "--email", DEMO_ADMIN],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
    )
    if minted.returncode != 0:
        print(f"(No development token: {minted.stderr.strip()})", flush=True)
        return None
    return minted.stdout.strip()


def bench(args: list[str]) -> int:
    ensure_venv()
    return subprocess.call([str(PYTHON), str(ROOT / "benchmarks" / "run.py"), *args], cwd=ROOT)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test", "bench", "_serve"):
        print(__doc__)
        return 2
    command, args = sys.argv[1], sys.argv[2:]
    if command == "test":
        return test(args)
    if command == "serve":
        return serve(args)
    if command == "bench":
        return bench(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
