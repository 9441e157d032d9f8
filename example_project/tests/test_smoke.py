"""Smoke test: the example project, as a new user runs it, in a real server process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _example_env() -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    host = db["HOST"]
    query = f"?host={host}" if host.startswith("/") else ""
    netloc = "" if query else f"{host}:{db['PORT'] or 5432}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgresql://{db['USER']}@{netloc}/{db['NAME']}{query}",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="smoke-test-secret-key-that-is-long-enough-for-django-checks",
        ALLOWED_HOSTS="127.0.0.1",
    )
    return env


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The example under gunicorn (2 workers) on a free loopback port."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return server, port


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_example_runs_under_gunicorn() -> None:
    env = _example_env()
    manage = [sys.executable, "manage.py"]
    check = subprocess.run(
        [*manage, "check", "--fail-level", "WARNING"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    migrate = subprocess.run(
        [*manage, "migrate", "--no-input"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    server, port = start_gunicorn(env)
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=5) as r:
                    body = json.load(r)
                    status = r.status
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the example never answered on /api/health/"
        assert status == 200
        assert body["status"] == "ok"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert b"Traceback" not in output, output.decode(errors="replace")
